"""Metric definitions on results built by hand, decayed usage, the simulated cluster."""

from __future__ import annotations

import math

import pytest

from petaport.domain.jobs import Allocation
from petaport.simulator import metrics
from petaport.simulator.adapter import models_match
from petaport.simulator.cluster import homogeneous
from petaport.simulator.outcome import JobOutcome, ReplayResult
from petaport.simulator.state import ClusterState, SimulationError
from petaport.simulator.usage import UsageLedger


def outcome(tenant: str, submit: float, start: float, end: float, gpus: int = 1) -> JobOutcome:
    return JobOutcome(f"{tenant}-{submit}", tenant, submit, start, end, end - start, gpus, 0, 0)


def result(*outcomes: JobOutcome, gpus: int = 2) -> ReplayResult:
    series = ((0.0, 1.0), (50.0, 2.0), (100.0, 0.0))
    return ReplayResult("p", outcomes, 0, 0, series, 150.0, 10.0, 50.0, gpus, 3, 4)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [metrics.percentile(values, p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert metrics.percentile([], 99) == 0.0


def test_jain_index() -> None:
    assert metrics.jain([1.0, 1.0, 1.0]) == 1.0
    assert metrics.jain([1.0, 0.0, 0.0, 0.0]) == 0.25
    assert metrics.jain([]) == 1.0


def test_bounded_slowdown_floors_short_jobs_at_ten_seconds() -> None:
    assert metrics.bounded_slowdown(outcome("a", 0, 99, 100)) == 10.0  # 100 s / max(1, 10)
    assert metrics.bounded_slowdown(outcome("a", 0, 0, 100)) == 1.0


def test_summary_of_a_hand_built_result() -> None:
    r = result(outcome("a", 0, 0, 100), outcome("b", 0, 50, 100, gpus=2))
    s = metrics.summary(r, {"a": 3, "b": 1})
    assert (s["avg_jct_s"], s["avg_wait_s"], s["p99_wait_s"], s["makespan_s"]) == (100, 25, 50, 100)
    assert s["utilisation"] == 150 / (2 * 100)
    assert s["fragmented_gpus_avg"] == 0.1 and s["fragmented_gpus_avg_while_queued"] == 0.2
    a, b = s["tenants"]["a"], s["tenants"]["b"]
    assert (a["gpu_hours"], b["gpu_hours"]) == (100 / 3600, 100 / 3600)
    assert (a["entitlement"], b["entitlement"]) == (0.75, 0.25)
    assert a["share_vs_entitlement"] == pytest.approx(0.5 / 0.75)
    # slowdowns 1 and 2 -> Jain over (1, 0.5) = 2.25 / 2.5
    assert s["jain_fairness"] == pytest.approx(0.9)


def test_equal_entitlements_by_default() -> None:
    assert metrics.entitlements(["x", "y", "z"], {}) == pytest.approx(
        {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}
    )


def test_utilisation_series_integrates_the_busy_steps() -> None:
    r = result(outcome("a", 0, 0, 100))
    series = metrics.utilisation_series(r, bins=4)
    assert [round(v, 6) for _, v in series] == [0.5, 0.5, 1.0, 1.0]


def test_jct_cdf_ends_at_one() -> None:
    r = result(*(outcome("a", 0, 0, float(d)) for d in range(1, 11)))
    cdf = metrics.jct_cdf(r, points=5)
    assert cdf[-1] == [10.0, 1.0] and len(cdf) == 5


def test_usage_accrues_continuously_and_decays() -> None:
    ledger = UsageLedger(half_life_s=100.0)
    ledger.change(0.0, "o", "p", 2.0)  # two GPUs from t=0
    ((_, _, at_100),) = ledger.at(100.0)
    assert at_100 == pytest.approx(2 * 100 / math.log(2) * 0.5)
    ledger.change(100.0, "o", "p", -2.0)
    ((_, _, at_200),) = ledger.at(200.0)
    assert at_200 == pytest.approx(at_100 / 2)
    assert ledger.at(200.0) == ledger.at(200.0)  # reading does not change it


def test_the_simulated_cluster_refuses_double_allocation() -> None:
    state = ClusterState(homogeneous("x", 1, 8), models_match)
    take = (Allocation("gpu-00000", (0, 1), 0, 0),)
    state.allocate(take)
    assert (state.busy_milli, state.free_gpus) == (2000, 6)
    with pytest.raises(SimulationError):
        state.allocate(take)
    state.release(take)
    with pytest.raises(SimulationError):
        state.release(take)
    assert state.capacity((4, 1, 0, 0, None, 0)) == 2


def test_shared_gpus_fill_up_and_empty() -> None:
    state = ClusterState(homogeneous("x", 1, 1), models_match)
    half = (Allocation("gpu-00000", (0,), 0, 0),)
    state.allocate(half, 500)
    state.allocate(half, 500)
    assert state.open_nodes == set() and state.busy_milli == 1000
    with pytest.raises(SimulationError):
        state.allocate(half, 1)
    state.release(half, 500)
    state.release(half, 500)
    assert state.free_gpus == 1 and state.busy_milli == 0
