"""Schemathesis fuzzes the live broker against the OpenAPI document it serves.

Two simulated providers, one per C4 dialect, and the broker run for real on
free ports in a background thread with its own event loop, because
Schemathesis calls the API over HTTP from synchronous code. Every operation
of the document is fuzzed with a fixed seed and a bounded number of
examples, once with a tenant's key and once with an admin's.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from aiohttp import web
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import Case
from tests.conftest import ADMIN_KEY, TENANT_KEY, broker_config, provider_entry

from broker.api.app import create_app
from broker.api.openapi import document
from broker.config import load_config
from broker.sim import SimConfig, Simulator

# Hypothesis caches what it learns of the source and of Unicode under a
# .hypothesis folder of the working directory; keep the checkout clean.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "c4broker-hypothesis")

SEED = 20261203
MAX_EXAMPLES = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
START_TIMEOUT_S = 30
UNLIMITED_RATE = 10**9


class LiveBroker:
    """Simulators and a broker served from a thread with its own event loop."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="live-broker")
        self._served: Future[None] | None = None

    def start(self) -> None:
        """Start serving; return once the broker takes requests."""
        self._served = self._pool.submit(asyncio.run, self._serve())
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("The broker did not start in time.")
        if self._served.done():
            self._served.result()
            raise RuntimeError("The broker stopped as soon as it started.")

    def stop(self) -> None:
        """Shut the broker and the simulators down; raise what failed meanwhile."""
        served = self._served
        if served is None:
            return
        if not served.done() and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        try:
            served.result(START_TIMEOUT_S)
        finally:
            self._pool.shutdown(wait=False)

    async def _serve(self) -> None:
        try:
            await self._serve_until_stopped()
        finally:
            self._ready.set()

    async def _serve_until_stopped(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            sims = [
                await stack.enter_async_context(Simulator(config))
                for config in (
                    SimConfig(name="sim-docs", dialect="docs"),
                    SimConfig(name="sim-ref", dialect="reference"),
                )
            ]
            app = create_app(load_config(fuzz_broker_config(self.folder, sims)))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"
            self._ready.set()
            await self._stop.wait()


def fuzz_broker_config(folder: Path, sims: list[Simulator]) -> Path:
    """The test broker's configuration, with rate limits out of the fuzzer's way.

    A fuzz run sends thousands of requests a minute per key; at the default
    rate most would be answered 429 and explore nothing else.
    """
    path = broker_config(folder, [provider_entry(s) for s in sims])
    config = yaml.safe_load(path.read_text())
    for tenant in config["tenants"]:
        tenant["requests_per_minute"] = UNLIMITED_RATE
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def live_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a broker serving two simulators, one per dialect."""
    live = LiveBroker(tmp_path_factory.mktemp("fuzz"))
    live.start()
    yield live.url
    live.stop()


def fuzz_config() -> schemathesis.Config:
    """Seeded, bounded generation that writes nothing to disk; the four checks."""
    checks: dict[str, object] = {"enabled": False}
    checks.update({name: {"enabled": True} for name in CHECKS})
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": 70,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": checks,
        }
    )


# Built from the document in process rather than fetched from the live
# broker: Schemathesis' fixture-based loader breaks on pytest 9.2's node ids,
# and an eager schema is needed at collection, before any server runs. The
# first test below proves that the broker serves this very document.
schema = schemathesis.openapi.from_dict(document(), config=fuzz_config())


def test_fuzzed_document_is_the_served_one(live_broker: str) -> None:
    """The live broker serves exactly the document the fuzz tests are built from."""
    served = requests.get(f"{live_broker}/v1/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == document()


@pytest.mark.parametrize("api_key", [TENANT_KEY, ADMIN_KEY], ids=["tenant", "admin"])
@schema.parametrize()
def test_api_conforms_to_its_document(
    case: Case, live_broker: str, api_key: str
) -> None:
    """Every answer to generated input is documented, typed and never a 500."""
    case.call_and_validate(
        base_url=live_broker, headers={"Authorization": f"Bearer {api_key}"}
    )
