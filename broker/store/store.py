"""The broker's queries, behind one narrow interface.

Everything the jobs, the inventory and the API read or write goes through
:class:`Store`. Every change of a job and of its resource happens in one
transaction; a job's writes are fenced by the number its worker got when it
claimed the job, so a worker that lost its lease can no longer write.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from broker.errors import ConflictError
from broker.store.db import Database, Transaction
from broker.store.records import Attempt, Job, Resource, utc_now

T = TypeVar("T")

_RESOURCE_SLOTS = ", ".join("?" * len(Resource.COLUMNS.split(",")))
_JOB_SLOTS = ", ".join("?" * len(Job.COLUMNS.split(",")))
_RESOURCE_FIELDS = frozenset(c.strip() for c in Resource.COLUMNS.split(","))
_JSON_FIELDS = frozenset({"price", "spec", "details"})


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the id to continue after, if any."""

    items: list[T]
    next_after: str | None


@dataclass(frozen=True)
class ResourceFilter:
    """Which resources a listing returns; ``tenant`` None means every tenant."""

    tenant: str | None = None
    kinds: tuple[str, ...] = ()
    status: str | None = None
    provider: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class StoredAnswer:
    """What an idempotency key holds: its request, its resource, its answer."""

    fingerprint: str
    status: int | None
    body: dict[str, Any] | None
    headers: dict[str, str]
    created_at: float
    resource_id: str | None
    abandoned: bool


@dataclass(frozen=True)
class KeyedAnswer:
    """The answer to remember for a key; ``status`` None while it is not given."""

    tenant: str
    key: str
    status: int | None
    body: dict[str, Any] | None
    headers: dict[str, str]


