"""One HTTP exchange with one of a provider's servers, bounded in every way.

Each exchange has a connect timeout and a total timeout, never follows a
redirect, reads at most :data:`MAX_BODY_BYTES` of the answer, and logs one
INFO line. Header values are never logged: they may carry credentials.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from yarl import URL

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.config import ProviderConfig, Server
from broker.errors import ProviderProtocolError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest answer body the broker reads from a provider."""

MAX_CONNECT_S = 5.0
"""The longest the broker waits for a TCP connection to a provider."""

_NO_BODY = object()


@dataclass(frozen=True)
class Encoded:
    """A JSON body encoded once, to send as it is to many providers."""

    data: bytes

    @classmethod
    def of(cls, value: Any) -> Encoded:
        """``value`` as compact UTF-8 JSON."""
        return cls(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Request:
    """One HTTP request to a provider server; ``path`` is already safe.

    ``dialect`` names the C4 dialect this variant of an operation belongs
    to, or is None for a variant every dialect may serve.
    """

    method: str
    path: str
    body: Any = _NO_BODY
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    dialect: Literal["docs", "reference"] | None = "docs"

    @property
    def has_body(self) -> bool:
        """Whether the request carries a JSON body."""
        return self.body is not _NO_BODY


class Transport:
    """Sends requests to the servers of one provider over a shared session."""

    def __init__(self, provider: ProviderConfig, session: aiohttp.ClientSession):
        self.provider = provider
        self._session = session

    def url(self, server: Server, path: str, operation: str) -> URL:
        """The absolute URL of ``path`` on one of the provider's own servers."""
        base = self.provider.base_url(server)
        if base is None:
            raise ProviderProtocolError(
                self.provider.name,
                operation,
                f"Provider {self.provider.name} has no {server} server configured.",
            )
        return URL(base + path, encoded=True)

    async def send(
        self,
        server: Server,
        operation: str,
        request: Request,
        *,
        timeout_s: float | None = None,
        quiet: bool = False,
    ) -> Answer:
        """Send ``request`` and read its answer; raise a fault if none comes.

        A ``quiet`` call that gets a 2xx answer logs at DEBUG, not INFO.
        """
        url = self.url(server, request.path, operation)
        total = timeout_s if timeout_s is not None else self.provider.timeout_s
        timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=min(MAX_CONNECT_S, total)
        )
        started = time.monotonic()
        label = "cancelled"
        try:
            status, headers, body = await self._exchange(
                url, request, timeout, operation
            )
            label = str(status)
        except ProviderProtocolError:
            label = "oversize"
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            label = "timeout" if isinstance(exc, TimeoutError) else "error"
            fault = classify.network_failure(exc, self.provider.name, operation, total)
            raise fault from exc
        finally:
            elapsed = time.monotonic() - started
            answered = label.startswith("2")
            self._log(operation, label, elapsed, quiet and answered)
        return Answer(self.provider.name, operation, status, headers, body, elapsed)

    def _log(self, operation: str, status: str, elapsed_s: float, quiet: bool) -> None:
        logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "c4 call provider=%s operation=%s status=%s elapsed_ms=%d",
            self.provider.name,
            operation,
            status,
            round(elapsed_s * 1000),
        )

    async def _exchange(
        self,
        url: URL,
        request: Request,
        limits: aiohttp.ClientTimeout,
        operation: str,
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {**self.provider.headers, **request.headers}
        kwargs: dict[str, Any] = {}
        if isinstance(request.body, Encoded):
            kwargs["data"] = request.body.data
            headers["Content-Type"] = "application/json"
        elif request.has_body:
            kwargs["json"] = request.body
        if request.params:
            kwargs["params"] = dict(request.params)
        async with self._session.request(
            request.method,
            url,
            headers=headers,
            timeout=limits,
            allow_redirects=False,
            **kwargs,
        ) as response:
            body = await self._read_capped(response, operation)
            return response.status, response.headers, body

    async def _read_capped(
        self, response: aiohttp.ClientResponse, operation: str
    ) -> bytes:
        declared = response.content_length
        if declared is not None and declared > MAX_BODY_BYTES:
            raise classify.oversize(self.provider.name, operation, MAX_BODY_BYTES)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BODY_BYTES:
            chunk = await response.content.read(MAX_BODY_BYTES + 1 - size)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise classify.oversize(self.provider.name, operation, MAX_BODY_BYTES)
