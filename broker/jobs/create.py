"""The create job: place, forward, follow, fail over, and clean up after itself.

Every step is recorded before the call it leads to, so a restarted broker
knows where it was. A create whose answer was never recorded is in doubt:
it is not sent again blindly, the provider is first listed for the
resource id carried in the provider-side name.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tenacity import RetryError

from broker import logs
from broker.c4.client import C4Client
from broker.c4.outcome import Accepted, Created, PollResult, Ready
from broker.config import server_for
from broker.errors import (
    ProviderError,
    ProviderFault,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRefusal,
)
from broker.jobs import cleanup, kinds
from broker.jobs.env import (
    JobEnv,
    active_fields,
    attempt_for,
    deadline_of,
    fail,
    succeed,
)
from broker.jobs.policy import polling
from broker.placement import Request
from broker.specs import Spec, body_model, resource_id_in
from broker.store import Attempt, Job

log = logging.getLogger(__name__)


class CreateJob:
    """Runs one create job from wherever it was left."""

    def __init__(self, env: JobEnv, job: Job) -> None:
        self.env = env
        self.job = job
        self.body: Spec = body_model(job.kind).model_validate(job.state["body"])
        self.deadline = deadline_of(job, env.config)

    async def run(self) -> None:
        """Drive the job to its end (or until its lease is lost)."""
        job = self.job
        if job.step == "start":
            await self._place()
        while job.step in ("create", "poll"):
            if job.step == "create":
                await self._create_next()
            else:
                await self._follow()
        if job.step == "cleanup":
            await cleanup.run(self.env, job)

    async def _place(self) -> None:
        job = self.job
        request = Request(job.kind, self.body, self.env.client_uuid(job.tenant))
        result = await self.env.placer.place(request)
        if not result.candidates:
            reasons = "; ".join(f"{r.provider}: {r.reason}" for r in result.rejected)
            await fail(
                self.env,
                job,
                "No provider can host this request.",
                reasons or "No provider serves this kind.",
                resource={"status": "failed"},
            )
            return
        # Recorded together with the first choice, just before that call:
        # a crash before it only costs running the placement again.
        job.state["candidates"] = [c.as_dict() for c in result.candidates]
        job.state.setdefault("tried", [])
        job.step = "create"

    async def _create_next(self) -> None:
        job = self.job
        inflight = job.state.get("inflight")
        if inflight and await self._adopt_if_made(inflight):
            return
        candidate = self._next_candidate()
        if candidate is None:
            await self._give_up()
            return
        provider = candidate["provider"]
        logs.bind(provider=provider)
        job.provider = provider
        job.state["inflight"] = {"provider": provider, "started_at": time.time()}
        await self.env.store.save(
            job,
            resource={
                "provider": provider,
                "region": candidate["region"],
                "price": candidate["price"],
            },
        )
        await self._forward(candidate)

    def _next_candidate(self) -> dict[str, Any] | None:
        tried = self.job.state["tried"]
        if len(tried) >= self.env.config.placement.max_attempts:
            return None
        if time.time() >= self.deadline:
            return None
        fresh = [c for c in self.job.state["candidates"] if c["provider"] not in tried]
        return fresh[0] if fresh else None

    async def _forward(self, candidate: dict[str, Any]) -> None:
        job, provider = self.job, candidate["provider"]
        try:
            target = self.env.target(job, provider, candidate["region"])
            volumes = await self._volumes()
            answer = await kinds.create(target, self.body, job.resource_id, volumes)
        except ProviderRefusal as exc:
            await self._failed_on(provider, exc, maybe_exists=False)
        except (ProviderFault, ProviderProtocolError) as exc:
            await self._failed_on(provider, exc, maybe_exists=True)
        except ProviderNotFound as exc:
            await self._failed_on(provider, exc, maybe_exists=False)
        except LookupError as exc:
            await self._failed_on(
                provider,
                ProviderRefusal(provider, "create", str(exc)),
                maybe_exists=False,
            )
        else:
            await self._answered(provider, candidate, answer)

    async def _answered(
        self, provider: str, candidate: dict[str, Any], answer: Created | Accepted
    ) -> None:
        job = self.job
        if isinstance(answer, Created):
            await self._done(provider, answer.body, candidate["price"], "create")
            return
        job.state.pop("inflight", None)
        job.state["poll"] = {
            "provider": provider,
            "path": answer.poll_path,
            "provider_id": answer.provider_id,
            "price": candidate["price"],
        }
        job.step = "poll"
        changes = {"provider_id": answer.provider_id} if answer.provider_id else None
        await self.env.store.save(job, resource=changes)

    async def _follow(self) -> None:
        job = self.job
        poll = job.state["poll"]
        provider = poll["provider"]
        logs.bind(provider=provider)
        try:
            client = self.env.target(job, provider).client
            budget = self.env.providers.health.budget(provider)
            async for attempt in polling(self.env.config.jobs, self.deadline, budget):
                with attempt:
                    result = await self._poll_once(client, poll["path"], provider)
                if (
                    attempt.retry_state.outcome
                    and not attempt.retry_state.outcome.failed
                ):
                    attempt.retry_state.set_result(result)
        except (RetryError, ProviderFault):
            await self._poll_gave_up(provider)
            return
        except (ProviderProtocolError, ProviderNotFound, LookupError) as exc:
            error = exc if isinstance(exc, ProviderError) else None
            await self._poll_failed(provider, error)
            return
        if isinstance(result, Ready):
            await self._done(provider, result.body, poll["price"], "poll")
        else:
            await self._poll_gave_up(provider)

    async def _poll_once(
        self, client: C4Client, path: str, provider: str
    ) -> PollResult:
        polls = self.env.metrics.polls
        try:
            result = await client.poll(server_for(self.job.kind), path)
        except ProviderError as exc:
            polls.labels(provider, exc.outcome).inc()
            raise
        polls.labels(
            provider, "ready" if isinstance(result, Ready) else "pending"
        ).inc()
        return result

    async def _poll_gave_up(self, provider: str) -> None:
        job = self.job
        seconds = self.env.config.jobs.max_duration_s
        attempt = Attempt(provider, "timeout", f"Not ready after {seconds:g} s.")
        self._mark_orphan(provider, job.state["poll"].get("provider_id"))
        job.state.pop("poll", None)
        job.state["tried"].append(provider)
        await self._finish_failed(
            "The provider did not finish in time.",
            f"Provider {provider} was still creating after {seconds:g} s.",
            attempt,
        )

    async def _poll_failed(self, provider: str, error: ProviderError | None) -> None:
        job = self.job
        attempt = (
            attempt_for(provider, error)
            if error
            else Attempt(provider, "error", f"Provider {provider} left the registry.")
        )
        if not isinstance(error, ProviderNotFound):
            self._mark_orphan(provider, job.state["poll"].get("provider_id"))
        job.state.pop("poll", None)
        job.state["tried"].append(provider)
        job.step = "create"
        await self.env.store.save(job, attempt=attempt)

    async def _failed_on(
        self, provider: str, error: ProviderError, maybe_exists: bool
    ) -> None:
        job = self.job
        log.warning(
            "create failed provider=%s outcome=%s tries_left=%d",
            provider,
            error.outcome,
            self.env.config.placement.max_attempts - len(job.state["tried"]) - 1,
        )
        job.state.pop("inflight", None)
        job.state["tried"].append(provider)
        self.env.metrics.failovers.labels(provider).inc()
        if maybe_exists:
            self._mark_orphan(provider, None)
        await self.env.store.save(job, attempt=attempt_for(provider, error))

    def _mark_orphan(self, provider: str, provider_id: str | None) -> None:
        orphans = self.job.state.setdefault("orphans", [])
        orphans.append({"provider": provider, "provider_id": provider_id})

    async def _done(
        self, provider: str, body: dict[str, Any], price: Any, operation: str
    ) -> None:
        job = self.job
        try:
            observed = kinds.observe(job.kind, body, provider, operation)
        except ProviderProtocolError as exc:
            self._mark_orphan(provider, None)
            job.state.pop("inflight", None)
            job.state.pop("poll", None)
            job.state["tried"].append(provider)
            job.step = "create"
            await self.env.store.save(job, attempt=attempt_for(provider, exc))
            return
        await self._adopt(provider, observed, price, "Created.")

    async def _adopt(
        self, provider: str, observed: kinds.Observed, price: Any, detail: str
    ) -> None:
        job = self.job
        job.state.pop("inflight", None)
        job.state.pop("poll", None)
        job.provider = provider
        attempt = Attempt(provider, "succeeded", detail)
        resource = active_fields(observed, price)
        self.env.touched(provider, job.tenant, job.kind)
        if job.state.get("orphans"):
            job.step = "cleanup"
            await self.env.store.save(job, resource=resource, attempt=attempt)
            self.env.finished(job)
            return
        await succeed(self.env, job, resource=resource, attempt=attempt)

    async def _adopt_if_made(self, inflight: dict[str, Any]) -> bool:
        """Settle a create whose answer was lost: adopt what it made, or retry it."""
        job, provider = self.job, inflight["provider"]
        config = self.env.providers.get(provider)
        if config is None:
            job.state.pop("inflight")
            job.state["tried"].append(provider)
            return False
        settle_at = inflight["started_at"] + config.timeout_s
        if time.time() < settle_at:
            # The lost call may still be running at the provider: come back
            # once its timeout has passed. The stored step stays "create";
            # "parked" only ends this run.
            job.run_after = settle_at
            await self.env.store.save(job, release=True)
            job.step = "parked"
            return True
        try:
            found = await kinds.listing(self.env.target(job, provider))
        except ProviderError as exc:
            job.state.pop("inflight")
            job.state["tried"].append(provider)
            self._mark_orphan(provider, None)
            await self.env.store.save(job, attempt=attempt_for(provider, exc))
            return False
        mine = [o for o in found if resource_id_in(o.name) == job.resource_id]
        if not mine:
            job.state.pop("inflight")
            return False
        candidate: dict[str, Any] = next(
            (c for c in job.state["candidates"] if c["provider"] == provider), {}
        )
        await self._adopt(
            provider, mine[0], candidate.get("price"), "Adopted after a lost answer."
        )
        return True

    async def _give_up(self) -> None:
        job = self.job
        tried = ", ".join(job.state["tried"]) or "none"
        await self._finish_failed(
            "Every candidate provider failed.", f"Tried: {tried}.", None
        )

    async def _finish_failed(
        self, title: str, detail: str, attempt: Attempt | None
    ) -> None:
        job = self.job
        if attempt is not None:
            await self.env.store.save(job, attempt=attempt)
        if job.state.get("orphans"):
            job.state["failure"] = {"title": title, "detail": detail}
            job.step = "cleanup"
            await self.env.store.save(job, resource={"status": "failed"})
            self.env.finished(job)
            return
        await fail(self.env, job, title, detail, resource={"status": "failed"})

    async def _volumes(self) -> list[dict[str, Any]]:
        """The C4 descriptions of existing volumes a VM asks to attach."""
        wanted = getattr(self.body, "volumes", [])
        volumes = []
        for volume_id in wanted:
            resource = await self.env.store.resource(volume_id, self.job.tenant)
            if resource is None or resource.provider_id is None:
                continue
            volumes.append(
                {
                    "volumeID": resource.provider_id,
                    "name": resource.name,
                    **resource.details,
                }
            )
        return volumes
