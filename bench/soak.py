"""Soak: creates, reads and deletes for minutes while providers fail 10 % of calls.

Three simulators in one child process answer 10 % of all calls with a 500
(``--error-rate``) and create VMs asynchronously (``--async-delay``); the
broker runs as ``python -m broker serve`` with the shipped configuration.
wrk sends ``--rate`` requests per second for ``--minutes`` (see
``lua/soak.lua``): 20 % creates, 60 % reads (``GET /v1/vms?limit=20`` and
``GET /v1/jobs?limit=20``) and 20 % deletes of VMs the script created a
few seconds earlier, whose ids it reads from the create answers. Keeping
the whole mix in wrk keeps Python load off the two cores; a delete refused
with 409 (the VM is still being created) is simply retried later.

Meanwhile the broker's resident memory is read every minute. Afterwards,
once no job is queued or running, every VM on the simulators is matched
with the broker's records: each resource the broker holds as active must
have exactly one VM carrying its id in its name (``<name>--<id>``) on the
provider the broker names, and no VM may carry an id that the broker does
not know or holds as deleted or failed. Prints the request counts by
operation and status, the server errors, the memory samples, the check's
findings and the broker's error log lines.

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 100]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import (
    ADMIN_KEY,
    BENCH_KEY,
    CLIENT_UUID,
    Api,
    Broker,
    LoadMeter,
    SimInfo,
    WrkResult,
    broker,
    finish_wrk,
    shipped_sections,
    simulators,
    start_wrk,
    wrk_command,
)
from broker.specs import resource_id_in

CONNECTIONS = 32
DELETE_AFTER_S = 3
SETTLE_S = 600
SAMPLE_EVERY_S = 60


@dataclass
class Memory:
    """Resident memory samples of the broker: (seconds since start, MiB)."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def take(self, running: Broker, started: float) -> None:
        """Read the broker's RSS now."""
        sample = (time.monotonic() - started, running.child.rss_mib())
        self.samples.append(sample)
        print(f"  rss at {sample[0]:>5.0f} s: {sample[1]:.1f} MiB", flush=True)


def load(running: Broker, args: argparse.Namespace, memory: Memory) -> WrkResult:
    """Run the soak's wrk, reading the broker's memory every minute meanwhile."""
    seconds = args.minutes * 60
    command = wrk_command(
        running.url,
        script="soak.lua",
        args=[f"{args.rate:g}", BENCH_KEY, str(DELETE_AFTER_S)],
        connections=CONNECTIONS,
        threads=1,
        duration_s=seconds,
    )
    started = time.monotonic()
    memory.take(running, started)
    process = start_wrk(command)
    next_sample = started + SAMPLE_EVERY_S
    while process.poll() is None and time.monotonic() < started + seconds + 60:
        time.sleep(min(1.0, max(0.0, next_sample - time.monotonic())))
        if time.monotonic() >= next_sample:
            memory.take(running, started)
            next_sample += SAMPLE_EVERY_S
    return finish_wrk(process, command, timeout_s=60)


def settle(api: Api) -> float:
    """Seconds until no job is queued or running (at most SETTLE_S)."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_S:
        busy = [
            api.call("GET", f"/v1/jobs?status={status}&limit=1").body["items"]
            for status in ("queued", "running")
        ]
        if not any(busy):
            return time.monotonic() - started
        time.sleep(1)
    raise RuntimeError(f"Jobs still under way {SETTLE_S} s after the load.")


def broker_vms(api: Api) -> dict[str, dict[str, Any]]:
    """Every VM resource of the bench tenant, by id, all pages."""
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    for _ in range(10_000):
        reply = api.call("GET", f"/v1/vms?limit=1000{cursor}")
        found.update((item["id"], item) for item in reply.body["items"])
        if reply.body["next_cursor"] is None:
            return found
        cursor = f"&cursor={reply.body['next_cursor']}"
    raise RuntimeError("Too many pages of VMs.")


def sim_vms(sims: list[SimInfo]) -> list[tuple[str, dict[str, Any]]]:
    """Every VM of the bench tenant on every simulator, as (provider, VM).

    The simulators fail 10 % of calls on purpose, so each listing is tried
    until it answers, at most 50 times.
    """
    found = []
    for sim in sims:
        api = Api(sim.urls["compute"])
        path = f"/api/v1.0/running?client_uuid={CLIENT_UUID}"
        for _ in range(50):
            reply = api.call("GET", path)
            if reply.status in (200, 204):
                break
        else:
            raise RuntimeError(f"{sim.name} would not list its VMs.")
        vms = reply.body["vms"] if reply.status == 200 else []
        found += [(sim.name, vm) for vm in vms]
        api.close()
    return found


def check(
    resources: dict[str, dict[str, Any]], vms: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Match provider VMs with broker resources; the findings."""
    by_id: dict[str, list[tuple[str, dict[str, Any]]]] = collections.defaultdict(list)
    untagged = []
    for provider, vm in vms:
        rid = resource_id_in(vm["req_json"]["vm_name"])
        if rid is None:
            untagged.append(vm["uniqueID"])
        else:
            by_id[rid].append((provider, vm))
    active = {rid: r for rid, r in resources.items() if r["status"] == "active"}
    lost = sorted(rid for rid in active if not by_id.get(rid))
    doubled = sorted(rid for rid, found in by_id.items() if len(found) > 1)
    elsewhere = sorted(
        rid
        for rid, r in active.items()
        if by_id.get(rid) and by_id[rid][0][0] != r["provider"]
    )
    wrong_id = sorted(
        rid
        for rid, r in active.items()
        if by_id.get(rid) and by_id[rid][0][1]["uniqueID"] != r["provider_id"]
    )
    orphans = sorted(rid for rid in by_id if rid not in active)
    return {
        "broker resources": len(resources),
        "by status": dict(collections.Counter(r["status"] for r in resources.values())),
        "by origin": dict(collections.Counter(r["origin"] for r in resources.values())),
        "active": len(active),
        "provider VMs": len(vms),
        "counts match": len(active) == len(vms),
        "lost (active, no VM)": lost,
        "doubled (two VMs, one id)": doubled,
        "orphans (VM of an id not active)": [
            f"{rid}:{resources[rid]['status'] if rid in resources else 'unknown'}"
            for rid in orphans
        ],
        "VM on another provider than recorded": elsewhere,
        "VM id differs from provider_id": wrong_id,
        "VMs without a broker id": untagged,
    }


