"""The conformance probe against simulators of both dialects, and its CLI glue."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from broker.c4.probe import probe_config, probe_provider
from broker.c4.probe_cli import add_arguments, parse_headers, run
from broker.c4.probe_report import ProbeReport
from broker.sim import Simulator

StartSim = Callable[..., Awaitable[Simulator]]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Where ``python -m broker`` finds the package."""

CREATING = {
    ("POST", "/api/v1.0/register"),
    ("POST", "/api/v1.0/create"),
    ("POST", "/api/v1.0/s3/create"),
}


def _args(sim: Simulator, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="c4broker probe")
    add_arguments(parser)
    urls = sim.urls
    return parser.parse_args(
        [
            "--compute",
            urls["compute"],
            "--storage",
            urls["storage"],
            "--services",
            urls["services"],
            *extra,
        ]
    )


async def _probe(
    sim: Simulator, session: aiohttp.ClientSession, **options: object
) -> ProbeReport:
    provider = probe_config(**sim.urls, timeout_s=5.0)
    return await probe_provider(provider, session, **options)  # type: ignore[arg-type]


def _results(report: ProbeReport) -> dict[tuple[str, str], str]:
    return {(c.server, c.endpoint): c.result for c in report.checks}


async def test_docs_provider_is_usable(
    start_sim: StartSim, session: aiohttp.ClientSession
) -> None:
    """A docs-dialect provider passes with every required endpoint as documented."""
    sim = await start_sim(dialect="docs")
    report = await _probe(sim, session)
    assert report.usable
    assert report.dialect == {
        "compute": "either",
        "storage": "docs",
        "services": "docs",
    }
    required = [c for c in report.checks if c.required]
    assert {c.result for c in required} == {"ok"}


async def test_reference_provider_is_usable_through_variants(
    start_sim: StartSim, session: aiohttp.ClientSession
) -> None:
    """A reference-dialect provider passes, its variants named as such."""
    sim = await start_sim(dialect="reference", async_delay_s=0.05)
    report = await _probe(sim, session, max_poll_interval_s=0.05)
    assert report.usable
    assert set(report.dialect.values()) == {"reference"}
    results = _results(report)
    assert results[("storage", "POST /info")] == "variant"
    assert results[("storage", "POST /destroy")] == "variant"
    assert results[("services", "GET /s3/info")] == "variant"
    assert results[("compute", "follow poolingURL")] == "ok"
    assert results[("compute", "price")] == "variant"


async def test_probe_cleans_up(
    start_sim: StartSim, session: aiohttp.ClientSession
) -> None:
    """Everything the probe created is removed again."""
    sim = await start_sim()
    await _probe(sim, session)
    assert sim.state.vms == {}
    assert sim.state.volumes == {}
    assert sim.state.services == {}


async def test_probe_removes_creates_whose_answer_was_lost(
    start_sim: StartSim, session: aiohttp.ClientSession
) -> None:
    """A create the provider made but answered with 500 is swept up at the end."""
    sim = await start_sim()
    sim.faults.create_then_fail.update({"register", "create", "service_create"})
    report = await _probe(sim, session)
    assert not report.usable
    assert sim.state.vms == {}
    assert sim.state.volumes == {}
    assert sim.state.services == {}
    assert {c.server for c in report.checks if c.endpoint == "cleanup"} == {
        "compute",
        "storage",
        "services",
    }


async def test_read_only_creates_nothing(
    start_sim: StartSim, session: aiohttp.ClientSession, dialect: str
) -> None:
    """With read_only no create is sent, and the dialect is still detected."""
    sim = await start_sim(dialect=dialect)
    report = await _probe(sim, session, read_only=True)
    assert report.usable
    assert not CREATING & set(sim.calls)
    assert report.dialect["storage"] == dialect


async def test_slow_creation_is_reported(
    start_sim: StartSim, session: aiohttp.ClientSession
) -> None:
    """A create that never becomes ready within the wait makes it unusable."""
    sim = await start_sim(async_delay_s=600.0)
    report = await _probe(sim, session, async_wait_s=0.1, max_poll_interval_s=0.05)
    assert _results(report)[("compute", "follow poolingURL")] == "wrong"
    assert not report.usable
    assert sim.state.vms == {}


async def test_malformed_provider_is_unusable(
    start_sim: StartSim, capsys: pytest.CaptureFixture[str]
) -> None:
    """A provider answering garbage with 200 exits 1 with a table saying why."""
    sim = await start_sim()
    sim.faults.malformed = True
    assert await run(_args(sim)) == 1
    out = capsys.readouterr().out
    assert "usable: no" in out
    assert "not valid JSON" in out


async def test_run_prints_json_and_exits_0(
    start_sim: StartSim, capsys: pytest.CaptureFixture[str], dialect: str
) -> None:
    """``--json`` prints the documented document; a usable provider exits 0."""
    sim = await start_sim(dialect=dialect)
    assert await run(_args(sim, "--json", "--timeout", "5")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["usable"] is True
    assert set(document) == {"usable", "dialect", "checks"}
    assert {"server", "endpoint", "result", "detail"} <= set(document["checks"][0])


async def test_unreachable_provider_is_unusable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A compute URL where nothing listens exits 1."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--compute", "http://127.0.0.1:9", "--timeout", "1"])
    assert await run(args) == 1
    out = capsys.readouterr().out
    assert "could not be reached" in out
    assert "dialect: compute=unknown" in out


async def test_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A URL that is not http(s) exits 2 with a message on stderr."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert await run(parser.parse_args(["--compute", "ftp://x"])) == 2
    assert "http://" in capsys.readouterr().err


def test_headers_are_parsed() -> None:
    """``--header 'Name: value'`` becomes a header; a line without colon fails."""
    assert parse_headers(["Authorization: Bearer x:y"]) == {
        "Authorization": "Bearer x:y"
    }
    with pytest.raises(ValueError, match="Name: value"):
        parse_headers(["no colon"])


async def probe_command(
    *args: str, output: int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """``python -m broker probe ARGS`` as a subprocess, its output to ``output``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "broker",
        "probe",
        *args,
        cwd=REPO_ROOT,
        stdout=output,
        stderr=output,
    )


async def test_command_line_probe(start_sim: StartSim) -> None:
    """``python -m broker probe --json --read-only`` reports a usable provider."""
    sim = await start_sim(dialect="reference")
    urls = sim.urls
    process = await probe_command(
        "--compute",
        urls["compute"],
        "--storage",
        urls["storage"],
        "--read-only",
        "--json",
        output=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    document = json.loads(out)
    assert document["dialect"]["storage"] == "reference"


async def test_interrupted_probe_does_not_pass() -> None:
    """A probe stopped by SIGTERM before it could decide exits non-zero (130)."""
    reached = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def silent(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        held.append(writer)
        reached.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    process = await probe_command(
        "--compute", f"http://127.0.0.1:{port}", "--timeout", "30"
    )
    try:
        await asyncio.wait_for(reached.wait(), timeout=20)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=20) == 130
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for writer in held:
            writer.close()
        server.close()
