"""The delete job: call the right endpoint until the provider confirms.

A resource the provider no longer knows counts as deleted, so repeating a
delete is harmless. Deletes that fail are retried with back-off; the
resource stays ``deleting`` until the provider confirms or the job's
``max_duration_s`` has passed, and nothing is forgotten while in doubt.
"""

from __future__ import annotations

import logging
import time

from tenacity import RetryError

from broker import logs
from broker.errors import ProviderError, ProviderNotFound
from broker.jobs import kinds
from broker.jobs.env import JobEnv, deadline_of, fail, succeed
from broker.jobs.policy import cleanup as retry_policy
from broker.store import Attempt, Job

log = logging.getLogger(__name__)

CREATE_CHECK_MAX_S = 2.0
"""Longest wait between two looks at the create a delete waits for: the
create is our own job, so looking costs one read, and a tenant who asked
for the delete should not wait a whole ``poll_max_s`` after it ended."""


async def run(env: JobEnv, job: Job) -> None:
    """Delete the job's resource at its provider."""
    if await _waits_for_its_create(env, job):
        return
    resource = await env.store.resource(job.resource_id)
    if resource is None:
        await fail(env, job, "The resource is gone.", "It is no longer in the store.")
        return
    if resource.provider is None or resource.provider_id is None:
        await succeed(env, job, resource={"status": "deleted"})
        return
    provider = resource.provider
    logs.bind(provider=provider)
    job.provider = provider
    try:
        target = env.target(job, provider)
    except LookupError as exc:
        await fail(env, job, "The provider is not in the registry.", str(exc))
        return
    deadline = deadline_of(job, env.config)
    await env.store.save(job)
    try:
        budget = env.providers.health.budget(provider)
        async for trying in retry_policy(env.config.jobs, deadline, budget):
            with trying:
                detail = await _delete(target, resource.provider_id)
    except (RetryError, ProviderError) as exc:
        log.warning("delete gave up provider=%s error=%s", provider, exc)
        await env.store.save(job, attempt=Attempt(provider, "fault", _why(exc)))
        await fail(
            env,
            job,
            "The provider did not confirm the delete.",
            f"Provider {provider} did not confirm in time; it stays deleting.",
        )
        return
    env.touched(provider, job.tenant, job.kind)
    done = Attempt(provider, "succeeded", detail)
    await succeed(env, job, resource={"status": "deleted"}, attempt=done)


async def _waits_for_its_create(env: JobEnv, job: Job) -> bool:
    """Park a delete asked while its resource was being created, until that ends.

    The create job may be placing, calling or polling a provider; deleting
    under it could leave what it makes running. Once it has ended, the
    resource has its provider id (or none, when nothing was made).
    """
    create_id = job.state.get("after")
    if create_id is None:
        return False
    create = await env.store.job(create_id)
    if create is None or create.finished:
        job.state.pop("after")
        job.state.pop("waits", None)
        return False
    waits = job.state.get("waits", 0)
    job.state["waits"] = waits + 1
    delay = min(env.config.jobs.poll_initial_s * 2**waits, CREATE_CHECK_MAX_S)
    job.run_after = time.time() + delay
    await env.store.save(job, release=True)
    log.info("delete waits for its create job_id=%s create=%s", job.id, create_id)
    return True


async def _delete(target: kinds.Target, provider_id: str) -> str:
    try:
        await kinds.delete(target, provider_id)
    except ProviderNotFound:
        return "Already gone at the provider."
    return "Deleted."


def _why(exc: BaseException) -> str:
    if isinstance(exc, RetryError):
        last = exc.last_attempt.exception()
        return str(last) if last else "Gave up."
    return str(exc)
