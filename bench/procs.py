"""Processes of the benchmarks: simulators, the broker, a bare server, and wrk.

Each measured party runs in a process of its own, so that neither the
simulators nor the bench's own Python share the broker's event loop: the
simulators in one child (:mod:`bench.sim_host`), the broker as
``python -m broker serve``, load from wrk. Every wait here is bounded in
time, and every child is stopped when its ``with`` block ends.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

BENCH_KEY = "bench-key-0123456789"
ADMIN_KEY = "bench-admin-0123456789"
CLIENT_UUID = "5e96afa52c1a53348adc5c5663978058"
ADMIN_UUID = "00000000000000000000000000000001"
UNTHROTTLED = 1_000_000
"""requests_per_minute of the bench's tenants: load must not meet the limiter."""
UNLIMITED_JOBS = 1_000_000
"""max_jobs_in_flight of the bench's tenants: a backlog is measured, not refused."""

LUA_DIR = Path(__file__).resolve().parent / "lua"
SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "config" / "broker.yaml"
STARTUP_S = 60.0
STOP_S = 15.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    """The resident memory of a process, in MiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"No VmRSS for process {pid}.")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds(pids: Sequence[int]) -> float:
    """CPU seconds of this process, its ended children (wrk) and ``pids``."""
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    return own + sum(cpu_seconds(pid) for pid in pids)


class LoadMeter:
    """How busy the machine was with other people's work while a bench measured.

    The machine has two cores and may be shared: a figure taken while
    something else ran is not comparable with one taken on a quiet machine.
    """

    def __init__(self, *children: Child) -> None:
        self._pids = [child.pid for child in children]
        self._started = time.monotonic()
        self._busy = _busy_seconds()
        self._own = _own_seconds(self._pids)

    def others_cores(self) -> float:
        """Cores used on average by processes not of this bench since creation."""
        elapsed = time.monotonic() - self._started
        busy = _busy_seconds() - self._busy
        own = _own_seconds(self._pids) - self._own
        return max(0.0, busy - own) / elapsed


@dataclass
class Child:
    """A process the bench started; :meth:`stop` ends it for sure."""

    name: str
    process: subprocess.Popen[str]
    log: Path | None = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def rss_mib(self) -> float:
        """The child's resident memory, in MiB."""
        return rss_mib(self.pid)

    def check_alive(self) -> None:
        """Raise if the child has exited."""
        code = self.process.poll()
        if code is not None:
            where = f"; see {self.log}" if self.log else ""
            raise RuntimeError(f"{self.name} exited with {code}{where}.")

    def stop(self) -> int:
        """Ask the child to stop (SIGTERM), kill it if it will not; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_S)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        return self.process.returncode


def _python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _spawn(name: str, command: list[str], log: Path, cwd: Path) -> Child:
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=cwd,
            text=True,
        )
    return Child(name, process, log)


def _first_line(child: Child, timeout_s: float) -> str:
    """The first line the child writes to stdout, waiting at most ``timeout_s``."""
    stdout = child.process.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            raise RuntimeError(f"{child.name} said nothing in {timeout_s:g} s.")
    line = stdout.readline()
    if not line:
        child.check_alive()
        raise RuntimeError(f"{child.name} closed its output.")
    return line


@dataclass(frozen=True)
class SimInfo:
    """One simulated provider in the simulators' child: its name and URLs."""

    name: str
    urls: dict[str, str]


@contextmanager
def simulators(
    folder: Path, count: int, **options: float | int
) -> Iterator[tuple[Child, list[SimInfo]]]:
    """Start ``count`` simulators in one child process; stop it afterwards.

    ``options`` are :mod:`bench.sim_host` options with underscores
    (``latency``, ``error_rate``, ``async_delay``, ``cores``, ``memory_mib``).
    """
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    command = _python("bench.sim_host", f"--count={count}", *flags)
    child = _spawn("simulators", command, folder / "simulators.log", Path.cwd())
    try:
        listing = json.loads(_first_line(child, STARTUP_S + count))
        sims = [SimInfo(s["name"], s["urls"]) for s in listing["simulators"]]
        yield child, sims
    finally:
        child.stop()


