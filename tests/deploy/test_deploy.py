"""The deployment files: alert rules, Prometheus, Compose, image and systemd unit.

``promtool`` checks the alert rules and the Prometheus configuration; the
alert expressions must name series and labels the broker exports. The
Compose stack must mount files that exist, mirror the demo's providers and
validate as broker configuration. The dashboard has its own test module.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from tests.deploy.promql import exported_series, expression_problems

from broker.config import load_config
from broker.demo import DEMO_PROVIDERS
from broker.sim import SimConfig
from broker.sim import cli as sim_cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
C4_PORTS = {"compute": 7777, "storage": 7772, "services": 7770}
REQUIRED_ALERTS = {
    "C4BrokerDown",
    "C4BrokerProviderEjected",
    "C4BrokerJobsFailing",
    "C4BrokerInventoryStale",
}


# Helpers -------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def run_promtool(promtool: str, *args: str, cwd: Path) -> None:
    done = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return loaded


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Host path (relative to deploy/) to container path, for each bind mount."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[source] = target
    return mounts


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1] :]


def copies(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """Source to destination of each COPY from the build context."""
    pairs = {}
    for keyword, rest in instructions:
        parts = rest.split()
        if keyword == "COPY" and not parts[0].startswith("--"):
            pairs.update(dict.fromkeys(parts[:-1], parts[-1]))
    return pairs


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs = [
        pair for keyword, rest in stage if keyword == "ENV" for pair in rest.split()
    ]
    return dict(pair.split("=", 1) for pair in pairs)


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "c4broker.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


# Prometheus ----------------------------------------------------------------


def test_alert_rules_pass_promtool_check(promtool: str) -> None:
    """``promtool check rules`` accepts deploy/prometheus/alerts.yml."""
    run_promtool(promtool, "check", "rules", "deploy/prometheus/alerts.yml", cwd=REPO)


def test_alert_rules_fire_as_their_unit_tests_expect(promtool: str) -> None:
    """Each alert fires on the series of alerts_test.yml, and not on near misses."""
    run_promtool(promtool, "test", "rules", "alerts_test.yml", cwd=PROMETHEUS)


def test_prometheus_config_passes_promtool_check(promtool: str) -> None:
    """``promtool check config`` accepts prometheus.yml and finds its rule file."""
    run_promtool(
        promtool, "check", "config", "deploy/prometheus/prometheus.yml", cwd=REPO
    )


def test_every_alert_says_how_bad_and_what_happened() -> None:
    """The four alerts exist, each with a severity, a summary and a description."""
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]


def test_provider_alerts_name_the_provider() -> None:
    """Alerts on a provider's series say which provider in their annotations."""
    for rule in alert_rules():
        if re.search(r"c4broker_(provider|inventory_refresh)", rule["expr"]):
            text = " ".join(rule["annotations"].values())
            assert "$labels.provider" in text, rule["alert"]


def test_alert_expressions_name_exported_series() -> None:
    """Every alert expression names series and labels the broker exports."""
    catalogue = exported_series()
    for rule in alert_rules():
        assert expression_problems(rule["expr"], catalogue) == [], rule["alert"]


def test_prometheus_scrapes_the_compose_broker_every_15_seconds() -> None:
    """The c4broker job scrapes broker:8080/metrics every 15 s and loads the alerts."""
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "c4broker")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"] == ["broker:8080"]
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
    assert config["rule_files"] == ["alerts.yml"]


def test_grafana_loads_dashboards_from_the_mounted_folder() -> None:
    """The dashboard provider reads the folder Compose mounts the JSON files at."""
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml")
    path = provider["providers"][0]["options"]["path"]
    mounts = bind_mounts(compose()["services"]["grafana"])
    assert mounts["./grafana/dashboards"] == path
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"


# Compose -------------------------------------------------------------------


def test_compose_mounts_and_builds_from_files_in_the_repository() -> None:
    """Every bind mount and the image's build context and Dockerfile exist."""
    for name, service in compose()["services"].items():
        for source in bind_mounts(service):
            assert (DEPLOY / source).exists(), f"{name}: {source}"
        build = service.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build["dockerfile"]).is_file(), name


def test_compose_runs_broker_prometheus_grafana_and_three_simulators() -> None:
    """The stack has the broker, its three demo providers, Prometheus and Grafana."""
    services = compose()["services"]
    assert set(services) >= {
        "broker",
        "prometheus",
        "grafana",
        *(config.name for config, _ in DEMO_PROVIDERS),
    }
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")


