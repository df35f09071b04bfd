"""Logging: context on every line, secrets on none, plain or JSON.

Context (request id, tenant, job id, provider) lives in context variables
set where the work starts; a filter copies it onto every record. The same
filter replaces every known secret (API keys, provider header values,
passwords) with ``[redacted]``, so no code path has to remember to.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from aiohttp.http_exceptions import BadHttpMessage

CONTEXT_FIELDS = ("request_id", "tenant", "job_id", "provider")
_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(name, default=None) for name in CONTEXT_FIELDS
}
REDACTED = "[redacted]"


def bind(**values: str | None) -> None:
    """Set context fields for the current task and those it starts."""
    for name, value in values.items():
        _context[name].set(value)


def current(name: str) -> str | None:
    """The value of one context field in the current task."""
    return _context[name].get()


class ContextAndRedaction(logging.Filter):
    """Adds the context fields to each record and removes known secrets."""

    def __init__(self) -> None:
        super().__init__()
        self._groups: dict[str, set[str]] = {}
        self._secrets: list[str] = []

    def set_secrets(self, group: str, secrets: Iterable[str]) -> None:
        """Replace one group of strings that must never be logged."""
        self._groups[group] = {s for s in secrets if len(s) >= 4}
        every: set[str] = set().union(*self._groups.values())
        self._secrets = sorted(every, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, _context[name].get())
        if self._secrets:
            message = record.getMessage()
            cleaned = self.redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.redact(
                    logging.Formatter().formatException(record.exc_info)
                )
                record.exc_info = None
        return True

    def redact(self, text: str) -> str:
        """The text with every known secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class PlainFormatter(logging.Formatter):
    """``time level logger message key=value...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        # A message that names its provider already needs no second copy.
        said = set(line.split())
        pairs = (
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None)
        )
        extras = " ".join(pair for pair in pairs if pair not in said)
        return f"{line} {extras}" if extras else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                doc[name] = value
        if record.exc_text:
            doc["exception"] = record.exc_text
        elif record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)


class MalformedRequests(logging.Filter):
    """One warning line, not a traceback, for a request that is not valid HTTP.

    The HTTP server refuses such requests itself (400) before any route sees
    them, and logs each as an error with its stack; for the operator it is a
    misbehaving client, not a fault of the broker.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BadHttpMessage):
            record.msg = "malformed http request refused: %s"
            record.args = (error.message,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


REDACTION = ContextAndRedaction()


def setup(level: str = "INFO", fmt: str = "plain") -> None:
    """Send logs to stderr in the chosen format, through the redaction filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(REDACTION)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in server.filters):
        server.addFilter(MalformedRequests())
    # aiosqlite's debug lines carry statement parameters, which may hold a
    # job's VM password until the job ends: never let them through.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