def print_traffic(result: WrkResult, minutes: float) -> None:
    """Request counts by operation and status, the rate and the server errors."""
    print(
        f"traffic: {result.requests} answers in {result.duration_s:.0f} s"
        f" = {result.rate:.1f}/s over {minutes:g} min; latency p50"
        f" {result.latency_ms['p50']:.1f} ms, p99 {result.latency_ms['p99']:.1f} ms,"
        f" max {result.latency_ms['max']:.1f} ms"
    )
    for key in sorted(result.counts):
        print(f"  {key}: {result.counts[key]}")
    for op, figures in sorted(result.samples.items()):
        print(
            f"  latency of {op}: p50 {figures['p50']:.1f} ms, p90 {figures['p90']:.1f}"
            f" ms, p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms"
            f" ({figures['count']:.0f} answers)"
        )
    print(
        f"server errors (5xx): {result.counts.get('5xx', 0)};"
        f" client errors (4xx): {result.counts.get('4xx', 0)};"
        f" wrk non-2xx/3xx: {result.non_2xx}; socket errors: {result.errors}"
    )


def print_memory(memory: Memory, end_mib: float) -> None:
    """Start, end and growth of the broker's resident memory."""
    start = memory.samples[0][1]
    after_first = [mib for at, mib in memory.samples if at >= SAMPLE_EVERY_S - 1]
    print(
        f"broker rss: start {start:.1f} MiB, end {end_mib:.1f} MiB"
        f" (+{end_mib - start:.1f}), max {max(m for _, m in memory.samples):.1f} MiB"
    )
    if len(after_first) >= 2:
        print(
            f"broker rss from the first minute to the end of the load:"
            f" {after_first[0]:.1f} -> {after_first[-1]:.1f} MiB"
        )


def print_findings(findings: dict[str, Any]) -> None:
    """The lost/doubled/orphan check, with at most ten ids of each problem."""
    for key, value in findings.items():
        if isinstance(value, list):
            print(f"  {key}: {len(value)} {value[:10] if value else ''}")
        else:
            print(f"  {key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--error-rate", type=float, default=0.1)
    parser.add_argument("--async-delay", type=float, default=0.5)
    parser.add_argument("--keep", type=Path, help="folder to keep the logs in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = args.keep or Path(name)
        folder.mkdir(parents=True, exist_ok=True)
        options = {
            "error_rate": args.error_rate,
            "async_delay": args.async_delay,
            "cores": 1_000_000,
            "memory_mib": 1_000_000_000,
        }
        with (
            simulators(folder, 3, **options) as (sims_child, sims),
            broker(folder, sims, **shipped_sections()) as running,
        ):
            print(
                f"soak: {args.rate:g} requests/s for {args.minutes:g} min,"
                f" 3 providers failing {args.error_rate:.0%} of calls,"
                f" creating in {args.async_delay:g} s; wrk -t1 -c{CONNECTIONS}",
                flush=True,
            )
            meter = LoadMeter(running.child, sims_child)
            memory = Memory()
            result = load(running, args, memory)
            others = meter.others_cores()
            api = Api(running.url, BENCH_KEY)
            settled = settle(api)
            end_mib = running.child.rss_mib()
            findings = check(broker_vms(api), sim_vms(sims))
            discovered = Api(running.url, ADMIN_KEY).call(
                "GET", "/v1/inventory?origin=discovered&limit=1000"
            )
            errors = running.log_lines("ERROR", "CRITICAL")
            warnings = running.log_lines("WARNING")
        print_traffic(result, args.minutes)
        print_memory(memory, end_mib)
        print(f"jobs settled {settled:.1f} s after the load")
        print("resources after every job ended:")
        print_findings(findings)
        print(f"  discovered by the inventory: {len(discovered.body['items'])}")
        print(f"broker log: {len(errors)} ERROR lines, {len(warnings)} WARNING lines")
        for line in errors[:10]:
            print(f"  {line[:300]}")
        print(f"other processes used {others:.2f} cores on average during the load")


if __name__ == "__main__":
    main()
