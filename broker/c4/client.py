"""The C4 client: everything the broker says to one provider, in one object."""

from __future__ import annotations

from broker.c4 import classify
from broker.c4.compute import ComputeOps
from broker.c4.core import Op
from broker.c4.outcome import Pending, Ready
from broker.c4.services import ServiceOps
from broker.c4.storage import StorageOps
from broker.c4.transport import Request
from broker.c4.urls import safe_path
from broker.config import Server


class C4Client(ComputeOps, StorageOps, ServiceOps):
    """Speaks C4 to one provider over the process's shared HTTP session.

    Every method sends one operation, falling back to the reference
    dialect's variant where the provider lacks the documented endpoint (and
    remembering which one worked), judges the answer once, and either
    returns the typed result or raises a ``ProviderError`` leaf.
    """

    async def ping(self, server: Server) -> str:
        """The text a server answers at ``/`` (``"hello"`` for most providers)."""
        op = Op("ping", server, classify.Expect(text=True))
        data = await self._call(
            op, [Request("GET", "/")], lambda answer: classify.decode(answer, op.expect)
        )
        return data if isinstance(data, str) else str(data)

    async def poll(
        self, server: Server, url: str, *, timeout_s: float | None = None
    ) -> Pending | Ready:
        """Follow a ``poolingURL`` on the provider's own server: pending or ready."""
        path = safe_path(url, provider=self.name, operation="poll")
        op = Op("poll", server)
        return await self._call(
            op, [Request("GET", path)], classify.polled, timeout_s=timeout_s
        )
