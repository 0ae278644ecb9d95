"""Small builders for simulator tests: tiny traces and clusters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from petaport.simulator.cluster import homogeneous
from petaport.simulator.model import ClusterSpec, Trace, TraceJob, make_trace

TRACES = Path(__file__).resolve().parents[4] / "shared" / "traces"
PHILLY = TRACES / "philly_pollux" / "philly.csv"
ALIBABA = TRACES / "alibaba_openb"
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


def trace(*rows: tuple[float, float, int, str]) -> Trace:
    """Jobs from (submit s, duration s, GPUs, tenant) rows, named j0, j1, ..."""
    jobs = [TraceJob(f"j{i}", s, d, g, t) for i, (s, d, g, t) in enumerate(rows)]
    return make_trace("test", ORIGIN, jobs)


def one_node(gpus: int = 8) -> ClusterSpec:
    return homogeneous("one-node", 1, gpus)
