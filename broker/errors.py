"""The broker's exceptions, one tree under :class:`BrokerError`.

::

    BrokerError
    ├── ConfigError                 a configuration file is wrong
    ├── StoreError                  the database failed or refused a write
    │   └── ConflictError           a write lost a race (lease, fencing, key)
    └── ProviderError               a C4 provider did not do what was asked
        ├── ProviderFault           retryable: network, timeout, 5xx, 425, 429
        ├── ProviderProtocolError   the answer could not be understood
        ├── ProviderRefusal         the provider cannot host the request
        └── ProviderNotFound        the provider does not know that resource

Every leaf carries a stable machine-readable ``code`` and its context, so the
layer above can decide what to do without parsing messages. Messages are
sentences meant for operators; none of them carries a provider's own error
text, which stays in debug logs.
"""

from __future__ import annotations


class BrokerError(Exception):
    """Root of every error the broker raises on purpose."""

    code = "broker-error"


class ConfigError(BrokerError):
    """A configuration file is invalid; ``problems`` lists ``file:line: message``."""

    code = "config-error"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StoreError(BrokerError):
    """The database failed, or refused a write it should have taken."""

    code = "store-error"


class ConflictError(StoreError):
    """A write lost a race: a lease taken over, a fencing token outdated."""

    code = "conflict"


class ProviderError(BrokerError):
    """A provider answered something other than what the operation needs."""

    code = "provider-error"

    def __init__(self, provider: str, operation: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.operation = operation

    @property
    def outcome(self) -> str:
        """The outcome label used in job attempts and metrics."""
        return self.code


class ProviderFault(ProviderError):
    """A retryable failure: network error, timeout, 5xx, 425 or 429."""

    code = "fault"

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(provider, operation, message)
        self.status = status
        self.retry_after = retry_after
        self.timed_out = timed_out


class ProviderProtocolError(ProviderError):
    """The provider's answer could not be parsed or lacks expected keys."""

    code = "protocol-error"


class ProviderRefusal(ProviderError):
    """The provider said it cannot host the request: a normal "no"."""

    code = "refusal"


class ProviderNotFound(ProviderError):
    """The provider does not know the resource (already gone, or never made)."""

    code = "not-found"
