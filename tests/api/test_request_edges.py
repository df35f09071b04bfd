"""Input at the edges of what HTTP and Python's JSON reader let through.

Each case once answered 500; each must be a 400 or 422 problem instead.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from tests.conftest import TENANT_KEY, Broker, BrokerFactory

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


def service_with(value: str) -> str:
    """A service create body whose config holds one value, written as given."""
    return '{"name": "b", "config": {"x": ' + value + "}}"


async def post_raw(broker: Broker, path: str, body: str) -> tuple[int, dict[str, str]]:
    """POST a body as it is, as the tenant; the status and the problem."""
    headers = {**broker.auth(), "Content-Type": "application/json"}
    async with broker.client.post(path, data=body.encode(), headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize(
    "number",
    ["NaN", "Infinity", "-Infinity", "1" * 5000, "1e309", "-1e999"],
    ids=["nan", "inf", "minus-inf", "5000-digits", "over-a-double", "under-a-double"],
)
async def test_number_json_cannot_carry_is_400(
    broker_factory: BrokerFactory, number: str
) -> None:
    """NaN, Infinity, numbers past a double and past the digit limit: 400."""
    broker = await broker_factory([])
    status, problem = await post_raw(broker, "/v1/services/s3", service_with(number))

    assert status == 400
    assert problem["type"] == "/docs#problem-invalid-json"


async def test_body_nested_past_the_parser_is_400(
    broker_factory: BrokerFactory,
) -> None:
    """A body nested deeper than the JSON reader can follow is invalid JSON."""
    broker = await broker_factory([])
    nested = "[" * 100_000 + "]" * 100_000

    status, problem = await post_raw(broker, "/v1/services/s3", service_with(nested))

    assert status == 400
    assert problem["errors"] == [
        {"field": "(body)", "message": "The JSON is nested too deeply."}
    ]


async def test_service_config_nested_too_deeply_is_422(
    broker_factory: BrokerFactory,
) -> None:
    """A service config that parses but nests past 32 levels is refused."""
    broker = await broker_factory([])
    body = {"name": "b", "config": {"x": json.loads("[" * 500 + "]" * 500)}}

    status, problem = await broker.call("POST", "/v1/services/s3", json=body)

    assert status == 422
    assert [e["field"] for e in problem["errors"]] == ["config"]


async def test_idempotency_key_outside_ascii_is_400(
    broker_factory: BrokerFactory,
) -> None:
    """An Idempotency-Key with bytes that are not printable ASCII is refused."""
    broker = await broker_factory([])
    server = broker.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    body = json.dumps(VM).encode()
    head = (
        f"POST /v1/vms HTTP/1.1\r\nHost: {server.host}\r\n"
        f"Authorization: Bearer {TENANT_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()

    writer.write(head + b"Idempotency-Key: k\xe9y\r\n\r\n" + body)
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"/docs#problem-invalid-key" in answer


async def test_non_ascii_api_key_is_401(broker_factory: BrokerFactory) -> None:
    """A key with bytes outside ASCII is an invalid key (401), not a crash."""
    broker = await broker_factory([])
    raw = (
        b"GET /v1/providers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cl\xe9\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(
        broker.client.server.host, broker.client.server.port
    )
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] == b"401"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/vms",
            {"name": "a", "cpu": {"cores": True}, "memory_mib": 512},
            "cpu.cores",
        ),
        (
            "/v1/vms",
            {"name": "a", "cpu": {"cores": "2"}, "memory_mib": 512},
            "cpu.cores",
        ),
        ("/v1/volumes", {"name": "a", "size_gib": 5, "bootable": "yes"}, "bootable"),
        ("/v1/volumes", {"name": "a", "size_gib": 5, "readonly": 1}, "readonly"),
    ],
    ids=["flag-for-cores", "text-for-cores", "text-for-flag", "number-for-flag"],
)
async def test_values_of_another_type_are_422(
    broker_factory: BrokerFactory, path: str, body: dict[str, object], field: str
) -> None:
    """A create body is taken as typed: no string or flag is read as a number."""
    broker = await broker_factory([])
    status, problem = await broker.call("POST", path, json=body)

    assert status == 422
    assert [e["field"] for e in problem["errors"]] == [field]
