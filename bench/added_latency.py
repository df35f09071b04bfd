"""Added latency: a VM create through the broker against calling the simulator.

Every series runs at ``--rate`` requests per second (default 200) for
``--seconds`` after a short warm-up, paced by wrk's ``delay()`` hook (see
``lua/paced.lua``), on a fresh simulator process (capacity for millions of
VMs, no added latency) and, where the broker is involved, a fresh broker
process with the shipped configuration. The series:

``register``
    ``POST /api/v1.0/register`` straight to the simulator, with the body the
    broker itself would send (built with the broker's own C4 models).
``canallocate``
    ``GET /api/v1.0/canallocate`` straight to the simulator: the quote the
    broker asks for before every create.
``broker wait``
    ``POST /v1/vms?wait=5``: the broker stores the job, a worker places it
    (one quote), forwards it (one register) and records the result, and only
    then does the broker answer 201. This is the synchronous path.
``broker 202``
    ``POST /v1/vms``: the broker answers 202 once the job is stored; the
    forward happens afterwards. The bench then waits for the jobs to drain
    and reports how long that took, since at this rate they compete with the
    answers for the same process.

Prints each series' achieved rate (wrk's answers per second: below the
asked rate when the target cannot keep up, as then every connection waits
for an answer), statuses and latency percentiles, then what the
synchronous path adds over a direct register (p50 and p99), the target
being a p99 under 5 ms at 200 requests per second. ``--rates`` runs the
whole set at each rate: by default at 200/s and again at 20/s, a load the
broker keeps up with, so that its own cost shows apart from queueing.

    .venv/bin/python -m bench.added_latency [--rates 200,20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.procs import (
    BENCH_KEY,
    CLIENT_UUID,
    Api,
    Child,
    LoadMeter,
    WrkResult,
    broker,
    run_wrk,
    shipped_sections,
    simulators,
)
from broker.c4.models import VmRegister, VmRequest
from broker.specs import VmCreate, authentication, vm_requirements

CREATE = {"name": "lat", "cpu": {"cores": 1}, "memory_mib": 512}
CONNECTIONS = 16
WARMUP_S = 2
DRAIN_S = 300
SIM_OPTIONS = {"cores": 1_000_000, "memory_mib": 1_000_000_000}
C4_HEADERS = [
    "Content-Type: application/json",
    "service-country: eu-west",
    "Async: true",
]


def c4_bodies() -> dict[str, bytes]:
    """The quote and register bodies the broker sends for ``CREATE``."""
    body = VmCreate.model_validate(CREATE)
    req = vm_requirements(body)
    quote = VmRequest(client_uuid=CLIENT_UUID, req=req).to_wire()
    register = VmRegister(
        client_uuid=CLIENT_UUID,
        vm_name=f"lat--{'0' * 32}",
        req=req.to_wire(),
        volumes=[],
        authentication=authentication(body),
    ).to_wire()
    return {
        "canallocate": json.dumps(quote).encode(),
        "register": json.dumps(register).encode(),
    }


@dataclass
class Series:
    """One measured series: its name, wrk's result and what followed it."""

    name: str
    result: WrkResult
    others_cores: float
    drain_s: float | None = None


@dataclass
class Stack:
    """The processes of one series: a simulator and maybe a broker."""

    folder: Path
    compute: str
    children: list[Child]
    broker_url: str | None = None


@contextmanager
def stack(with_broker: bool) -> Iterator[Stack]:
    """A fresh simulator (and broker) in a fresh folder."""
    with tempfile.TemporaryDirectory() as name, ExitStack() as stop:
        folder = Path(name)
        child, sims = stop.enter_context(simulators(folder, 1, **SIM_OPTIONS))
        found = Stack(folder, sims[0].urls["compute"], [child])
        if with_broker:
            running = stop.enter_context(broker(folder, sims, **shipped_sections()))
            found.broker_url = running.url
            found.children.append(running.child)
        yield found


