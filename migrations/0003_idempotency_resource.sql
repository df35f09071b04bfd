-- The resource a keyed create made, so that a retry after a crash replays it.
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT;