def write_broker_config(
    folder: Path, sims: Sequence[SimInfo], *, admin: bool = True, **sections: Any
) -> Path:
    """broker.yaml and providers.yaml for these simulators; the broker.yaml path.

    The bench tenant (and the admin) may make a million requests a minute
    and have a million creates under way, so that the per-tenant limits
    never answer the load with 429: the benches measure the broker's work,
    not its refusals.
    """
    providers = [
        {"name": s.name, **s.urls, "regions": ["eu-west"], "timeout_s": 5} for s in sims
    ]
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": providers}))
    tenants = [
        {
            "name": "bench",
            "client_uuid": CLIENT_UUID,
            "api_keys": [BENCH_KEY],
            "requests_per_minute": UNTHROTTLED,
            "max_jobs_in_flight": UNLIMITED_JOBS,
        }
    ]
    if admin:
        tenants.append(
            {
                "name": "ops",
                "client_uuid": ADMIN_UUID,
                "role": "admin",
                "api_keys": [ADMIN_KEY],
                "requests_per_minute": UNTHROTTLED,
            }
        )
    config = {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "database": "broker.sqlite3",
        "providers_file": "providers.yaml",
        "tenants": tenants,
        **sections,
    }
    path = folder / "broker.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def shipped_sections(**overrides: dict[str, Any]) -> dict[str, Any]:
    """The placement, jobs and inventory sections of ``config/broker.yaml``.

    Benchmarks run the broker as it ships, except where ``overrides`` (a
    section name to the keys to change) says otherwise.
    """
    shipped = yaml.safe_load(SHIPPED_CONFIG.read_text())
    sections = {
        name: dict(shipped.get(name) or {})
        for name in ("placement", "jobs", "inventory")
    }
    for name, values in overrides.items():
        sections[name] = {**sections.get(name, {}), **values}
    return sections


@dataclass
class Broker:
    """A broker running as ``python -m broker serve``: its URL, process and log."""

    url: str
    child: Child

    @property
    def log(self) -> Path:
        """The broker's log file (its stderr)."""
        assert self.child.log is not None
        return self.child.log

    def wait_for_log(self, text: str, timeout_s: float, count: int = 1) -> None:
        """Wait until ``text`` appears ``count`` times in the broker's log."""
        deadline = time.monotonic() + timeout_s
        while self.log.read_text(errors="replace").count(text) < count:
            self.child.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"No {text!r} in the broker's log in {timeout_s} s.")
            time.sleep(0.1)

    def log_lines(self, *levels: str) -> list[str]:
        """The broker's log lines at these levels (ERROR, WARNING, ...)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if any(f" {lv} " in line for lv in levels)]


@contextmanager
def broker(
    folder: Path,
    sims: Sequence[SimInfo],
    *,
    log_level: str = "INFO",
    admin: bool = True,
    **sections: Any,
) -> Iterator[Broker]:
    """Run ``python -m broker serve`` on a config for these simulators."""
    path = write_broker_config(folder, sims, admin=admin, **sections)
    port = yaml.safe_load(path.read_text())["listen"]["port"]
    command = _python("broker", f"--log-level={log_level}", "serve", f"--config={path}")
    child = _spawn("broker", command, folder / "broker.log", folder)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, child)
        yield Broker(url, child)
    finally:
        child.stop()


@contextmanager
def bare_server(folder: Path, body: bytes) -> Iterator[tuple[Child, str]]:
    """Run :mod:`bench.bare_server` answering ``body``; yield it and its URL."""
    answer = folder / "bare-answer.json"
    answer.write_bytes(body)
    command = _python("bench.bare_server", f"--body={answer}")
    child = _spawn("bare server", command, folder / "bare.log", Path.cwd())
    try:
        url = json.loads(_first_line(child, STARTUP_S))["url"]
        wait_healthy(url, child)
        yield child, url
    finally:
        child.stop()


def wait_healthy(url: str, child: Child, timeout_s: float = STARTUP_S) -> None:
    """Poll ``GET /healthz`` every 50 ms until it answers 200, at most ``timeout_s``."""
    client = Api(url, timeout_s=1)
    for _ in range(int(timeout_s / 0.05)):
        child.check_alive()
        try:
            if client.call("GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} not healthy at {url} in {timeout_s:g} s.")


@dataclass
class Reply:
    """One answer of :class:`Api`: status, headers and decoded JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """A small blocking JSON client over one keep-alive connection.

    For the handful of sequential calls a bench makes around its
    measurements (never for load: that is wrk's job).
    """

    def __init__(self, url: str, key: str | None = None, timeout_s: float = 30):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = key
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request and read its answer; reconnect once if dropped."""
        sent = {**({"Authorization": f"Bearer {self.key}"} if self.key else {})}
        sent.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=sent)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        decoded = json.loads(raw) if raw.strip() else None
        return Reply(response.status, dict(response.getheaders()), decoded)

    def raw(self, path: str) -> bytes:
        """The body of ``GET path``, byte for byte."""
        conn = self._connection()
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return body

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout_s
            )
        return self._conn

    def close(self) -> None:
        """Close the connection (the next call opens another)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class WrkResult:
    """What one wrk run measured, from its ``WRK_JSON`` line and its text."""

    requests: int
    duration_s: float
    latency_ms: dict[str, float]
    counts: dict[str, int]
    errors: dict[str, int]
    text: str
    samples: dict[str, dict[str, float]] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.requests / self.duration_s

    @property
    def socket_errors(self) -> int:
        """Connect, read, write errors and timeouts together."""
        return sum(v for k, v in self.errors.items() if k != "status")

    @property
    def non_2xx(self) -> int:
        """Answers whose status was not 2xx or 3xx."""
        return self.errors.get("status", 0)


