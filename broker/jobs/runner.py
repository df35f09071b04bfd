"""The job runner: claims jobs with a lease and runs them, at most N at once.

A claimed job carries a lease that a background task renews while the job
runs. If the process dies, the lease runs out and any runner (this one
after a restart, or another) claims the job again and resumes it from its
last recorded step. Claiming bumps the job's fence; a worker whose fence is
outdated can no longer write, so a stale worker never overwrites a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time

from broker import logs
from broker.errors import ConflictError, StoreError
from broker.jobs import create, delete
from broker.jobs.env import JobEnv, fail
from broker.store import Job

log = logging.getLogger(__name__)

IDLE_CHECK_S = 1.0


class JobRunner:
    """Runs queued and resumable jobs in the background of the event loop."""

    def __init__(self, env: JobEnv, owner: str | None = None) -> None:
        self.env = env
        self.owner = owner or f"runner-{secrets.token_hex(4)}"
        self._config = env.config.jobs
        self._slots = asyncio.Semaphore(self._config.workers)
        self._wake = asyncio.Event()
        self._running: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._waiters: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        env.finished = self._finished

    async def start(self) -> None:
        """Start claiming jobs, beginning with those a crash left behind."""
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="jobs-claim"),
            asyncio.create_task(self._renew_loop(), name="jobs-renew"),
        ]
        log.info(
            "job runner started owner=%s workers=%d", self.owner, self._config.workers
        )

    async def stop(self) -> None:
        """Stop claiming, park running jobs, and give their leases back."""
        for task in self._tasks:
            task.cancel()
        running = [task for _, task in self._running.values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*self._tasks, *running, return_exceptions=True)
        with contextlib.suppress(StoreError):
            await self.env.store.release_leases(self.owner)
        log.info("job runner stopped owner=%s parked=%d", self.owner, len(running))

    def wake(self) -> None:
        """Tell the runner a new job is waiting."""
        self._wake.set()

    async def wait(self, job_id: str, resource_id: str, seconds: float) -> None:
        """Return once the job's resource has settled, or after ``seconds``."""
        event = self._waiters.setdefault(job_id, asyncio.Event())
        try:
            resource = await self.env.store.resource(resource_id)
            if resource is not None and resource.status not in ("creating", "deleting"):
                return
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            if not event.is_set():
                self._waiters.pop(job_id, None)

    def _finished(self, job: Job) -> None:
        event = self._waiters.pop(job.id, None)
        if event is not None:
            event.set()

    async def _claim_loop(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                job = await self.env.store.claim(self.owner, self._config.lease_s)
            except StoreError:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._slots.release()
                await self._idle()
                continue
            task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
            self._running[job.id] = (job, task)
            self.env.metrics.jobs_running.set(len(self._running))
            task.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self.env.metrics.jobs_running.set(len(self._running))
        self._slots.release()

    async def _idle(self) -> None:
        """Sleep until woken, or until the next parked job or lease comes due."""
        self._wake.clear()
        due = await self.env.store.next_run_after()
        delay = (
            IDLE_CHECK_S
            if due is None
            else max(0.0, min(due - time.time(), IDLE_CHECK_S))
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay + 0.01)

    async def _run(self, job: Job) -> None:
        logs.bind(
            job_id=job.id, tenant=job.tenant, provider=job.provider, request_id=None
        )
        started = time.monotonic()
        try:
            if job.operation == "create":
                await create.CreateJob(self.env, job).run()
            else:
                await delete.run(self.env, job)
        except ConflictError:
            log.warning("job taken over by another worker")
        except asyncio.CancelledError:
            log.info("job parked for a later run")
            raise
        except Exception:
            log.exception("job crashed step=%s", job.step)
            await self._crashed(job)
        finally:
            log.info(
                "job step ended status=%s step=%s elapsed_ms=%d",
                job.status,
                job.step,
                (time.monotonic() - started) * 1000,
            )

    async def _crashed(self, job: Job) -> None:
        with contextlib.suppress(StoreError):
            await fail(
                self.env,
                job,
                "The broker failed while running this job.",
                "The error is logged; an operator can find it by the job id.",
                resource={"status": "failed"} if job.operation == "create" else None,
            )

    async def _renew_loop(self) -> None:
        interval = self._config.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            for job, task in list(self._running.values()):
                try:
                    await self.env.store.renew(job, self._config.lease_s)
                except ConflictError:
                    log.warning("lease lost job_id=%s", job.id)
                    task.cancel()
                except StoreError:
                    log.exception("renewing a lease failed job_id=%s", job.id)
