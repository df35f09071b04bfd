-- Resources, jobs and their attempts, idempotency keys, provider refresh state.

CREATE TABLE resources (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    provider     TEXT,
    region       TEXT,
    provider_id  TEXT,
    status       TEXT NOT NULL,
    origin       TEXT NOT NULL,
    price        TEXT,
    spec         TEXT NOT NULL DEFAULT '{}',
    details      TEXT NOT NULL DEFAULT '{}',
    job_id       TEXT,
    unseen       INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    observed_at  TEXT
);
CREATE INDEX resources_by_tenant ON resources (tenant, kind, id);
CREATE INDEX resources_by_kind ON resources (kind, id);
CREATE INDEX resources_by_provider ON resources (provider, kind, status);
CREATE UNIQUE INDEX resources_by_provider_id
    ON resources (provider, kind, provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    operation    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    resource_id  TEXT NOT NULL REFERENCES resources (id),
    status       TEXT NOT NULL,
    provider     TEXT,
    step         TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT '{}',
    error        TEXT,
    fence        INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  REAL,
    run_after    REAL NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_to_claim ON jobs (status, run_after);
CREATE INDEX jobs_by_tenant ON jobs (tenant, id);

CREATE TABLE job_attempts (
    job_id    TEXT NOT NULL REFERENCES jobs (id),
    seq       INTEGER NOT NULL,
    provider  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE idempotency_keys (
    tenant       TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER,
    response     TEXT,
    headers      TEXT,
    created_at   REAL NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE provider_refresh (
    provider      TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    ok_at         REAL,
    failed_at     REAL,
    error         TEXT,
    PRIMARY KEY (provider, tenant, kind)
);
