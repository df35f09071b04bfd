"""The broker's metrics text passes ``promtool check metrics``.

Until the HTTP-level test reads GET /metrics, the text comes from
``Metrics.exposition()`` after every collector has recorded something, so
that promtool sees each family with samples and checks names, units, types
and help texts.
"""

from __future__ import annotations

import subprocess

from broker.metrics import Metrics, status_class


def busy_metrics() -> Metrics:
    """A Metrics whose every collector has recorded at least one value."""
    metrics = Metrics()
    metrics.observe("sim-cheap", "create", "ok", 0.12)
    metrics.observe("sim-ref", "cancreate", "fault", 3.0)
    metrics.set_provider_state("sim-cheap", "healthy")
    metrics.set_provider_state("sim-ref", "ejected")
    metrics.provider_ejections.labels("sim-ref").inc()
    metrics.http_requests.labels("/v1/vms", "POST", status_class(202)).inc()
    metrics.http_duration.labels("/v1/vms", "POST").observe(0.03)
    metrics.placements.labels("vm", "found").inc()
    metrics.placement_duration.labels("vm").observe(0.4)
    metrics.jobs.labels("create", "vm", "succeeded").inc()
    metrics.jobs.labels("delete", "volume", "failed").inc()
    metrics.job_duration.labels("create", "vm").observe(4.2)
    metrics.jobs_running.set(2)
    metrics.failovers.labels("sim-ref").inc()
    metrics.polls.labels("sim-ref", "pending").inc()
    metrics.inventory_resources.labels("sim-cheap", "vm", "active").set(3)
    metrics.inventory_cost.labels("sim-cheap", "EUR").set(61.8)
    metrics.inventory_refresh_age.labels("sim-cheap").set(12.5)
    metrics.inventory_refreshes.labels("sim-cheap", "ok").inc()
    return metrics


def test_metrics_text_passes_promtool_check(promtool: str) -> None:
    """``promtool check metrics`` finds no problem in the exposition text."""
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=busy_metrics().exposition(),
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
    assert done.stdout + done.stderr == b""


def test_every_family_is_in_the_checked_text() -> None:
    """The checked text has samples of every family, so none escapes the check."""
    metrics = busy_metrics()
    text = metrics.exposition().decode()
    for family in metrics.registry.collect():
        assert family.samples, family.name
        assert f"\n{family.samples[0].name}" in text, family.name
