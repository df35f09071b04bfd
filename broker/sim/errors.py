"""C4 error answers, and the middleware that turns every failure into one.

Handlers raise :class:`SimError`; :func:`protocol_middleware` renders it as
the C4 error body, renders routing misses the way FastAPI does (which is the
dialect fallback signal brokers look for), and answers any unexpected
exception with a C4 internal error instead of dropping the connection.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from broker.sim.context import operation_of

logger = logging.getLogger(__name__)

NOT_AVAILABLE = "Config is not available"
"""The message with which C4 providers say they cannot host a request."""


class SimError(Exception):
    """A non-success answer raised by a handler, rendered by the middleware."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        extras: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extras = extras or {}
        self.headers = headers or {}


def fake_trace(source: str, message: str) -> str:
    """A made-up provider stack trace, as real providers leak in ``trace``."""
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/meson/api/endpoints.py", line 118, in {source}\n'
        "    raise MesonException(detail)\n"
        f"MesonException: {message}"
    )


def error_response(
    status: int,
    message: str,
    operation: str | None,
    *,
    extras: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A C4 error answer with the given status, message and extra keys."""
    source = operation or "handler"
    body: dict[str, Any] = {
        "origin": "MESON",
        "error": message,
        "trace": fake_trace(source, message),
        "meson_source": f"{source}()",
    }
    body.update(extras or {})
    return web.json_response(body, status=status, headers=headers)


def injected_error(status: int, operation: str | None) -> web.Response:
    """The answer to a fault injected on purpose, with ``Retry-After`` if fitting."""
    headers = {"Retry-After": "1"} if status in (425, 429) else None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = str(status)
    message = f"Injected fault: {phrase}."
    return error_response(status, message, operation, headers=headers)


def bad_request(field: str, where: str, error: str, expected: str) -> SimError:
    """A 400 naming the one field of the request that is wrong."""
    field_error = {
        "field": field,
        "where": where,
        "error": error,
        "type": "missing" if error == "missing" else "invalid",
        "expected_value": expected,
    }
    return SimError(400, "Bad request.", extras={"field_errors": [field_error]})


def not_found(what: str, ident: str) -> SimError:
    """A 404 for an identifier this provider does not know."""
    return SimError(404, f"No {what} with id {ident}.")


def too_early(retry_after: int) -> SimError:
    """A 425 for a resource that is still being created."""
    return SimError(
        425,
        "The resource is still being created.",
        headers={"Retry-After": str(retry_after)},
    )


def service_unavailable(kind: str) -> SimError:
    """A 503 for a service kind this provider does not offer."""
    return SimError(
        503,
        f"Service {kind} is not available.",
        extras={"service_failed": [kind]},
    )


def _fastapi_detail(exc: web.HTTPException) -> web.Response:
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return web.json_response({"detail": exc.reason}, status=exc.status, headers=headers)


@web.middleware
async def protocol_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Render every failure of a handler as the answer a C4 provider would give."""
    operation = operation_of(request)
    try:
        return await handler(request)
    except SimError as exc:
        return error_response(
            exc.status,
            exc.message,
            operation,
            extras=exc.extras,
            headers=exc.headers,
        )
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        return _fastapi_detail(exc)
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("sim handler failed operation=%s", operation)
        return error_response(500, "Internal error.", operation)
