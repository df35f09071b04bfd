"""Log lines as an operator reads them: one per event, each field once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.conftest import BrokerFactory

from broker import logs


def test_a_field_the_message_names_is_not_repeated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A plain line that says provider=x gets no second provider=x from context."""
    logs.setup("INFO", "plain")
    try:
        logs.bind(provider="sim-a", job_id="j1")
        logging.getLogger("broker.test").info("call provider=%s", "sim-a")
    finally:
        logs.bind(provider=None, job_id=None)
        logging.getLogger().handlers.clear()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.count("provider=sim-a") == 1
    assert line.endswith("job_id=j1")


async def test_a_request_that_is_not_http_is_one_warning(
    broker_factory: BrokerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed request is refused with 400 and logged as one line, no stack."""
    broker = await broker_factory([])
    logs.setup("INFO", "plain")
    server = broker.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    logging.getLogger().handlers.clear()

    assert b" 400 " in status_line
    err = capsys.readouterr().err
    refused = [line for line in err.splitlines() if "malformed http request" in line]
    assert len(refused) == 1
    assert " WARNING aiohttp.server " in refused[0]
    assert "Traceback" not in err
