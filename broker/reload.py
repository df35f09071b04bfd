"""Reloading the provider registry while the broker runs.

Three things reload it: ``POST /v1/admin/reload``, a SIGHUP, and a change of
the file itself (its size, modification time and content hash are checked
every second, with no dependency beyond the standard library). A file that
does not validate is refused whole and the registry in force stays; the
refusal is logged with every problem, and the route answers it as a 422.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from broker.config import load_registry
from broker.errors import ConfigError
from broker.providers import Providers, RegistryDiff

log = logging.getLogger(__name__)

POLL_S = 1.0
"""How often the registry file is checked for a change."""

OnChange = Callable[[RegistryDiff], Awaitable[None]]
_Stamp = tuple[int, int] | None


@dataclass(frozen=True)
class ReloadOutcome:
    """How one reload ended: what changed, or why the file was refused."""

    reason: str
    diff: RegistryDiff | None = None
    problems: list[str] = field(default_factory=list)


class RegistryReloader:
    """Puts the registry file's current content in force when asked or changed."""

    def __init__(
        self,
        path: Path,
        providers: Providers,
        on_change: OnChange | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.path = path
        self.providers = providers
        self._on_change = on_change
        self._poll_s = poll_s
        self._lock = asyncio.Lock()
        self._stamp: _Stamp = None
        self._digest: str | None = None
        self._waiters: list[asyncio.Future[ReloadOutcome]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self.sighup_installed = False

    async def start(self, sighup: bool = True) -> None:
        """Remember the file in force, watch it, and reload on SIGHUP if allowed."""
        self._stamp, self._digest = await asyncio.to_thread(_fingerprint, self.path)
        self._watch = asyncio.create_task(self._watch_file(), name="registry-watch")
        if sighup:
            self._install_sighup()

    async def stop(self) -> None:
        """Stop watching and forget the SIGHUP handler."""
        if self.sighup_installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self.sighup_installed = False
        tasks = [*self._tasks, *([self._watch] if self._watch else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watch = None

    async def reload(self, reason: str) -> RegistryDiff:
        """Put the file in force; ConfigError, changing nothing, if it is broken."""
        async with self._lock:
            try:
                diff = await self._load()
            except ConfigError as exc:
                self._settled(ReloadOutcome(reason, problems=exc.problems))
                log.warning(
                    "registry refused reason=%s problems=%d",
                    reason,
                    len(exc.problems),
                )
                for problem in exc.problems:
                    log.warning(
                        "registry problem reason=%s problem=%s", reason, problem
                    )
                raise
        log.info(
            "registry reloaded reason=%s added=%s removed=%s changed=%s",
            reason,
            ",".join(diff.added) or "-",
            ",".join(diff.removed) or "-",
            ",".join(diff.changed) or "-",
        )
        if self._on_change is not None:
            await self._on_change(diff)
        self._settled(ReloadOutcome(reason, diff=diff))
        return diff

    def next_outcome(self) -> asyncio.Future[ReloadOutcome]:
        """A future for how the next reload, whatever starts it, ends."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    async def _load(self) -> RegistryDiff:
        self._stamp, self._digest = await asyncio.to_thread(_fingerprint, self.path)
        registry = await asyncio.to_thread(load_registry, self.path)
        return self.providers.replace(registry)

    def _settled(self, outcome: ReloadOutcome) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(outcome)

    async def _attempt(self, reason: str) -> None:
        """Reload for a signal or a file change, where nobody awaits the answer."""
        try:
            await self.reload(reason)
        except ConfigError:
            return
        except Exception:
            log.exception("registry reload failed reason=%s", reason)

    async def _watch_file(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                if await self._changed():
                    await self._attempt("file-changed")
            except Exception:
                log.exception("registry watch failed path=%s", self.path)

    async def _changed(self) -> bool:
        """Whether the file's content differs from the one last read."""
        stamp = await asyncio.to_thread(_stamp_of, self.path)
        if stamp == self._stamp:
            return False
        stamp, digest = await asyncio.to_thread(_fingerprint, self.path)
        if digest == self._digest:
            self._stamp = stamp
            return False
        return True

    def _install_sighup(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            log.info("registry reload on sighup unavailable here")
            return
        self.sighup_installed = True

    def _on_sighup(self) -> None:
        task = asyncio.create_task(self._attempt("sighup"), name="registry-sighup")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _stamp_of(path: Path) -> _Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _fingerprint(path: Path) -> tuple[_Stamp, str | None]:
    """The file's size and time, and the hash of its content (None if unreadable)."""
    stamp = _stamp_of(path)
    try:
        content = path.read_bytes()
    except OSError:
        return stamp, None
    return stamp, hashlib.sha256(content).hexdigest()
