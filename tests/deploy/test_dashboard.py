"""The Grafana dashboard: Grafana's keys, a tidy grid, and queries that work.

Every query must name series and labels the broker exports, so that a renamed
metric breaks this test instead of a panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from tests.deploy.promql import METRIC_NAME, exported_series, expression_problems

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "c4broker.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "prometheus.yaml"
GRID_COLUMNS = 24


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def all_panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those folded into a collapsed row."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def graph_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in all_panels(board) if panel["type"] != "row"]


def dashboard_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and query variable."""
    queries = [
        (f"panel {panel['title']!r}", target["expr"])
        for panel in graph_panels(board)
        for target in panel["targets"]
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            queries.append((f"variable {variable['name']!r}", text))
    return queries


def test_dashboard_has_the_keys_grafana_needs() -> None:
    """The dashboard is JSON with a title, a short uid, a schema version and panels."""
    board = dashboard()
    assert board["title"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 36
    assert board["panels"]
    provider = next(v for v in board["templating"]["list"] if v["name"] == "provider")
    assert provider["type"] == "query"


def test_dashboard_panels_have_unique_ids_and_fit_the_grid() -> None:
    """Panel ids are unique; every panel has a type and a place in 24 columns."""
    panels = list(all_panels(dashboard()))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        assert panel["type"], panel["id"]
        assert panel["title"], panel["id"]
        box = panel["gridPos"]
        assert min(box["w"], box["h"]) > 0, panel["title"]
        assert min(box["x"], box["y"]) >= 0, panel["title"]
        assert box["x"] + box["w"] <= GRID_COLUMNS, panel["title"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[x, y] = panel["title"]


def test_dashboard_targets_have_ref_ids_and_queries() -> None:
    """Every graph panel has targets, each with a unique refId and an expr."""
    for panel in graph_panels(dashboard()):
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids, panel["title"]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"])


def test_dashboard_queries_name_exported_series() -> None:
    """Every panel and variable query names series and labels the broker exports."""
    catalogue = exported_series()
    problems = [
        f"{where}: {problem}"
        for where, expr in dashboard_queries(dashboard())
        for problem in expression_problems(expr, catalogue)
    ]
    assert problems == []


def test_dashboard_shows_health_latency_jobs_inventory_and_cost() -> None:
    """Provider health, placement latency, jobs, inventory and cost all have panels."""
    queried = {
        name
        for _, expr in dashboard_queries(dashboard())
        for name in METRIC_NAME.findall(expr)
    }
    assert queried >= {
        "c4broker_provider_state",
        "c4broker_provider_calls_total",
        "c4broker_provider_call_duration_seconds_bucket",
        "c4broker_placement_duration_seconds_bucket",
        "c4broker_placements_total",
        "c4broker_jobs_total",
        "c4broker_job_duration_seconds_bucket",
        "c4broker_jobs_running",
        "c4broker_failovers_total",
        "c4broker_polls_total",
        "c4broker_inventory_resources",
        "c4broker_inventory_monthly_cost",
        "c4broker_inventory_refresh_age_seconds",
        "c4broker_http_requests_total",
        "c4broker_http_request_duration_seconds_bucket",
    }


def test_dashboard_uses_the_provisioned_datasource() -> None:
    """Panels, targets and variables refer to the provisioned Prometheus by uid."""
    provisioned = yaml.safe_load(DATASOURCE.read_text())
    source = provisioned["datasources"][0]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    expected = {"type": "prometheus", "uid": source["uid"]}
    board = dashboard()
    for panel in graph_panels(board):
        assert panel["datasource"] == expected, panel["title"]
        assert all(t["datasource"] == expected for t in panel["targets"])
    for variable in board["templating"]["list"]:
        assert variable["datasource"] == expected, variable["name"]
