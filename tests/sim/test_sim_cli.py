"""The ``c4broker sim`` command's options and its run-until-cancelled loop."""

from __future__ import annotations

import argparse
import asyncio
import logging

import aiohttp
import pytest

from broker.sim import cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_the_c4_ports_on_localhost() -> None:
    """Without options the servers listen on 127.0.0.1:7777, 7772 and 7770."""
    args = _parse("--name", "p")
    assert (args.host, args.compute_port, args.storage_port, args.services_port) == (
        "127.0.0.1",
        7777,
        7772,
        7770,
    )
    assert args.dialect == "docs"


def test_options_reach_the_config_and_faults() -> None:
    """Prices, capacity, regions and faults on the command line are honoured."""
    args = _parse(
        "--name", "p", "--dialect", "reference", "--regions", "a, b",
        "--price-core-hour", "0.5", "--cores", "8", "--async-delay", "1.5",
        "--latency", "0.1", "--error-rate", "0.2", "--malformed", "--seed", "7",
    )  # fmt: skip
    config = cli.config_from(args)
    assert config.regions == ["a", "b"]
    assert config.dialect == "reference"
    assert (config.price_core_hour, config.cores, config.seed) == (0.5, 8, 7)
    assert config.async_delay_s == 1.5
    faults = cli.faults_from(args)
    assert (faults.latency_s, faults.error_rate, faults.malformed) == (0.1, 0.2, True)


class _UrlCatcher(logging.Handler):
    """Collect the URLs the command logs, and signal once all three are known."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.urls: dict[str, str] = {}
        self.ready = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if record.msg.startswith("sim listening") and isinstance(args, tuple):
            self.urls[str(args[1])] = str(args[2])
            if len(self.urls) == 3:
                self.ready.set()


async def test_run_serves_until_cancelled() -> None:
    """``run`` logs three URLs, serves them, and stops when cancelled."""
    catcher = _UrlCatcher()
    logger = logging.getLogger("broker.sim.cli")
    logger.addHandler(catcher)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    args = _parse(
        "--name", "p", "--compute-port", "0", "--storage-port", "0",
        "--services-port", "0",
    )  # fmt: skip
    task = asyncio.create_task(cli.run(args))
    try:
        await asyncio.wait_for(catcher.ready.wait(), timeout=5)
        async with (
            aiohttp.ClientSession() as http,
            http.get(catcher.urls["services"] + "/") as resp,
        ):
            assert await resp.text() == "hello"
    finally:
        task.cancel()
        logger.removeHandler(catcher)
        logger.setLevel(previous_level)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_refuses_a_bad_configuration() -> None:
    """An invalid option combination ends ``run`` with exit status 2."""
    args = _parse("--name", "p", "--kinds", "vm,teleporter")
    assert await cli.run(args) == 2
