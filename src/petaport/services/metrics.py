"""Prometheus metrics. One registry per Context, so several apps can live in one process."""

from __future__ import annotations

import os
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_WAIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text; with several workers, merged over all their processes."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
    return generate_latest(registry)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Gauges are set from the database at scrape time: the newest value is the truth.
        latest: Literal["mostrecent"] = "mostrecent"
        self.jobs_by_state = Gauge(
            "petaport_jobs", "Jobs by state", ["state"], registry=r, multiprocess_mode=latest
        )
        self.gpus_total = Gauge(
            "petaport_gpus_total",
            "GPUs in the inventory",
            registry=r,
            multiprocess_mode=latest,
        )
        self.gpus_allocated = Gauge(
            "petaport_gpus_allocated",
            "GPUs held by running attempts",
            registry=r,
            multiprocess_mode=latest,
        )
        self.queue_wait = Histogram(
            "petaport_queue_wait_seconds",
            "Submit (or requeue) to start of an attempt",
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.api_latency = Histogram(
            "petaport_api_request_duration_seconds",
            "API request latency",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.scheduler_cycle = Histogram(
            "petaport_scheduler_cycle_seconds",
            "One scheduling cycle",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.preemptions = Counter(
            "petaport_preemptions", "Running jobs preempted, by reason", ["reason"], registry=r
        )
        self.usage_records = Counter(
            "petaport_usage_records", "Usage records metered and rated", registry=r
        )
        self.attempts_ended = Counter(
            "petaport_attempts_ended", "Attempts that ended, by state", ["state"], registry=r
        )
