"""Which series the broker exports, and whether PromQL names only those.

The alert rules and the dashboard are checked against the same catalogue:
every series name ``broker.metrics.Metrics`` can export, with its labels.
"""

from __future__ import annotations

import re

from prometheus_client.metrics import MetricWrapperBase

from broker.metrics import Metrics

METRIC_NAME = re.compile(r"\bc4broker_[a-z_]+\b")
SELECTOR = re.compile(r"\b(c4broker_[a-z_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
)
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
UP = re.compile(r"\bup\s*\{")
TARGET_LABELS = frozenset({"job", "instance"})
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}

Catalogue = dict[str, frozenset[str]]
"""Series name to the label names it carries."""


def exported_series() -> Catalogue:
    """Every series name the broker can export, with the label names it carries."""
    metrics = Metrics()
    declared = {
        collector._name: frozenset(collector._labelnames)
        for collector in vars(metrics).values()
        if isinstance(collector, MetricWrapperBase)
    }
    catalogue: Catalogue = {}
    for family in metrics.registry.collect():
        seen = {label for sample in family.samples for label in sample.labels}
        labels = declared.get(family.name, frozenset(seen - {"le"}))
        for suffix in SERIES_SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            catalogue[family.name + suffix] = labels | extra | TARGET_LABELS
    return catalogue


def expression_problems(expr: str, catalogue: Catalogue) -> list[str]:
    """What in a PromQL expression names a series or a label the broker lacks."""
    bare = QUOTED.sub('""', expr)
    names = METRIC_NAME.findall(bare)
    if not names and not UP.search(bare):
        return [f"{expr!r} names no metric"]
    problems = [f"{name} is not exported" for name in names if name not in catalogue]
    for name, matchers in SELECTOR.findall(bare):
        for label in MATCHER.findall(matchers):
            if name in catalogue and label not in catalogue[name]:
                problems.append(f"{name} has no label {label}")
    known = TARGET_LABELS.union(*(catalogue.get(name, ()) for name in names))
    for group in GROUPING.findall(bare):
        labels = {part.strip() for part in group.split(",")} - {""}
        problems += [f"no series has the label {label}" for label in labels - known]
    return problems
