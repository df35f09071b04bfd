"""The retry policies of jobs, each declared once with tenacity.

Polling an asynchronous create and retrying a delete share one shape:
exponential back-off with jitter from ``poll_initial_s`` up to
``poll_max_s``, never sooner than a provider's ``Retry-After``, never past
the job's deadline, and a failed call is retried early only while the
provider's retry budget allows (otherwise after ``poll_max_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    wait_exponential_jitter,
)

from broker.c4.outcome import Pending
from broker.config import JobsConfig
from broker.errors import ProviderFault, ProviderProtocolError
from broker.health import RetryBudget

log = logging.getLogger(__name__)


class _BackOff:
    """Exponential back-off with jitter that honours Retry-After and a deadline."""

    def __init__(
        self, config: JobsConfig, deadline: float, budget: RetryBudget | None
    ) -> None:
        self._base = wait_exponential_jitter(
            multiplier=config.poll_initial_s,
            max=config.poll_max_s,
            jitter=config.poll_initial_s,
        )
        self._longest = config.poll_max_s
        self._deadline = deadline
        self._budget = budget

    def __call__(self, state: RetryCallState) -> float:
        wait = self._base(state)
        hint = _retry_after(state)
        if hint is not None:
            wait = max(wait, hint)
        if self._over_budget(state):
            wait = max(wait, self._longest)
        return max(0.0, min(wait, self._deadline - time.time()))

    def _over_budget(self, state: RetryCallState) -> bool:
        """A failed call may be retried soon only within the provider's budget."""
        failed = state.outcome is not None and state.outcome.failed
        return failed and self._budget is not None and not self._budget.spend()


def _retry_after(state: RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None:
        return None
    if outcome.failed:
        error = outcome.exception()
        return error.retry_after if isinstance(error, ProviderFault) else None
    result = outcome.result()
    return result.retry_after if isinstance(result, Pending) else None


def _past(deadline: float) -> Callable[[RetryCallState], bool]:
    def stop(state: RetryCallState) -> bool:
        return time.time() >= deadline

    return stop


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        log.debug("%s retry attempt=%d wait_s=%.2f", what, state.attempt_number, wait)

    return before_sleep


def polling(
    config: JobsConfig, deadline: float, budget: RetryBudget | None = None
) -> AsyncRetrying:
    """Follow an asynchronous create until it is ready, faults retried too."""
    return AsyncRetrying(
        retry=retry_if_result(lambda r: isinstance(r, Pending))
        | retry_if_exception_type(ProviderFault),
        wait=_BackOff(config, deadline, budget),
        stop=_past(deadline),
        before_sleep=_log_retry("poll"),
        reraise=True,
    )


def cleanup(
    config: JobsConfig, deadline: float, budget: RetryBudget | None = None
) -> AsyncRetrying:
    """Delete until the provider confirms: faults and garbled answers retried."""
    return AsyncRetrying(
        retry=retry_if_exception_type((ProviderFault, ProviderProtocolError)),
        wait=_BackOff(config, deadline, budget),
        stop=_past(deadline),
        before_sleep=_log_retry("cleanup"),
        reraise=True,
    )
