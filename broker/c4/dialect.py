"""Which of an operation's endpoint variants a provider serves, learnt per client.

Some C4 operations exist in two dialects: the documented one ("docs") and
the one of the reference implementation most providers start from
("reference"). An operation is given as its variants, documented first.
In ``auto`` mode the first variant that does not answer "endpoint missing"
is remembered for that operation, so later calls go straight to it; a
provider whose registry entry pins a dialect only ever gets that dialect's
variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from broker.c4.transport import Request

Dialect = Literal["docs", "reference"]
"""The two C4 dialects a provider may speak."""

Mode = Literal["auto", "docs", "reference"]
"""How a provider's dialect is chosen: detected per operation, or pinned."""


class DialectMemory:
    """Remembers, for one provider, which variant of each operation works."""

    def __init__(self, mode: Mode = "auto") -> None:
        self.mode = mode
        self._chosen: dict[str, tuple[int, Dialect | None]] = {}

    def order(
        self, operation: str, variants: Sequence[Request]
    ) -> list[tuple[int, Request]]:
        """The variants to try for ``operation`` with their index, best first."""
        indexed = list(enumerate(variants))
        if self.mode != "auto":
            pinned = [(i, v) for i, v in indexed if v.dialect in (None, self.mode)]
            return (pinned or indexed)[:1]
        chosen = self._chosen.get(operation)
        if chosen is None:
            return indexed
        first = [(i, v) for i, v in indexed if i == chosen[0]]
        return first + [(i, v) for i, v in indexed if i != chosen[0]]

    def remember(self, operation: str, index: int, variant: Request) -> None:
        """Note that variant ``index`` of ``operation`` is served by the provider."""
        self._chosen[operation] = (index, variant.dialect)

    def forget(self, operation: str) -> None:
        """Drop what was learnt about ``operation`` (it stopped working)."""
        self._chosen.pop(operation, None)

    def learnt_variant(self, operation: str) -> int | None:
        """The index of the variant of ``operation`` that worked, if known."""
        chosen = self._chosen.get(operation)
        return None if chosen is None else chosen[0]

    def learnt(self, operation: str) -> Dialect | None:
        """The dialect of the remembered variant of ``operation``, if it has one."""
        chosen = self._chosen.get(operation)
        return None if chosen is None else chosen[1]

    def snapshot(self) -> dict[str, Dialect]:
        """Every operation learnt so far whose variant belongs to one dialect."""
        return {
            op: dialect
            for op, (_, dialect) in self._chosen.items()
            if dialect is not None
        }
