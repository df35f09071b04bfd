"""One HTTP answer of a provider, read in full and not yet judged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from broker import jsontext

NOT_JSON = object()
"""What :attr:`Answer.data` holds when the body is empty or not JSON."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of a provider, with who sent it and to which operation."""

    provider: str
    operation: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_s: float

    @cached_property
    def data(self) -> Any:
        """The body parsed as JSON, or :data:`NOT_JSON`."""
        if not self.body.strip():
            return NOT_JSON
        try:
            return jsontext.loads(self.body)
        except (ValueError, RecursionError):
            return NOT_JSON