def test_compose_simulators_mirror_the_demo() -> None:
    """Each simulator's options describe the same provider as the demo's."""
    services = compose()["services"]
    for expected, _ in DEMO_PROVIDERS:
        command = services[expected.name]["command"]
        assert command[0] == "sim"
        parser = argparse.ArgumentParser()
        sim_cli.add_arguments(parser)
        args = parser.parse_args(command[1:])
        assert args.host == "0.0.0.0"
        assert sim_cli.config_from(args) == expected


def test_compose_registry_points_at_the_simulator_services() -> None:
    """The broker's registry names each simulator service on the C4 ports."""
    registry = load_yaml(DEPLOY / "broker" / "providers.yaml")["providers"]
    demo: dict[str, SimConfig] = {config.name: config for config, _ in DEMO_PROVIDERS}
    assert [entry["name"] for entry in registry] == list(demo)
    for entry in registry:
        assert entry["regions"] == demo[entry["name"]].regions
        for server, port in C4_PORTS.items():
            url = urlsplit(entry[server])
            assert (url.hostname, url.port) == (entry["name"], port)


def test_compose_broker_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mounted broker.yaml is valid, listens on port 8080, writes to the volume."""
    monkeypatch.setenv("C4BROKER_DEMO_KEY", "demo-key-for-the-test")
    monkeypatch.setenv("C4BROKER_ADMIN_KEY", "admin-key-for-the-test")
    broker = load_config(DEPLOY / "broker" / "broker.yaml").broker
    assert (broker.listen.host, broker.listen.port) == ("0.0.0.0", 8080)
    service = compose()["services"]["broker"]
    volumes = [v.split(":")[1] for v in service["volumes"] if v.startswith("broker-")]
    assert Path(broker.database).parent == Path(volumes[0])
    assert set(service["environment"]) == {"C4BROKER_DEMO_KEY", "C4BROKER_ADMIN_KEY"}


# Image ---------------------------------------------------------------------


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    """The image switches to an unprivileged user and checks /healthz."""
    stage = final_stage(dockerfile())
    users = [rest.split(":")[0] for keyword, rest in stage if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    checks = [rest for keyword, rest in stage if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "urllib" in checks[0]
    assert image_env(stage)["C4BROKER_HEALTH_URL"].endswith(":8080/healthz")


def test_dockerfile_starts_the_broker_with_json_logs() -> None:
    """The image runs ``c4broker serve`` on port 8080 with JSON log lines."""
    stage = final_stage(dockerfile())
    instructions = dict(stage)
    assert json.loads(instructions["ENTRYPOINT"]) == ["c4broker"]
    assert json.loads(instructions["CMD"])[0] == "serve"
    assert instructions["EXPOSE"] == "8080"
    assert image_env(stage)["C4BROKER_LOG_FORMAT"] == "json"


def test_dockerfile_points_the_store_at_the_copied_migrations() -> None:
    """C4BROKER_MIGRATIONS names the folder the migrations are copied to."""
    stage = final_stage(dockerfile())
    assert copies(stage)["migrations"] == image_env(stage)["C4BROKER_MIGRATIONS"]


def test_dockerignore_lets_in_what_the_image_copies() -> None:
    """The root .dockerignore re-admits every path the Dockerfile copies."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources = copies(dockerfile())
    assert sources
    for source in sources:
        assert source.rstrip("/") in admitted, source


# systemd -------------------------------------------------------------------


def test_systemd_unit_starts_reloads_and_restarts() -> None:
    """The unit serves with the venv's c4broker, reloads on HUP, restarts on failure."""
    settings = unit_settings()
    assert settings["ExecStart"] == [
        "/opt/c4broker/.venv/bin/c4broker serve --config /etc/c4broker/broker.yaml"
    ]
    assert "-HUP $MAINPID" in settings["ExecReload"][0]
    assert settings["Restart"] == ["on-failure"]
    assert settings["User"] == ["c4broker"]


def test_systemd_unit_is_confined_to_its_state_directory() -> None:
    """The unit cannot gain privileges and writes only under /var/lib/c4broker."""
    settings = unit_settings()
    assert settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["StateDirectory"] == ["c4broker"]
    assert settings["ReadWritePaths"] == ["/var/lib/c4broker"]
    assert settings["EnvironmentFile"]