def wrk_command(
    url: str,
    *,
    script: str,
    args: Sequence[str] = (),
    connections: int,
    threads: int,
    duration_s: float,
    timeout_s: float = 10,
    headers: Sequence[str] = (),
) -> list[str]:
    """The wrk command line for one of the scripts of ``bench/lua``."""
    command = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(LUA_DIR / script),
    ]
    for header in headers:
        command += ["-H", header]
    return [*command, url, *(["--", *args] if args else [])]


def start_wrk(command: list[str]) -> subprocess.Popen[str]:
    """Start wrk in the background, finding ``benchlib.lua`` on its LUA_PATH."""
    env = {**os.environ, "LUA_PATH": f"{LUA_DIR}/?.lua;;"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish_wrk(
    process: subprocess.Popen[str], command: list[str], timeout_s: float
) -> WrkResult:
    """Wait at most ``timeout_s`` for wrk to end and read its results."""
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()}")
    return parse_wrk(stdout, command)


def run_wrk(url: str, **options: Any) -> WrkResult:
    """Run wrk to its end (see :func:`wrk_command` for the options)."""
    command = wrk_command(url, **options)
    limit = options["duration_s"] + options.get("timeout_s", 10) + 30
    return finish_wrk(start_wrk(command), command, limit)


def parse_wrk(text: str, command: list[str] | None = None) -> WrkResult:
    """Read the ``WRK_JSON`` line that ``benchlib.lua`` prints at the end."""
    line = next((ln for ln in text.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"No results in wrk's output:\n{text}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    latency = data["latency_us"]
    figures = {f"p{k}": v / 1000 for k, v in latency["percentiles"].items()}
    figures.update({k: latency[k] / 1000 for k in ("mean", "stdev", "min", "max")})
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        latency_ms=figures,
        counts={k: int(v) for k, v in data["counts"].items()},
        errors={k: int(v) for k, v in data["errors"].items()},
        text=text,
        samples=_histogram_figures(data.get("histogram_ms") or {}),
        command=command or [],
    )


def _histogram_figures(buckets: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per key, the count and percentiles of a ``"key bucket" -> count`` histogram.

    A percentile is the lower edge of the bucket it falls in (buckets are
    0.1 ms wide below 10 ms, 1 ms below 100 ms, 10 ms below 1 s).
    """
    by_key: dict[str, list[tuple[float, int]]] = {}
    for name, count in buckets.items():
        key, _, edge = name.rpartition(" ")
        by_key.setdefault(key, []).append((float(edge), int(count)))
    figures = {}
    for key, pairs in by_key.items():
        pairs.sort()
        total = sum(count for _, count in pairs)
        found: dict[str, float] = {"count": total, "max": pairs[-1][0]}
        for share in (50, 90, 99):
            rank, seen = math.ceil(share / 100 * total), 0
            for edge, count in pairs:
                seen += count
                if seen >= rank:
                    found[f"p{share}"] = edge
                    break
        figures[key] = found
    return figures


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` from 0 to 100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
