"""Snapshot contracts: derived fields, and leaving busy nodes out when pools are given."""

from __future__ import annotations

from dataclasses import replace

import pytest

from petaport.domain.jobs import QosTier
from petaport.scheduler import PendingJob, PolicyConfig, PoolShape, RunningJob, schedule

from .builders import T0, changed, job, node, quota, running, snap


def test_derived_fields_follow_the_arguments() -> None:
    j = job("j", 2, 3, walltime_s=100.0, predicted_s=10.0)
    assert (j.demand_milli, j.gpu_s, j.submitted_s) == (6000, 60.0, T0.timestamp())
    assert j.with_prediction(None).gpu_s == 600.0
    assert job("f", milli=250, predicted_s=40.0).gpu_s == 10.0
    assert job("cpu", 0, predicted_s=50.0).gpu_s == 5.0  # a CPU-only job counts as 0.1 GPU
    assert job("a", 1) == job("a", 1) and hash(job("a", 1)) == hash(job("a", 1))


def test_positional_arguments_skip_the_derived_fields() -> None:
    """The derived fields lie beside the ids (for the gate's cache lines), not in __init__."""
    j = PendingJob("j", "o", "p", 3, QosTier.RESERVED, T0, 2, 1, 8, 64, "H800", True)
    assert (j.priority, j.qos, j.gpus, j.nodes, j.cpus, j.memory_mb) == (
        3,
        QosTier.RESERVED,
        2,
        1,
        8,
        64,
    )
    assert (j.gpu_model, j.budget_exhausted, j.broke, j.demand_milli) == ("H800", True, True, 2000)
    assert not changed(j, budget_exhausted=False).broke
    assert "demand_milli" not in repr(j) and "broke" not in repr(j)


def _busy(r: RunningJob) -> RunningJob:
    return changed(r, gpu_model="H800")


@pytest.mark.parametrize(
    ("qos", "config"),
    [
        (QosTier.PREEMPTIBLE, PolicyConfig()),  # preempts r1 on the left-out node
        (QosTier.ON_DEMAND, PolicyConfig(preemption=False)),  # reserves the left-out node
    ],
)
def test_busy_nodes_may_be_left_out_when_pools_are_given(
    qos: QosTier, config: PolicyConfig
) -> None:
    held = [
        _busy(running("r1", {"n1": tuple(range(8))}, qos=qos, borrowing=True, walltime_s=60,
                      started_s_ago=0)),
        _busy(running("r2", {"n2": tuple(range(6))}, walltime_s=600, started_s_ago=0)),
    ]  # fmt: skip
    nodes = [node("n1", free=()), node("n2", free=(6, 7)), node("n3", free=(0, 1))]
    jobs = [job("big", 8, age_s=9), job("short", 2, age_s=5, walltime_s=30), job("long", 2)]
    quotas = [quota("prj_a", 16), quota("prj_b", 0, org="org_b")]
    full = schedule(snap(nodes, jobs, running=held, quotas=quotas, config=config))
    pools = (PoolShape("H800", 8, 64, 512_000, 3),)
    partial = snap(nodes[1:], jobs, running=held, quotas=quotas, config=config)
    assert schedule(replace(partial, pools=pools)) == full
    assert [p.job_id for p in full.preemptions] == (["r1"] if config.preemption else [])
    assert [r.nodes for r in full.reservations] == ([] if config.preemption else [("n1",)])
