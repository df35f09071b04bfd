"""Safe resolution of the URLs providers hand back, such as ``poolingURL``.

A provider chooses the URL the broker follows to poll a creation. Only its
path and query are trusted, and only when the path stays inside the C4 API;
scheme, host, port and user info are ignored and replaced by the provider's
own configured base URL, so that no answer can point the broker at another
origin (a metadata service, another port on the same host, an intranet box).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from broker.errors import ProviderProtocolError

API_PREFIX = "/api/v1.0/"
"""Every C4 path starts with this; a polling URL must too."""

_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def safe_path(url: str, *, provider: str = "unknown", operation: str = "poll") -> str:
    """The path and query of ``url`` when they are safe to request, else raise."""
    if _FORBIDDEN.search(url) or _ESCAPE.search(url):
        raise _refused(provider, operation)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _refused(provider, operation) from exc

    path = _undo_missing_host(parts.netloc, parts.path)
    if not path.startswith(API_PREFIX) or not _segments_safe(path):
        raise _refused(provider, operation)
    return f"{path}?{parts.query}" if parts.query else path


def resolve(
    base_url: str, url: str, *, provider: str = "unknown", operation: str = "poll"
) -> str:
    """``base_url`` followed by the safe path and query of ``url``, else raise."""
    path = safe_path(url, provider=provider, operation=operation)
    return base_url.rstrip("/") + path


def _undo_missing_host(netloc: str, path: str) -> str:
    """Repair the reference implementation's ``https://api/v1.0/...`` URLs.

    That template glues a scheme to a path without a host, so the first path
    segment ``api`` is read as the host. Only that exact shape is repaired.
    """
    if netloc.lower() == "api" and path.startswith("/v1.0/"):
        return "/api" + path
    return path


def _segments_safe(path: str) -> bool:
    """Whether no segment is empty, a dot segment, or hides one by encoding."""
    segments = path[1:].split("/")
    for segment in segments:
        decoded = unquote(segment)
        if decoded in ("", ".", "..") or segment in (".", ".."):
            return False
        if any(char in decoded for char in "/\\%") or _FORBIDDEN.search(decoded):
            return False
    return True


def _refused(provider: str, operation: str) -> ProviderProtocolError:
    return ProviderProtocolError(
        provider,
        operation,
        f"Provider {provider} gave a URL outside its C4 API for {operation}.",
    )
