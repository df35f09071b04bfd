"""What a C4 call can yield, once its answer has been classified.

Successful answers become the values below. Failures are raised as the
``ProviderError`` leaves of :mod:`broker.errors`: a fault (retry later), a
protocol error (the answer makes no sense), a refusal (a normal "no") or a
not-found. Quotes return an :class:`Offer` or a :class:`Refusal` instead of
raising, because a refusal is an ordinary answer to a question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Price:
    """A provider's price for one resource."""

    currency: str
    hourly: float
    monthly: float

    def as_dict(self) -> dict[str, Any]:
        """The price as the broker's API shows it."""
        return {
            "currency": self.currency,
            "hourly": self.hourly,
            "monthly": self.monthly,
        }


@dataclass(frozen=True)
class Offer:
    """A provider can host the request at this price."""

    provider: str
    price: Price | None
    config: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0


@dataclass(frozen=True)
class Refusal:
    """A provider cannot host the request; ``detail`` is safe to show tenants."""

    provider: str
    detail: str
    latency_s: float = 0.0


Quote = Offer | Refusal


@dataclass(frozen=True)
class Created:
    """A create finished at once; ``body`` is the provider's view of it."""

    provider_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Accepted:
    """A create goes on asynchronously; follow ``poll_path`` on the same server."""

    provider_id: str | None
    poll_path: str


CreateResult = Created | Accepted


@dataclass(frozen=True)
class Pending:
    """A polled resource is not ready yet; ask again, no sooner than ``retry_after``."""

    retry_after: float | None = None


@dataclass(frozen=True)
class Ready:
    """A polled resource is ready; ``body`` is the provider's view of it."""

    provider_id: str
    body: dict[str, Any]


PollResult = Pending | Ready
