"""The hook through which every C4 call reports its outcome and duration."""

from __future__ import annotations

from typing import Literal, Protocol

Outcome = Literal["ok", "offer", "refusal", "fault", "protocol-error", "not-found"]
"""How one C4 operation ended, as metrics and provider health count it."""


class CallObserver(Protocol):
    """Receives one report per C4 operation, for metrics and provider health."""

    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        """Record that ``operation`` on ``provider`` ended in ``outcome``."""
