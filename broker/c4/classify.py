"""The one place where a provider's answer is judged.

Every HTTP exchange with a provider ends here and becomes exactly one of:
a success (the decoded body), a refusal (the provider cannot host the
request: a normal "no"), a fault (retryable: network, timeout, 5xx, 425,
429), a protocol error (the answer cannot be understood) or a not-found
(the provider does not know that resource). Failures are raised as the
``ProviderError`` leaves of :mod:`broker.errors`. Their messages are
sentences safe to show an operator; the provider's own ``error`` and
``trace`` texts are only ever logged, at debug level.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from broker.c4.answer import NOT_JSON, Answer
from broker.c4.models import AllocationAnswer, C4Price
from broker.c4.outcome import Accepted, Created, Offer, Pending, Price, Ready, Refusal
from broker.c4.urls import safe_path
from broker.errors import (
    ProviderError,
    ProviderFault,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRefusal,
)

logger = logging.getLogger(__name__)

NOT_AVAILABLE = "config is not available"
"""The (lower-cased) error text with which a provider says it cannot host."""

RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""Client-error statuses that still mean "try again later"."""

MAX_RETRY_AFTER_S = 3600.0
"""A provider asking to wait longer than this is taken to mean this long."""

_M = TypeVar("_M", bound=BaseModel)


class EndpointMissing(ProviderProtocolError):
    """The provider does not serve the endpoint at all (405, or a bare 404)."""


@dataclass(frozen=True)
class Expect:
    """How to judge the answers of one operation."""

    refusable: bool = False
    resource: bool = False
    text: bool = False


def network_failure(
    exc: BaseException, provider: str, operation: str, timeout_s: float
) -> ProviderFault:
    """The fault for an exchange that produced no answer at all."""
    if isinstance(exc, asyncio.TimeoutError):
        return ProviderFault(
            provider,
            operation,
            f"Provider {provider} did not answer {operation} within {timeout_s:g} s.",
            timed_out=True,
        )
    logger.debug(
        "c4 network failure provider=%s operation=%s error=%r",
        provider,
        operation,
        exc,
    )
    return ProviderFault(
        provider,
        operation,
        f"Provider {provider} could not be reached, or broke off, for {operation}.",
    )


def oversize(provider: str, operation: str, limit: int) -> ProviderProtocolError:
    """The error for an answer larger than the broker accepts."""
    mib = limit / (1024 * 1024)
    return ProviderProtocolError(
        provider,
        operation,
        f"Provider {provider} sent more than {mib:g} MiB in answer to {operation}.",
    )


def endpoint_missing(answer: Answer) -> bool:
    """Whether an answer says the endpoint does not exist, not the resource."""
    if answer.status == 405:
        return True
    return answer.status == 404 and error_text(answer.data) is None


def error_text(data: Any) -> str | None:
    """The provider's ``error`` text when ``data`` is a C4 error body."""
    if not isinstance(data, dict):
        return None
    value = data.get("error")
    if value is None or value == "" or value is False:
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)


def decode(answer: Answer, expect: Expect = Expect()) -> Any:
    """The body of a successful answer, decoded; raise for any other kind."""
    data = answer.data
    error = error_text(data)
    if error is not None:
        _log_error_body(answer, data)
    if expect.refusable and error is not None and NOT_AVAILABLE in error.lower():
        raise refusal(answer.provider, answer.operation)

    if 300 <= answer.status < 400:
        raise _protocol(answer, "redirected {op}; redirects are not followed")
    if answer.status >= 500 or answer.status in RETRYABLE_STATUSES:
        raise fault(answer)
    if answer.status >= 400:
        raise _client_error(answer, error is not None, expect)
    if not 200 <= answer.status < 300:
        raise _protocol(answer, "answered {op} with status " + str(answer.status))

    if answer.status == 204 or not answer.body.strip():
        return None
    if data is NOT_JSON:
        if expect.text:
            return answer.body.decode("utf-8", errors="replace")
        raise _protocol(answer, "sent an answer to {op} that is not valid JSON")
    if error is not None:
        raise _protocol(answer, "sent an error with a success status to {op}")
    return data


def fault(answer: Answer) -> ProviderFault:
    """The retryable fault for a 5xx, 408, 425 or 429 answer."""
    return ProviderFault(
        answer.provider,
        answer.operation,
        f"Provider {answer.provider} answered {answer.status} to {answer.operation}.",
        status=answer.status,
        retry_after=retry_after(answer.headers.get("Retry-After")),
    )


def refusal(provider: str, operation: str) -> ProviderRefusal:
    """The refusal of a provider that cannot host the request."""
    return ProviderRefusal(
        provider, operation, f"Provider {provider} cannot host this request."
    )


def not_found(provider: str, operation: str) -> ProviderNotFound:
    """The error for a resource the provider does not know."""
    return ProviderNotFound(
        provider,
        operation,
        f"Provider {provider} does not know the resource asked for by {operation}.",
    )


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, time.time() if now is None else now)
    if seconds is None or seconds != seconds:  # NaN never equals itself
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _seconds_until(text: str, now: float) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp() - now


