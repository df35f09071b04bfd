"""The records the store keeps: resources, jobs and job attempts."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from broker.store.db import Row


def new_id() -> str:
    """A 32-hex id that sorts by creation time."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def utc_now() -> str:
    """The current time as an RFC 3339 UTC timestamp."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp(epoch: float) -> str:
    """An epoch time as an RFC 3339 UTC timestamp."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass
class Resource:
    """A VM, volume or service, created here or discovered on a provider."""

    id: str
    tenant: str
    kind: str
    name: str
    status: str
    origin: str = "broker"
    provider: str | None = None
    region: str | None = None
    provider_id: str | None = None
    price: dict[str, Any] | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    unseen: int = 0
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    observed_at: str | None = None

    COLUMNS = (
        "id, tenant, kind, name, status, origin, provider, region, provider_id, price,"
        " spec, details, job_id, unseen, created_at, updated_at, observed_at"
    )

    def row(self) -> tuple[Any, ...]:
        """The values in the order of ``COLUMNS``."""
        return (
            self.id,
            self.tenant,
            self.kind,
            self.name,
            self.status,
            self.origin,
            self.provider,
            self.region,
            self.provider_id,
            _json(self.price),
            _json(self.spec),
            _json(self.details),
            self.job_id,
            self.unseen,
            self.created_at,
            self.updated_at,
            self.observed_at,
        )

    @classmethod
    def from_row(cls, row: Row) -> Resource:
        """A resource from a database row."""
        values = dict(row)
        for key in ("price", "spec", "details"):
            values[key] = _load(values[key])
        return cls(**values)


@dataclass
class Attempt:
    """One try of a job on one provider."""

    provider: str
    outcome: str
    detail: str
    at: str = field(default_factory=utc_now)

    def as_dict(self) -> dict[str, Any]:
        """The attempt as the API shows it."""
        return {
            "provider": self.provider,
            "outcome": self.outcome,
            "detail": self.detail,
            "at": self.at,
        }


@dataclass
class Job:
    """A create or delete, run by a worker until it succeeds or fails."""

    id: str
    tenant: str
    operation: str
    kind: str
    resource_id: str
    status: str = "queued"
    step: str = "start"
    provider: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    fence: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    run_after: float = 0.0
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    attempts: list[Attempt] = field(default_factory=list)

    COLUMNS = (
        "id, tenant, operation, kind, resource_id, status, step, provider, state,"
        " error, fence, lease_owner, lease_until, run_after, created_at, updated_at"
    )

    def row(self) -> tuple[Any, ...]:
        """The values in the order of ``COLUMNS``."""
        return (
            self.id,
            self.tenant,
            self.operation,
            self.kind,
            self.resource_id,
            self.status,
            self.step,
            self.provider,
            _json(self.state),
            _json(self.error),
            self.fence,
            self.lease_owner,
            self.lease_until,
            self.run_after,
            self.created_at,
            self.updated_at,
        )

    @classmethod
    def from_row(cls, row: Row) -> Job:
        """A job from a database row (attempts are loaded separately)."""
        values = dict(row)
        values["state"] = _load(values["state"]) or {}
        values["error"] = _load(values["error"])
        return cls(**values)

    @property
    def finished(self) -> bool:
        """Whether the job has ended, well or not."""
        return self.status in ("succeeded", "failed")