def paced(
    url: str, rate: float, seconds: float, method: str, body: Path, headers: list[str]
) -> WrkResult:
    """wrk at ``rate`` requests per second on one thread."""
    return run_wrk(
        url,
        script="paced.lua",
        args=[f"{rate:g}", method, str(body), *headers],
        connections=CONNECTIONS,
        threads=1,
        duration_s=seconds,
    )


def run_series(name: str, rate: float, seconds: float) -> Series:
    """Start a fresh stack, warm it up, measure one series."""
    with stack(with_broker=name.startswith("broker")) as found:
        body_file = found.folder / "body.json"
        if name in ("register", "canallocate"):
            body_file.write_bytes(c4_bodies()[name])
            method = "POST" if name == "register" else "GET"
            url = f"{found.compute}/api/v1.0/{name}"
            headers = C4_HEADERS
        else:
            assert found.broker_url is not None
            body_file.write_text(json.dumps(CREATE))
            method = "POST"
            query = "?wait=5" if name == "broker wait" else ""
            url = f"{found.broker_url}/v1/vms{query}"
            headers = [
                "Content-Type: application/json",
                f"Authorization: Bearer {BENCH_KEY}",
            ]
        paced(url, rate, WARMUP_S, method, body_file, headers)
        meter = LoadMeter(*found.children)
        result = paced(url, rate, seconds, method, body_file, headers)
        series = Series(name, result, meter.others_cores())
        if name == "broker 202":
            assert found.broker_url is not None
            series.drain_s = drain(found.broker_url)
        return series


def drain(url: str) -> float:
    """Seconds until no job of the bench tenant is queued or running."""
    api = Api(url, BENCH_KEY)
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_S:
        busy = [
            api.call("GET", f"/v1/jobs?status={status}&limit=1").body["items"]
            for status in ("queued", "running")
        ]
        if not any(busy):
            api.close()
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"Jobs still running after {DRAIN_S} s.")


def describe(series: Series) -> str:
    """One line about a series."""
    result, lat = series.result, series.result.latency_ms
    statuses = ",".join(f"{k}:{v}" for k, v in sorted(result.counts.items()))
    line = (
        f"  {series.name:<12} {result.rate:>6.1f}/s  p50 {lat['p50']:>7.2f}"
        f"  p90 {lat['p90']:>7.2f}  p99 {lat['p99']:>7.2f}  max {lat['max']:>7.2f} ms"
        f"  statuses {statuses}  socket errors {result.socket_errors}"
        f"  others {series.others_cores:.2f} cores"
    )
    if series.drain_s is not None:
        line += f"  jobs drained {series.drain_s:.1f} s after the load"
    return line


def compare(found: dict[str, Series]) -> None:
    """What the synchronous path adds over a direct register, and the 202 path."""
    direct, sync = found["register"].result, found["broker wait"].result
    quote = found["canallocate"].result
    for p in ("p50", "p99"):
        added = sync.latency_ms[p] - direct.latency_ms[p]
        net = added - quote.latency_ms[p]
        print(
            f"  added by the broker's synchronous path at {p}: {added:.2f} ms"
            f" ({net:.2f} ms beyond the quote's own {quote.latency_ms[p]:.2f} ms)"
        )
    accept = found["broker 202"].result.latency_ms
    print(
        f"  202 acceptance: p50 {accept['p50']:.2f} ms, p99 {accept['p99']:.2f} ms"
        " (all of it the broker's)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,20")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(
        f"creates for {args.seconds:g} s per series (after {WARMUP_S} s warm-up),"
        f" wrk -t1 -c{CONNECTIONS} paced; latency in ms; target: p99 added under"
        " 5 ms at 200/s"
    )
    for rate in (float(r) for r in args.rates.split(",")):
        print(f"at {rate:g} requests/s:")
        found = {}
        for name in ("register", "canallocate", "broker wait", "broker 202"):
            found[name] = run_series(name, rate, args.seconds)
            print(describe(found[name]), flush=True)
        compare(found)


if __name__ == "__main__":
    main()
