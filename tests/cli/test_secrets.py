"""Secrets (tenant keys, provider header values, passwords) never leave the broker."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from tests.conftest import SimFactory, broker_config, provider_entry
from tests.crash.test_kill import BrokerProcess, free_port

from broker import logs

CANARY_HEADER = "canary-header-value-7f3a9c"
CANARY_KEY = "canary-tenant-key-51bd0e"
CANARY_PASSWORD = "canary-password-c0ffee"


@pytest.mark.timeout(60)
async def test_canaries_never_appear_in_logs_metrics_or_answers(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Through creates, failures and debug logging, no canary leaves the broker."""
    good = await sim_factory("good")
    bad = await sim_factory("bad", price_core_hour=0.0001)
    bad.faults.fail_always["register"] = 500
    port = free_port()
    entries = [
        provider_entry(s, headers={"Authorization": f"Bearer {CANARY_HEADER}"})
        for s in (good, bad)
    ]
    path = broker_config(tmp_path, entries, listen={"host": "127.0.0.1", "port": port})
    path.write_text(path.read_text().replace("acme-key-0123456789", CANARY_KEY))
    broker = BrokerProcess(
        path, port, extra_args=["--log-level", "DEBUG", "--log-format", "json"]
    )
    broker.auth = {"Authorization": f"Bearer {CANARY_KEY}"}
    await broker.start()
    answers = []
    try:
        vm = {
            "name": "web-1",
            "cpu": {"cores": 1},
            "memory_mib": 512,
            "auth": {"username": "ops", "password": CANARY_PASSWORD},
        }
        status, created = await broker.call("POST", "/v1/vms?wait=10", json=vm)
        answers.append(json.dumps(created))
        assert status == 201
        _, job = await broker.call("GET", created["job"]["href"])
        answers.append(json.dumps(job))
        for path_ in ("/v1/providers", "/v1/vms", "/v1/jobs", "/v1/inventory"):
            answers.append(json.dumps((await broker.call("GET", path_))[1]))
        answers.append(await broker.text("/metrics"))
    finally:
        await broker.stop()

    assert any(h.endswith("/register") for _, h in bad.calls)
    not_json = [line for line in broker.log if not line.startswith("{")]
    assert not_json == []
    lines = [json.loads(line) for line in broker.log]
    assert any(
        {"request_id", "tenant"} <= line.keys() and line["tenant"] == "acme"
        for line in lines
    )
    assert any({"job_id", "provider", "tenant"} <= line.keys() for line in lines)
    everything = "\n".join([*answers, *broker.log])
    assert "register" in "".join(broker.log)
    for canary in (CANARY_HEADER, CANARY_KEY, CANARY_PASSWORD):
        assert canary not in everything


def test_redaction_filter_replaces_known_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever a log line says, a configured secret comes out as [redacted]."""
    logs.setup("INFO", "json")
    logs.REDACTION.set_secrets("test", ["s3cr3t-value"])
    try:
        logging.getLogger("broker.test").warning("header was %s", "s3cr3t-value")
    finally:
        logs.REDACTION.set_secrets("test", [])
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "header was [redacted]"
    assert line["level"] == "warning"
