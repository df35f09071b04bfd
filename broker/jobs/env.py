"""What every job step needs, and the helpers that end or record a step."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker.config import BrokerConfig
from broker.errors import ProviderError
from broker.jobs.kinds import Observed, Target
from broker.metrics import Metrics
from broker.placement import Placer
from broker.providers import Providers
from broker.store import Attempt, Job, Store, utc_now

log = logging.getLogger(__name__)

Touched = Callable[[str, str, str], None]


def _ignore(provider: str, tenant: str, kind: str) -> None:
    """No targeted refresh: the default when no inventory runs."""


@dataclass
class JobEnv:
    """The parts a job works with."""

    store: Store
    providers: Providers
    placer: Placer
    config: BrokerConfig
    touched: Touched = field(default=_ignore)
    finished: Callable[[Job], None] = field(default=lambda job: None)
    metrics: Metrics = field(default_factory=Metrics)

    def client_uuid(self, tenant: str) -> str:
        """The client_uuid a tenant is known by at providers."""
        for configured in self.config.tenants:
            if configured.name == tenant:
                return configured.client_uuid
        raise LookupError(f"Tenant {tenant} is no longer configured.")

    def target(self, job: Job, provider: str, region: str | None = None) -> Target:
        """Where a job's calls to one provider go."""
        config = self.providers.get(provider)
        if config is None:
            raise LookupError(f"Provider {provider} is no longer in the registry.")
        return Target(
            self.providers.client(provider),
            config,
            job.kind,
            self.client_uuid(job.tenant),
            region,
        )


def deadline_of(job: Job, config: BrokerConfig) -> float:
    """When a job must have ended: its first run plus ``max_duration_s``."""
    started = job.state.setdefault("started_at", time.time())
    return float(started) + config.jobs.max_duration_s


def attempt_for(provider: str, error: ProviderError) -> Attempt:
    """The attempt record of a provider call that failed."""
    return Attempt(provider, error.outcome, str(error))


def active_fields(observed: Observed, price: dict[str, Any] | None) -> dict[str, Any]:
    """The resource's new fields once the provider has it ready."""
    now = utc_now()
    return {
        "status": "active",
        "provider_id": observed.provider_id,
        "details": observed.details,
        "price": price or observed.price,
        "observed_at": now,
    }


async def fail(
    env: JobEnv,
    job: Job,
    title: str,
    detail: str,
    resource: dict[str, Any] | None = None,
) -> None:
    """End a job as failed, with a reason a tenant can read."""
    job.status = "failed"
    job.step = "done"
    job.error = {"title": title, "detail": detail}
    _scrub(job)
    await env.store.save(job, resource=resource, release=True)
    _count(env, job)
    log.info("job failed operation=%s reason=%s", job.operation, title)
    env.finished(job)


async def succeed(
    env: JobEnv,
    job: Job,
    resource: dict[str, Any] | None = None,
    attempt: Attempt | None = None,
) -> None:
    """End a job as succeeded, with its last attempt."""
    job.status = "succeeded"
    job.step = "done"
    job.error = None
    _scrub(job)
    await env.store.save(job, resource=resource, attempt=attempt, release=True)
    _count(env, job)
    log.info("job succeeded operation=%s provider=%s", job.operation, job.provider)
    env.finished(job)


def _count(env: JobEnv, job: Job) -> None:
    env.metrics.jobs.labels(job.operation, job.kind, job.status).inc()
    started = job.state.get("started_at")
    if isinstance(started, int | float):
        elapsed = max(0.0, time.time() - started)
        env.metrics.job_duration.labels(job.operation, job.kind).observe(elapsed)


def _scrub(job: Job) -> None:
    """Forget what a finished job no longer needs, secrets first."""
    body = job.state.get("body")
    if isinstance(body, dict):
        body.pop("auth", None)
