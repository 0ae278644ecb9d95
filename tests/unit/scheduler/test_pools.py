"""Node-pool limits (residency): a job limited to some pools is placed, reserved for and makes
room by preemption only on nodes of those pools; it waits NodePoolUnavailable when none of them
could ever hold it; jobs without a limit are scheduled exactly as before."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.domain.jobs import PendingReason, QosTier
from petaport.scheduler import NodeState, PoolShape, Snapshot, config_for, schedule

from .builders import changed, job, node, run, running, snap
from .test_properties import CONFIGS, check_decided_once, check_resources, snapshots

HK = frozenset({"hk"})


def hk(name: str, **kw: object) -> NodeState:
    return node(name, pool="hk", **kw)  # type: ignore[arg-type]


def abroad(name: str, **kw: object) -> NodeState:
    return node(name, pool="abroad", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nodes", "wanted", "where", "reason"),
    [
        # best fit would pick the abroad node (fewest free GPUs): the limit keeps it in HK
        ([abroad("a1", free=(0,)), hk("h1")], job("j", 1, pools=HK), ["h1"], None),
        ([abroad("a1"), hk("h1", free=(0, 1))], job("j", 2, pools=HK), ["h1"], None),
        # gang: two HK nodes although the abroad ones are emptier
        ([abroad("a1"), abroad("a2"), hk("h1", free=(0, 1, 2, 3)), hk("h2", free=(4, 5, 6, 7))],
         job("g", 4, 2, pools=HK), ["h1", "h2"], None),
        # CPU-only and fractional jobs too
        ([abroad("a0", gpus=0, model=None), hk("h1")], job("c", 0, pools=HK), ["h1"], None),
        ([abroad("a1", free=(), shared=((0, 900),)), hk("h1")], job("f", milli=300, pools=HK),
         ["h1"], None),
        # HK capacity exists but is busy now: Resources, and nothing abroad
        ([abroad("a1"), hk("h1", free=())], job("j", 1, pools=HK), [], PendingReason.RESOURCES),
        # no HK node at all, or none big enough, or none with the model: NodePoolUnavailable
        ([abroad("a1")], job("j", 1, pools=HK), [], PendingReason.POOL_UNAVAILABLE),
        ([abroad("a1"), hk("h1", gpus=4)], job("j", 8, pools=HK), [],
         PendingReason.POOL_UNAVAILABLE),
        ([abroad("a1"), abroad("a2"), hk("h1")], job("g", 8, 2, pools=HK), [],
         PendingReason.POOL_UNAVAILABLE),
        ([abroad("a1", model="A100"), hk("h1")], job("j", 1, model="A100", pools=HK), [],
         PendingReason.POOL_UNAVAILABLE),
        # a job nothing could ever hold keeps PartitionConfig, limit or not
        ([abroad("a1"), hk("h1")], job("j", 16, pools=HK), [], PendingReason.PARTITION_CONFIG),
        # no limit: anywhere (best fit)
        ([abroad("a1", free=(0,)), hk("h1")], job("j", 1), ["a1"], None),
    ],
)  # fmt: skip
def test_a_limited_job_runs_only_on_its_pools(
    nodes: list[NodeState], wanted: object, where: list[str], reason: PendingReason | None
) -> None:
    for config in CONFIGS:
        started, d = run(snap(nodes, [wanted], config=config))  # type: ignore[list-item]
        assert [a.node for allocs in started.values() for a in allocs] == where
        assert set(d.waits.values()) == ({reason} if reason else set()), config


def test_the_limited_job_waits_while_others_use_the_capacity_abroad() -> None:
    nodes = [abroad("a1"), hk("h1", free=())]
    started, d = run(snap(nodes, [job("resident", 1, age_s=60, pools=HK), job("other", 1)]))
    assert list(started) == ["other"] and started["other"][0].node == "a1"
    assert d.waits == {"resident": PendingReason.RESOURCES}


def test_backfill_reserves_hk_nodes_only() -> None:
    nodes = [abroad("a1", free=()), hk("h1", free=())]
    held = [
        running("abroad-soon", {"a1": tuple(range(8))}, walltime_s=120, started_s_ago=60),
        running("hk-later", {"h1": tuple(range(8))}, walltime_s=3_600, started_s_ago=60),
    ]
    _, d = run(snap(nodes, [job("resident", 8, pools=HK)], running=held))
    (reservation,) = d.reservations
    assert reservation.nodes == ("h1",)
    later = (reservation.start_at - held[1].started_at).total_seconds()
    assert later == pytest.approx(3_600)


def test_preemption_stops_work_on_hk_nodes_only() -> None:
    nodes = [abroad("a1", free=()), hk("h1", free=())]
    held = [
        running("cheap-hk", {"h1": tuple(range(8))}, qos=QosTier.PREEMPTIBLE, started_s_ago=600),
        running("cheap-abroad", {"a1": tuple(range(8))}, qos=QosTier.PREEMPTIBLE,
                started_s_ago=60),  # newer: without the limit it would be the victim
    ]  # fmt: skip
    _, d = run(snap(nodes, [job("resident", 4, pools=HK)], running=held))
    assert [p.job_id for p in d.preemptions] == ["cheap-hk"]
    _, free = run(snap(nodes, [job("anyone", 4)], running=held))
    assert [p.job_id for p in free.preemptions] == ["cheap-abroad"]


def test_a_whole_cluster_snapshot_sizes_limited_jobs_by_pool_names() -> None:
    """The simulator lists its pools and may leave busy nodes out: sizing uses pool names."""
    pools = (PoolShape("H800", 8, 64, 512_000, 4, "abroad"),
             PoolShape("H800", 8, 64, 512_000, 1, "hk"))  # fmt: skip
    base = snap([abroad("a1")], [job("g", 8, 2, pools=HK), job("j", 8, pools=HK)])
    _, d = run(dataclasses.replace(base, pools=pools))
    assert d.waits == {"g": PendingReason.POOL_UNAVAILABLE, "j": PendingReason.RESOURCES}


def _in_pools(s: Snapshot, pool_of: dict[str, str]) -> None:
    d = schedule(s)
    check_resources(s, d)
    check_decided_once(s, d)
    limited = {j.id: j.pools for j in s.pending if j.pools is not None}
    for start in d.starts:
        if start.job_id in limited:
            assert {pool_of[a.node] for a in start.allocations} <= limited[start.job_id]
    for r in d.reservations:
        if r.job_id in limited:
            assert {pool_of[n] for n in r.nodes} <= limited[r.job_id]
    running = {r.id: r for r in s.running}
    for p in d.preemptions:
        if p.for_job in limited:
            assert any(pool_of.get(a.node) == "hk" for a in running[p.job_id].allocations)


@settings(max_examples=300, deadline=None)
@given(snapshots(), st.data())
def test_limited_jobs_are_never_placed_outside_their_pools(
    s: Snapshot, data: st.DataObject
) -> None:
    pool_of = {n.name: data.draw(st.sampled_from(("hk", "abroad"))) for n in s.nodes}
    nodes = tuple(changed(n, pool=pool_of[n.name]) for n in s.nodes)
    limits = data.draw(st.lists(st.booleans(), min_size=len(s.pending), max_size=len(s.pending)))
    pending = tuple(
        changed(j, pools=HK) if limited else j for j, limited in zip(s.pending, limits, strict=True)
    )
    _in_pools(dataclasses.replace(s, nodes=nodes, pending=pending), pool_of)


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.data())
def test_pools_change_nothing_for_jobs_without_a_limit(s: Snapshot, data: st.DataObject) -> None:
    pooled = tuple(changed(n, pool=data.draw(st.sampled_from(("hk", "abroad")))) for n in s.nodes)
    assert schedule(dataclasses.replace(s, nodes=pooled)) == schedule(s)


def test_fifo_stops_behind_a_limited_job_that_waits() -> None:
    nodes = [abroad("a1"), hk("h1", free=())]
    jobs = [job("resident", 1, age_s=60, pools=HK), job("other", 1)]
    started, d = run(snap(nodes, jobs, config=config_for("fifo")))
    assert not started and d.waits["other"] is PendingReason.PRIORITY
