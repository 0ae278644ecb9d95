"""Nodes and jobs behave as frozen dataclasses: equality, hash and repr over their arguments,
derived attributes that follow them, and no change after construction (compiled)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petaport.corebuild import compiled
from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import NodeState, PendingJob, RunningJob
from petaport.scheduler.entities import KEY_NOW, order_class

from .builders import T0, changed, job, node, running

FULL = PendingJob("j", "o", "p", 3, QosTier.PREEMPTIBLE, T0 + timedelta(seconds=5), 2, 1, 4,
                  512, "A100", True, 0, frozenset({"A100", "H100"}), 90.0, None, 80.0, "u",
                  frozenset({"hk"}))  # fmt: skip


def derived(j: PendingJob) -> tuple[object, ...]:
    return (j.shape, j.demand_milli, j.order_class, j.broke, j.submitted_s, j.gpu_s,
            j.gpu_s_log, j.qos_rank)  # fmt: skip


@pytest.mark.parametrize("duration", [None, 10.0, 90.0, 1e9])
def test_a_prediction_gives_the_job_built_with_it(duration: float | None) -> None:
    got = FULL.with_prediction(duration)
    want = changed(FULL, predicted_duration_s=duration)
    assert got == want and got.args() == want.args() and derived(got) == derived(want)
    assert got.predicted_duration_s == duration
    assert FULL.with_prediction(None) is FULL  # unchanged: the same object


def test_keyword_and_positional_arguments_build_the_same_job() -> None:
    by_name = PendingJob(**dict(zip(PendingJob.FIELDS, FULL.args(), strict=True)))  # type: ignore[arg-type]
    assert by_name == FULL and hash(by_name) == hash(FULL) and derived(by_name) == derived(FULL)


def test_derived_attributes_take_no_part_in_equality_or_repr() -> None:
    a, b = job("a", 2, walltime_s=100.0), job("a", 2, walltime_s=100.0)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != changed(a, priority=1) and a != changed(a, walltime_s=99.0)
    assert a != "a" and a.__eq__(object()) is NotImplemented
    shown = repr(a)
    assert shown.startswith("PendingJob(id='a', org_id=") and "walltime_s=100.0" in shown
    assert "demand_milli" not in shown and "shape" not in shown
    assert repr(node("n", 2, free=(1,))).startswith("NodeState(name='n', pool='pool'")


def test_nodes_and_running_jobs_compare_by_their_arguments() -> None:
    n = node("n", 8, free=(0, 1))
    assert n == node("n", 8, free=(0, 1)) and n != node("n", 8, free=(0,))
    assert (
        n.with_free((0,)) == node("n", 8, free=(0,)) and n.with_free((0,)).cpus_free == n.cpus_free
    )
    assert len({n, node("n", 8, free=(0, 1)), node("m", 8)}) == 2
    r = running("r", {"n": (0, 1)}, walltime_s=60, started_s_ago=10)
    assert r == running("r", {"n": (0, 1)}, walltime_s=60, started_s_ago=10)
    assert r.walltime_end_s == r.started_s + 60 and r.predicted_end_s is None
    late = changed(r, predicted_end=T0 + timedelta(hours=1))
    assert late != r and late.predicted_end_s == (T0 + timedelta(hours=1)).timestamp()
    assert (
        RunningJob("x", "o", "p", QosTier.ON_DEMAND, T0, (Allocation("n", (0,), 1, 1),)).gpu_milli
        == 0
    )


def test_a_qos_given_as_its_value_ranks_as_the_tier() -> None:
    j = PendingJob("j", "o", "p", 0, "reserved", T0, 1, 1, 1, 1)  # type: ignore[arg-type]
    assert j.qos_rank == 2


@pytest.mark.skipif(
    "petaport.scheduler.entities" not in compiled(),
    reason="interpreted, immutability is mypy's (Final)",
)
def test_compiled_values_cannot_be_changed() -> None:
    j, n = job("a", 1), node("n", 8)
    r = running("r", {"n": (0,)})
    for value, name in ((j, "priority"), (j, "demand_milli"), (n, "free_gpus"), (r, "id")):
        with pytest.raises(AttributeError):
            setattr(value, name, None)


@given(
    st.integers(0, 3),
    st.none() | st.floats(allow_nan=True, allow_infinity=True),
    st.integers(0, 2),
)
def test_the_order_class_is_the_documented_one(
    priority: int, gpu_s: float | None, rank: int
) -> None:
    logged = None if gpu_s is None or gpu_s <= -1 else math.log1p(gpu_s)
    got = order_class(priority, gpu_s, logged, rank)
    if priority or (gpu_s is not None and not (logged is not None and logged >= 0)):
        assert got == KEY_NOW
    elif gpu_s is None:
        assert got == 2 * (3 * 16 + rank)
    else:
        assert logged is not None
        assert got == 2 * (3 * (15 if logged >= 15 else int(logged)) + rank)


def test_a_node_state_needs_no_defaults_beyond_the_foundation() -> None:
    n = NodeState("n", "p", None, 0, (), 4, 4, 100, 100)
    assert n.schedulable and n.gpu_free_milli == ()
