"""Every Prometheus collector of the broker, in one place.

Names start with ``c4broker_``, use base units (seconds), counters end in
``_total`` and durations are histograms. Labels come from bounded sets
only: provider names from the registry, operation and kind names, outcomes,
route templates and status classes; never a tenant, resource or job id.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from broker import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800)
CONTENT_TYPE = CONTENT_TYPE_LATEST
PROVIDER_STATES = ("healthy", "degraded", "ejected", "disabled")

# The *_created series would double the series count for little use.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The broker's collectors, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build_info = Gauge(
            "c4broker_build_info", "The broker's version.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)
        self.http_requests = Counter(
            "c4broker_http_requests_total",
            "HTTP requests answered, by route template, method and status class.",
            ["route", "method", "status_class"],
            registry=r,
        )
        self.http_duration = Histogram(
            "c4broker_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.provider_calls = Counter(
            "c4broker_provider_calls_total",
            "C4 calls to providers, by provider, operation and outcome.",
            ["provider", "operation", "outcome"],
            registry=r,
        )
        self.provider_duration = Histogram(
            "c4broker_provider_call_duration_seconds",
            "Duration of C4 calls to providers, by provider and operation.",
            ["provider", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.provider_state = Gauge(
            "c4broker_provider_state",
            "1 for the state each provider is in, 0 for the others.",
            ["provider", "state"],
            registry=r,
        )
        self.provider_ejections = Counter(
            "c4broker_provider_ejections_total",
            "Times a provider was taken out of rotation.",
            ["provider"],
            registry=r,
        )
        self._init_jobs_and_placement(r)
        self._init_inventory(r)

    def _init_jobs_and_placement(self, r: CollectorRegistry) -> None:
        self.placements = Counter(
            "c4broker_placements_total",
            "Placements run, by kind and whether any candidate was found.",
            ["kind", "outcome"],
            registry=r,
        )
        self.placement_duration = Histogram(
            "c4broker_placement_duration_seconds",
            "Time to filter, ask every provider and rank, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.jobs = Counter(
            "c4broker_jobs_total",
            "Jobs that ended, by operation, kind and final state.",
            ["operation", "kind", "state"],
            registry=r,
        )
        self.job_duration = Histogram(
            "c4broker_job_duration_seconds",
            "Time from a job's first run to its end, by operation and kind.",
            ["operation", "kind"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.jobs_running = Gauge(
            "c4broker_jobs_running", "Jobs this broker is running now.", registry=r
        )
        self.failovers = Counter(
            "c4broker_failovers_total",
            "Creates moved to the next candidate after a provider failed.",
            ["provider"],
            registry=r,
        )
        self.polls = Counter(
            "c4broker_polls_total",
            "Polls of asynchronous creates, by provider and result.",
            ["provider", "result"],
            registry=r,
        )

    def _init_inventory(self, r: CollectorRegistry) -> None:
        self.inventory_resources = Gauge(
            "c4broker_inventory_resources",
            "Resources in the inventory, by provider, kind and status.",
            ["provider", "kind", "status"],
            registry=r,
        )
        self.inventory_cost = Gauge(
            "c4broker_inventory_monthly_cost",
            "Monthly cost of active resources, by provider and currency.",
            ["provider", "currency"],
            registry=r,
        )
        self.inventory_refresh_age = Gauge(
            "c4broker_inventory_refresh_age_seconds",
            "Seconds since the provider's last successful inventory refresh.",
            ["provider"],
            registry=r,
        )
        self.inventory_refreshes = Counter(
            "c4broker_inventory_refreshes_total",
            "Inventory listings of a provider, by outcome.",
            ["provider", "outcome"],
            registry=r,
        )

    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        """Count one C4 call (the C4 client's observer hook)."""
        self.provider_calls.labels(provider, operation, outcome).inc()
        self.provider_duration.labels(provider, operation).observe(elapsed_s)

    def set_provider_state(self, provider: str, state: str) -> None:
        """Publish a provider's state as a one-hot set of series."""
        for candidate in PROVIDER_STATES:
            self.provider_state.labels(provider, candidate).set(int(candidate == state))

    def exposition(self) -> bytes:
        """The text exposition format of every collector."""
        return generate_latest(self.registry)


def status_class(status: int) -> str:
    """``2xx``, ``4xx``... for a status code."""
    return f"{status // 100}xx"
