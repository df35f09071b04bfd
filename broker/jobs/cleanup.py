"""Orphan mitigation: delete what a failed create may have left on a provider.

A create that ended in a timeout, a 5xx, an answer that could not be
understood or a poll that gave up may still have made the resource, and it
may be costing money. Each such provider is listed for the resource id
carried in the provider-side name, and whatever carries it is deleted, with
back-off, until the provider confirms it is gone or ``max_duration_s`` has
passed. The job records what happened to each one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tenacity import RetryError

from broker import logs
from broker.errors import ProviderError, ProviderFault, ProviderNotFound
from broker.jobs import kinds
from broker.jobs.env import JobEnv, fail, succeed
from broker.jobs.policy import cleanup as cleanup_policy
from broker.specs import resource_id_in
from broker.store import Attempt, Job

log = logging.getLogger(__name__)


async def run(env: JobEnv, job: Job) -> None:
    """Clean every orphan the job recorded, then end the job."""
    started = job.state.setdefault("cleanup_started_at", time.time())
    deadline = float(started) + env.config.jobs.max_duration_s
    orphans: list[dict[str, Any]] = job.state.get("orphans", [])
    while orphans:
        orphan = orphans[0]
        attempt = await _clean(env, job, orphan, deadline)
        orphans.pop(0)
        await env.store.save(job, attempt=attempt)
    failure = job.state.pop("failure", None)
    if failure:
        await fail(env, job, failure["title"], failure["detail"])
    else:
        await succeed(env, job)


async def _clean(
    env: JobEnv, job: Job, orphan: dict[str, Any], deadline: float
) -> Attempt:
    provider = orphan["provider"]
    logs.bind(provider=provider)
    try:
        target = env.target(job, provider)
    except LookupError:
        return Attempt(
            provider, "cleanup-failed", f"Provider {provider} left the registry."
        )
    try:
        budget = env.providers.health.budget(provider)
        async for attempt in cleanup_policy(env.config.jobs, deadline, budget):
            with attempt:
                removed = await _remove_all(
                    target, job.resource_id, orphan["provider_id"]
                )
    except (RetryError, ProviderError) as exc:
        log.warning("orphan cleanup gave up provider=%s error=%s", provider, exc)
        return Attempt(
            provider,
            "cleanup-failed",
            f"Could not confirm that nothing was left on {provider}; "
            "an operator should check it.",
        )
    env.touched(provider, job.tenant, job.kind)
    if removed:
        return Attempt(provider, "cleaned", f"Deleted {removed} leftover resource(s).")
    return Attempt(provider, "cleaned", "Nothing was left behind.")


async def _remove_all(
    target: kinds.Target, resource_id: str, provider_id: str | None
) -> int:
    """Delete every resource carrying the id; the count deleted, once none remain."""
    removed = 0
    for observed in await kinds.listing(target):
        mine = resource_id_in(observed.name) == resource_id
        if mine or (provider_id is not None and observed.provider_id == provider_id):
            try:
                await kinds.delete(target, observed.provider_id)
            except ProviderNotFound:
                continue
            removed += 1
    if removed:
        leftover = [
            o
            for o in await kinds.listing(target)
            if resource_id_in(o.name) == resource_id
        ]
        if leftover:
            raise ProviderNotConfirmed(target.provider.name, "cleanup", "Still listed.")
    return removed


class ProviderNotConfirmed(ProviderFault):
    """A delete was accepted but the resource is still listed: try again."""