class Store:
    """Queries over the database; the only place that writes SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Resources and their jobs

    async def create(
        self, resource: Resource, job: Job, key: KeyedAnswer | None = None
    ) -> None:
        """Store a new resource, its create job and, if keyed, what the key made."""
        async with self.db.transaction() as tx:
            await _insert_resource(tx, resource)
            await _insert_job(tx, job)
            if key is not None:
                await tx.execute(
                    "UPDATE idempotency_keys SET resource_id = ?, status = ?,"
                    " response = ?, headers = ? WHERE tenant = ? AND key = ?",
                    (
                        resource.id,
                        key.status,
                        json.dumps(key.body) if key.body is not None else None,
                        json.dumps(key.headers),
                        key.tenant,
                        key.key,
                    ),
                )

    async def resource(
        self, resource_id: str, tenant: str | None = None
    ) -> Resource | None:
        """One resource, if it exists and (when ``tenant`` is given) is theirs."""
        sql = f"SELECT {Resource.COLUMNS} FROM resources WHERE id = ?"
        params: list[Any] = [resource_id]
        if tenant is not None:
            sql += " AND tenant = ?"
            params.append(tenant)
        row = await self.db.fetchone(sql, params)
        return Resource.from_row(row) if row else None

    async def resources(
        self, where: ResourceFilter, limit: int, after: str | None = None
    ) -> Page[Resource]:
        """A page of resources in id order."""
        clauses, params = _resource_clauses(where)
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        sql = f"SELECT {Resource.COLUMNS} FROM resources"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id LIMIT ?"
        rows = await self.db.fetchall(sql, [*params, limit + 1])
        items = [Resource.from_row(r) for r in rows[:limit]]
        return Page(items, items[-1].id if len(rows) > limit else None)

    async def start_delete(self, resource: Resource, job: Job) -> None:
        """Mark a resource ``deleting`` and store its delete job, at once."""
        async with self.db.transaction() as tx:
            await _insert_job(tx, job)
            await tx.execute(
                "UPDATE resources SET status = 'deleting', job_id = ?, updated_at = ?"
                " WHERE id = ?",
                (job.id, utc_now(), resource.id),
            )

    # Jobs

    async def job(self, job_id: str, tenant: str | None = None) -> Job | None:
        """One job with its attempts, if it exists and is the tenant's."""
        sql = f"SELECT {Job.COLUMNS} FROM jobs WHERE id = ?"
        params: list[Any] = [job_id]
        if tenant is not None:
            sql += " AND tenant = ?"
            params.append(tenant)
        row = await self.db.fetchone(sql, params)
        if row is None:
            return None
        job = Job.from_row(row)
        job.attempts = await self._attempts(job.id)
        return job

    async def _attempts(self, job_id: str) -> list[Attempt]:
        rows = await self.db.fetchall(
            "SELECT provider, outcome, detail, at FROM job_attempts"
            " WHERE job_id = ? ORDER BY seq",
            (job_id,),
        )
        return [Attempt(**dict(r)) for r in rows]

    async def jobs(
        self, tenant: str | None, status: str | None, limit: int, after: str | None
    ) -> Page[Job]:
        """A page of jobs in id order, with their attempts."""
        clauses, params = [], []
        for column, value in (("tenant", tenant), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        sql = f"SELECT {Job.COLUMNS} FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = await self.db.fetchall(
            sql + " ORDER BY id LIMIT ?", [*params, limit + 1]
        )
        items = [Job.from_row(r) for r in rows[:limit]]
        await self._attach_attempts(items)
        return Page(items, items[-1].id if len(rows) > limit else None)

    async def _attach_attempts(self, jobs: list[Job]) -> None:
        """Load the attempts of many jobs in one query."""
        if not jobs:
            return
        by_id = {job.id: job for job in jobs}
        slots = ", ".join("?" * len(by_id))
        rows = await self.db.fetchall(
            "SELECT job_id, provider, outcome, detail, at FROM job_attempts"
            f" WHERE job_id IN ({slots}) ORDER BY job_id, seq",
            list(by_id),
        )
        for row in rows:
            values = dict(row)
            by_id[values.pop("job_id")].attempts.append(Attempt(**values))

    async def unfinished_creates(self, tenant: str) -> int:
        """How many of the tenant's create jobs have not ended."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM jobs WHERE tenant = ? AND operation = 'create'"
            " AND status IN ('queued', 'running')",
            (tenant,),
        )
        return int(row["n"]) if row else 0

    async def claim(
        self, owner: str, lease_s: float, now: float | None = None
    ) -> Job | None:
        """Take the next runnable job: queued, due, or leased by a dead worker."""
        now = time.time() if now is None else now
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"UPDATE jobs SET status = 'running', lease_owner = ?, lease_until = ?,"
                f" fence = fence + 1, updated_at = ?"
                f" WHERE id = (SELECT id FROM jobs"
                f"  WHERE status IN ('queued', 'running') AND run_after <= ?"
                f"   AND (lease_until IS NULL OR lease_until < ?)"
                f"  ORDER BY run_after, id LIMIT 1)"
                f" RETURNING {Job.COLUMNS}",
                (owner, now + lease_s, utc_now(), now, now),
            )
        if row is None:
            return None
        job = Job.from_row(row)
        job.attempts = await self._attempts(job.id)
        return job

    async def next_run_after(self) -> float | None:
        """When the earliest parked or leased job becomes runnable, if any."""
        row = await self.db.fetchone(
            "SELECT MIN(MAX(run_after, COALESCE(lease_until, 0))) AS at FROM jobs"
            " WHERE status IN ('queued', 'running')"
        )
        return None if row is None or row["at"] is None else float(row["at"])

    async def renew(self, job: Job, lease_s: float) -> None:
        """Extend a held lease; ConflictError if another worker took the job."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE jobs SET lease_until = ?"
                " WHERE id = ? AND fence = ? AND lease_owner IS NOT NULL",
                (time.time() + lease_s, job.id, job.fence),
            )
            if changed:
                return
            row = await tx.fetchone("SELECT fence FROM jobs WHERE id = ?", (job.id,))
        if row is not None and row["fence"] != job.fence:
            raise ConflictError(f"Job {job.id} was taken over by another worker.")

    async def release_leases(self, owner: str) -> None:
        """Give back every lease an owner holds, so a restart resumes at once."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL"
                " WHERE lease_owner = ? AND status IN ('queued', 'running')",
                (owner,),
            )

    async def save(
        self,
        job: Job,
        resource: dict[str, Any] | None = None,
        attempt: Attempt | None = None,
        release: bool = False,
    ) -> None:
        """Write a job's progress, its resource's changes and an attempt, fenced.

        The lease is left as the claim and its renewals set it, unless
        ``release`` gives it back (the job ended or parked itself).
        """
        job.updated_at = utc_now()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE jobs SET status = ?, step = ?, provider = ?, state = ?,"
                " error = ?, run_after = ?,"
                " lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END,"
                " lease_until = CASE WHEN ? THEN NULL ELSE lease_until END,"
                " updated_at = ?"
                " WHERE id = ? AND fence = ?",
                (
                    job.status,
                    job.step,
                    job.provider,
                    json.dumps(job.state),
                    json.dumps(job.error) if job.error else None,
                    job.run_after,
                    release,
                    release,
                    job.updated_at,
                    job.id,
                    job.fence,
                ),
            )
            if not changed:
                raise ConflictError(f"Job {job.id} was taken over by another worker.")
            if attempt is not None:
                await _insert_attempt(tx, job, attempt)
            if resource:
                await _update_resource(
                    tx,
                    job.resource_id,
                    resource,
                    keep_deleting=job.operation == "create",
                )

    # Idempotency keys

    async def reserve_key(
        self, tenant: str, key: str, fingerprint: str, stale_after_s: float
    ) -> StoredAnswer | None:
        """Reserve a key for a new create, or return what it already holds."""
        now = time.time()
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT fingerprint, status, response, headers, created_at, resource_id"
                " FROM idempotency_keys WHERE tenant = ? AND key = ?",
                (tenant, key),
            )
            abandoned = (
                row is not None
                and row["status"] is None
                and row["created_at"] < now - stale_after_s
            )
            if row is not None and not (abandoned and row["resource_id"] is None):
                return StoredAnswer(
                    row["fingerprint"],
                    row["status"],
                    json.loads(row["response"]) if row["response"] else None,
                    json.loads(row["headers"]) if row["headers"] else {},
                    row["created_at"],
                    row["resource_id"],
                    abandoned,
                )
            await tx.execute(
                "INSERT OR REPLACE INTO idempotency_keys"
                " (tenant, key, fingerprint, status, response, headers, created_at,"
                " resource_id) VALUES (?, ?, ?, NULL, NULL, NULL, ?, NULL)",
                (tenant, key, fingerprint, now),
            )
        return None

    async def remember_answer(self, answer: KeyedAnswer) -> None:
        """Record the answer a key replays from now on."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE idempotency_keys SET status = ?, response = ?, headers = ?"
                " WHERE tenant = ? AND key = ?",
                (
                    answer.status,
                    json.dumps(answer.body),
                    json.dumps(answer.headers),
                    answer.tenant,
                    answer.key,
                ),
            )

    async def release_key(self, tenant: str, key: str) -> None:
        """Forget a reserved key whose create was refused before it was stored."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM idempotency_keys"
                " WHERE tenant = ? AND key = ? AND status IS NULL",
                (tenant, key),
            )

    async def purge_keys(self, older_than: float) -> int:
        """Delete keys created before ``older_than`` (epoch seconds)."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (older_than,)
            )


