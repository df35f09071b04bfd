"""Errors as ``application/problem+json`` (RFC 9457), produced in one place.

Handlers raise :class:`Problem`; the error middleware turns it, and any
other exception, into a problem answer. Unexpected exceptions are logged
with their traceback and answered as a bare 500 that reveals nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error answer for the client, raised anywhere below a handler."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.title = title or _TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The problem document."""
        doc: dict[str, Any] = {
            "type": f"/docs#problem-{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            doc["errors"] = self.errors
        return doc

    def response(self, request_id: str | None = None) -> web.Response:
        """The problem as an HTTP answer."""
        doc = self.body()
        if request_id:
            doc["request_id"] = request_id
        return web.Response(
            status=self.status,
            text=json.dumps(doc),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def not_found(what: str = "resource") -> Problem:
    """The answer for anything unknown or belonging to someone else."""
    return Problem(404, f"No such {what}.", code="not-found")


def validation_problem(exc: ValidationError, prefix: str = "") -> Problem:
    """A 422 listing each field that failed validation."""
    errors = []
    for error in exc.errors(
        include_url=False, include_input=False, include_context=False
    ):
        field = ".".join(str(p) for p in error["loc"] if p != "__root__")
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        message = error["msg"].removeprefix("Value error, ")
        errors.append({"field": field or "(body)", "message": _sentence(message)})
    return Problem(
        422,
        "The request is not valid; see errors.",
        code="validation-failed",
        errors=errors,
    )


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def from_http_exception(exc: web.HTTPException) -> Problem:
    """A problem for aiohttp's own errors (unknown route, wrong method, too large)."""
    status = exc.status
    if status == 404:
        return Problem(404, "No such route.", code="no-route")
    if status == 405:
        return Problem(
            405, "This route does not take that method.", headers=_allow(exc)
        )
    if status == 413:
        return Problem(413, "The request body is too large.", code="too-large")
    return Problem(status, exc.reason or _TITLES.get(status, "Error") + ".")


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