def parse_model(answer: Answer, model: type[_M], data: Any) -> _M:
    """``data`` validated as ``model``; a protocol error when it does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        logger.debug(
            "c4 answer does not fit provider=%s operation=%s model=%s errors=%s",
            answer.provider,
            answer.operation,
            model.__name__,
            exc.errors(include_url=False, include_input=False),
        )
        raise missing_keys(answer) from exc


def parse_list(
    answer: Answer, model: type[_M], data: Any, keys: tuple[str, ...]
) -> list[_M]:
    """A list of ``model`` given bare, under one of ``keys``, or as None (empty)."""
    if data is None:
        return []
    if isinstance(data, dict):
        found = [data[key] for key in keys if key in data]
        if not found:
            raise missing_keys(answer)
        data = found[0] if found[0] is not None else []
    if not isinstance(data, list):
        raise missing_keys(answer)
    return [parse_model(answer, model, item) for item in data]


def expect_object(answer: Answer, data: Any) -> dict[str, Any]:
    """``data`` when it is a JSON object; a protocol error otherwise."""
    if not isinstance(data, dict):
        raise missing_keys(answer)
    return data


def missing_keys(answer: Answer) -> ProviderProtocolError:
    """The error for a body that lacks the keys or types the operation needs."""
    return _protocol(answer, "sent an answer to {op} without the expected fields")


def protocol_error(answer: Answer, what: str) -> ProviderProtocolError:
    """A protocol error about ``answer``; ``what`` may name the operation as {op}."""
    return _protocol(answer, what)


def _client_error(answer: Answer, c4_error: bool, expect: Expect) -> ProviderError:
    if answer.status == 404 and c4_error:
        return not_found(answer.provider, answer.operation)
    if answer.status == 404 and expect.resource:
        return not_found(answer.provider, answer.operation)
    if answer.status in (404, 405):
        return EndpointMissing(
            answer.provider,
            answer.operation,
            f"Provider {answer.provider} does not serve {answer.operation}.",
        )
    return _protocol(answer, f"rejected {{op}} with status {answer.status}")


def _protocol(answer: Answer, what: str) -> ProviderProtocolError:
    sentence = what.format(op=answer.operation)
    return ProviderProtocolError(
        answer.provider,
        answer.operation,
        f"Provider {answer.provider} {sentence}.",
    )


def _log_error_body(answer: Answer, data: dict[str, Any]) -> None:
    logger.debug(
        "c4 error body provider=%s operation=%s status=%s origin=%s error=%r "
        "source=%r trace=%r",
        answer.provider,
        answer.operation,
        answer.status,
        data.get("origin"),
        data.get("error"),
        data.get("meson_source"),
        data.get("trace"),
    )


ID_KEYS = (
    "uniqueID",
    "vm_uuid",
    "vid",
    "volume_uuid",
    "volume_id",
    "volumeID",
    "service_id",
    "id",
)
"""Keys under which providers name the resource an answer is about."""


def resource_id(data: Any) -> str | None:
    """The provider's identifier of the resource described by ``data``."""
    if not isinstance(data, dict):
        return None
    candidates = [data.get(key) for key in ID_KEYS]
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        candidates.append(metadata.get("id"))
    for value in candidates:
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                return text
    return None


def quote(answer: Answer, expect: Expect) -> Offer | Refusal:
    """The offer or refusal in a ``canallocate`` or ``cancreate`` answer."""
    try:
        data = decode(answer, expect)
    except ProviderRefusal as exc:
        return Refusal(answer.provider, str(exc), answer.elapsed_s)
    body = expect_object(answer, data)

    if "info" in body:
        verdict = parse_model(answer, AllocationAnswer, body)
        if not verdict.info.canallocate:
            detail = str(refusal(answer.provider, answer.operation))
            return Refusal(answer.provider, detail, answer.elapsed_s)
        return Offer(
            answer.provider,
            _price(verdict.info.price),
            verdict.config,
            answer.elapsed_s,
        )
    price = body.get("price", body)
    return Offer(
        answer.provider,
        _price(parse_model(answer, C4Price, price)),
        {},
        answer.elapsed_s,
    )


def _price(price: C4Price | None) -> Price | None:
    if price is None:
        return None
    return Price(price.currency, price.hourly, price.monthly)


def creation(
    answer: Answer, expect: Expect, model: type[BaseModel] | None = None
) -> Created | Accepted:
    """The result of a create: done at once, or accepted with a URL to poll.

    A resource returned at once must fit ``model`` when one is given.
    """
    body = expect_object(answer, decode(answer, expect))
    pooling = body.get("poolingURL", body.get("pollingURL"))
    ident = resource_id(body)

    if isinstance(pooling, str) and pooling.strip():
        path = safe_path(pooling, provider=answer.provider, operation=answer.operation)
        return Accepted(ident, path)
    if answer.status == 202 or ident is None:
        raise missing_keys(answer)
    if model is not None:
        parse_model(answer, model, body)
    return Created(ident, body)


PENDING_STATUSES = frozenset({202, 206, 425, 429})
"""Statuses that mean "not ready yet" when following a polling URL."""


def polled(answer: Answer) -> Pending | Ready:
    """What a polling URL says: not ready yet, or ready with the resource."""
    if answer.status in PENDING_STATUSES:
        return Pending(retry_after(answer.headers.get("Retry-After")))
    body = expect_object(answer, decode(answer, Expect(resource=True)))
    ident = resource_id(body)
    if ident is None:
        raise missing_keys(answer)
    return Ready(ident, body)