def _resource_clauses(where: ResourceFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("tenant", "status", "provider", "origin"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.kinds:
        clauses.append(f"kind IN ({', '.join('?' * len(where.kinds))})")
        params.extend(where.kinds)
    return clauses, params


async def _insert_resource(tx: Transaction, resource: Resource) -> None:
    await tx.execute(
        f"INSERT INTO resources ({Resource.COLUMNS}) VALUES ({_RESOURCE_SLOTS})",
        resource.row(),
    )


async def _insert_job(tx: Transaction, job: Job) -> None:
    await tx.execute(
        f"INSERT INTO jobs ({Job.COLUMNS}) VALUES ({_JOB_SLOTS})", job.row()
    )


async def _insert_attempt(tx: Transaction, job: Job, attempt: Attempt) -> None:
    await tx.execute(
        "INSERT INTO job_attempts (job_id, seq, provider, outcome, detail, at)"
        " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_attempts"
        " WHERE job_id = ?), ?, ?, ?, ?)",
        (job.id, job.id, attempt.provider, attempt.outcome, attempt.detail, attempt.at),
    )
    job.attempts.append(attempt)


async def _update_resource(
    tx: Transaction, resource_id: str, changes: dict[str, Any], keep_deleting: bool
) -> None:
    """Apply changes; ``keep_deleting``: a delete asked meanwhile keeps its status."""
    unknown = changes.keys() - _RESOURCE_FIELDS
    if unknown:
        raise ValueError(f"Unknown resource fields: {sorted(unknown)}.")
    changes = {**changes, "updated_at": utc_now()}
    assignments = ", ".join(
        "status = CASE WHEN status = 'deleting' THEN status ELSE ? END"
        if k == "status" and keep_deleting
        else f"{k} = ?"
        for k in changes
    )
    values = [json.dumps(v) if k in _JSON_FIELDS else v for k, v in changes.items()]
    await tx.execute(
        f"UPDATE resources SET {assignments} WHERE id = ?", [*values, resource_id]
    )
