"""Judging answers: the rules of :mod:`broker.c4.classify` on crafted answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.c4.classify import EndpointMissing, Expect
from broker.c4.models import C4Vm
from broker.c4.outcome import Accepted, Pending, Ready
from broker.errors import (
    ProviderFault,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRefusal,
)

TRACE = "Traceback: secret internals at /srv/meson/db.py"


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    """An answer of ``sim-a`` to ``op`` with a JSON (or raw bytes) body."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if body is None:
        raw = b""
    return Answer("sim-a", "op", status, headers or {}, raw, 0.01)


def c4_error(message: str) -> dict[str, Any]:
    """A C4 error body with a stack trace."""
    return {"origin": "MESON", "error": message, "trace": TRACE}


def test_retry_after_in_seconds() -> None:
    """A number of seconds is taken as is."""
    assert classify.retry_after("5") == 5.0


def test_retry_after_as_http_date() -> None:
    """An HTTP date becomes the seconds left until it."""
    moment = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    assert classify.retry_after(format_datetime(moment, usegmt=True), now) == 10.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("soon", None), ("-3", 0.0), ("99999999", 3600.0), ("nan", None)],
)
def test_retry_after_odd_values(value: str | None, expected: float | None) -> None:
    """Garbage is ignored, negatives clamp to zero, huge waits are capped."""
    assert classify.retry_after(value) == expected


def test_error_body_with_status_200_is_a_protocol_error() -> None:
    """An error sent with a success status is not a success."""
    with pytest.raises(ProviderProtocolError):
        classify.decode(answer(200, c4_error("boom")))


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"1e999"])
def test_numbers_json_cannot_carry_are_a_protocol_error(number: bytes) -> None:
    """A value no JSON answer could repeat never reaches a resource's details."""
    with pytest.raises(ProviderProtocolError):
        classify.decode(answer(200, b'{"vms": [], "price": ' + number + b"}"))


def test_fault_message_hides_trace_and_error_text() -> None:
    """A 5xx is a fault whose message says nothing of the provider's text."""
    with pytest.raises(ProviderFault) as caught:
        classify.decode(answer(500, c4_error("db password wrong")))
    assert str(caught.value) == "Provider sim-a answered 500 to op."
    assert caught.value.status == 500


def test_config_not_available_is_a_refusal_when_refusable() -> None:
    """ "Config is not available" refuses a quote or create, whatever the status."""
    for status in (200, 409, 500):
        body = c4_error("CONFIG IS NOT AVAILABLE for this host")
        with pytest.raises(ProviderRefusal):
            classify.decode(answer(status, body), Expect(refusable=True))


def test_config_not_available_elsewhere_is_not_a_refusal() -> None:
    """The same text from an operation that cannot refuse stays a fault."""
    with pytest.raises(ProviderFault):
        classify.decode(answer(500, c4_error("Config is not available")))


def test_not_found_needs_a_c4_error_body() -> None:
    """A 404 with a C4 error is a not-found; a bare 404 is a missing endpoint."""
    with pytest.raises(ProviderNotFound):
        classify.decode(answer(404, c4_error("No volume v1.")))
    with pytest.raises(EndpointMissing):
        classify.decode(answer(404, {"detail": "Not Found"}))
    with pytest.raises(EndpointMissing):
        classify.decode(answer(405, {"detail": "Method Not Allowed"}))


def test_bare_404_of_a_resource_lookup_is_not_found() -> None:
    """For a lookup that has no other variant, any 404 means not found."""
    with pytest.raises(ProviderNotFound):
        classify.decode(answer(404, {"detail": "Not Found"}), Expect(resource=True))


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 403, 409, 422])
def test_other_statuses_are_protocol_errors(status: int) -> None:
    """Redirects and client errors are answers the broker cannot use."""
    with pytest.raises(ProviderProtocolError):
        classify.decode(answer(status, {"detail": "x"}))


def test_text_is_accepted_only_where_expected() -> None:
    """A plain-text body is a protocol error unless the operation allows text."""
    assert classify.decode(answer(200, b"hello"), Expect(text=True)) == "hello"
    with pytest.raises(ProviderProtocolError):
        classify.decode(answer(200, b"hello"))


def test_accepted_without_polling_url_is_a_protocol_error() -> None:
    """A 202 that names no URL to follow cannot be followed."""
    with pytest.raises(ProviderProtocolError):
        classify.creation(answer(202, {"vm_uuid": "v1"}), Expect())


def test_accepted_keeps_only_a_safe_path() -> None:
    """A 202's poolingURL is reduced to its safe path."""
    result = classify.creation(
        answer(202, {"vm_uuid": "v1", "poolingURL": "https://api/v1.0/running/v1"}),
        Expect(),
    )
    assert result == Accepted("v1", "/api/v1.0/running/v1")


@pytest.mark.parametrize("status", [202, 206, 425, 429])
def test_polling_statuses_that_mean_pending(status: int) -> None:
    """202, 206, 425 and 429 on a polling URL mean "not yet", with Retry-After."""
    result = classify.polled(answer(status, {}, {"Retry-After": "2"}))
    assert result == Pending(2.0)


def test_polling_ready_needs_an_id() -> None:
    """A ready resource must say who it is."""
    assert isinstance(classify.polled(answer(200, {"uniqueID": "v1"})), Ready)
    with pytest.raises(ProviderProtocolError):
        classify.polled(answer(200, {"state": "running"}))


def test_created_resource_must_fit_its_model() -> None:
    """A 200 create whose resource has the wrong shape is a protocol error."""
    with pytest.raises(ProviderProtocolError):
        classify.creation(
            answer(200, {"uniqueID": "v1", "req_json": 5}), Expect(), C4Vm
        )
