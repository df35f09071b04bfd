"""``c4broker demo``: its printed curl lines create, show and delete a VM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_base() -> int:
    """A base port whose three simulators' nine ports are all free."""
    for _ in range(50):
        base = free_port()
        if base + 30 > 65000:
            continue
        ports = [base + o + d for o in (0, 10, 20) for d in (0, 2, 7)]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@pytest.mark.timeout(60)
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_demo_curl_lines_work_as_printed(tmp_path: Path) -> None:
    """The three printed curl lines, run in one shell, create, show and delete a VM."""
    port = free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker",
            "demo",
            "--port",
            str(port),
            "--var",
            str(tmp_path / "var"),
            "--sim-base-port",
            str(free_base()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert demo.stdout is not None
        printed = []
        for line in demo.stdout:
            printed.append(line)
            if line.startswith("API documentation"):
                break
        curls = [
            line.strip() for line in printed if line.strip().startswith(("ID=", "curl"))
        ]
        assert len(curls) == 3, printed

        script = "set -e\n" + "\n".join(curls) + "\n"
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=40,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        vm_id = lines[0]
        shown = json.loads(lines[1])
        deleted = json.loads(lines[2])
        assert shown["id"] == vm_id
        assert shown["status"] == "active"
        assert deleted["status"] == "deleting"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=20)
        if demo.stdout is not None:
            demo.stdout.close()
    assert demo.returncode == 0
