"""Invariants of ``schedule`` over random clusters, queues, quotas and policies.

Never more GPUs than exist, never a GPU (or more than its free thousandths) given twice,
never above quota plus borrowing, gangs all-or-nothing, every job decided exactly once,
backfill never delays the reserved job, and the same decisions for any input order.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import (
    Decisions,
    NodeState,
    PendingJob,
    PolicyConfig,
    Quota,
    RunningIndex,
    RunningJob,
    Snapshot,
    config_for,
    release_of,
    schedule,
)
from petaport.scheduler.placement import gpu_model_matches

from .builders import T0, job, quota, snap, usage

PROJECTS = ("prj_a", "prj_b", "prj_c")
MODELS = ("H800", "H100 80GB HBM3")
CONFIGS = (
    PolicyConfig(),
    PolicyConfig(backfill=False),
    config_for("fifo"),
    config_for("fifo_backfill"),
    config_for("sjf_oracle"),
)


@st.composite
def a_node(draw: st.DrawFn, i: int) -> tuple[NodeState, list[RunningJob]]:
    gpus = draw(st.sampled_from((0, 2, 4, 8, 8)))
    cpus, mem = draw(st.integers(1, 32)), draw(st.integers(1_000, 64_000))
    name, model = f"n{i}", draw(st.sampled_from(MODELS)) if gpus else None
    free: list[int] = []
    shared: list[tuple[int, int]] = []
    held: list[RunningJob] = []
    cpus_used = mem_used = 0
    for g in range(gpus):
        kind = draw(st.sampled_from(("free", "free", "held", "held", "shared")))
        if kind == "free":
            free.append(g)
            continue
        c, m = draw(st.integers(0, 2)), draw(st.integers(0, 2_000))
        if cpus_used + c > cpus or mem_used + m > mem:
            c = m = 0
        cpus_used, mem_used = cpus_used + c, mem_used + m
        milli = draw(st.integers(1, 999)) if kind == "shared" else 0
        if milli:
            shared.append((g, 1000 - milli))
        held.append(draw(a_running(f"r{i}_{g}", Allocation(name, (g,), c, m), milli)))
    state = NodeState(name, "pool", model, gpus, tuple(free), cpus, cpus - cpus_used, mem,
                      mem - mem_used, draw(st.integers(0, 5)) > 0, tuple(shared))  # fmt: skip
    return state, held


@st.composite
def a_running(draw: st.DrawFn, jid: str, alloc: Allocation, milli: int) -> RunningJob:
    project = draw(st.sampled_from(PROJECTS))
    return RunningJob(
        jid, project.replace("prj", "org"), project,
        draw(st.sampled_from(list(QosTier))), T0 - timedelta(seconds=draw(st.integers(0, 9999))),
        (alloc,), draw(st.sampled_from((None, 600.0, 3_600.0, 7_200.0, 20_000.0))), None,
        draw(st.booleans()), milli,
    )  # fmt: skip


@st.composite
def a_job(draw: st.DrawFn, i: int) -> PendingJob:
    project = draw(st.sampled_from(PROJECTS))
    fractional = draw(st.integers(0, 5)) == 0
    return job(
        f"j{i:03d}", draw(st.sampled_from((0, 1, 1, 2, 2, 4, 8))),
        draw(st.sampled_from((1, 1, 1, 2, 3))),
        org=project.replace("prj", "org"), project=project, priority=draw(st.integers(0, 1)),
        age_s=draw(st.integers(0, 5000)), model=draw(st.sampled_from((None, None, *MODELS))),
        models=draw(st.sampled_from((None, frozenset({"h800"}), frozenset(MODELS)))),
        cpus=draw(st.integers(0, 4)), mem=draw(st.integers(0, 4_000)),
        qos=draw(st.sampled_from(list(QosTier))),
        milli=draw(st.integers(1, 999)) if fractional else 0,
        walltime_s=draw(st.sampled_from((None, 60.0, 1_800.0, 3_600.0, 20_000.0))),
        predicted_s=draw(st.one_of(st.none(), st.integers(60, 20_000).map(float))),
        oracle_s=draw(st.integers(1, 20_000).map(float)),
    )  # fmt: skip


@st.composite
def a_quota(draw: st.DrawFn) -> Quota:
    project = draw(st.sampled_from(PROJECTS))
    org_level = draw(st.booleans())
    return quota(
        None if org_level else project, draw(st.integers(0, 6)),
        org=project.replace("prj", "org"), model=draw(st.sampled_from((None, None, "h100"))),
        borrow=draw(st.one_of(st.none(), st.integers(0, 3))),
        lend=draw(st.one_of(st.none(), st.integers(0, 8))),
    )  # fmt: skip


@st.composite
def snapshots(draw: st.DrawFn, configs: tuple[PolicyConfig, ...] = CONFIGS) -> Snapshot:
    built = [draw(a_node(i)) for i in range(draw(st.integers(1, 5)))]
    jobs = [draw(a_job(i)) for i in range(draw(st.integers(0, 25)))]
    quotas = draw(st.lists(a_quota(), max_size=4))
    used = [usage(p, draw(st.floats(0, 1e6)), org=p.replace("prj", "org"))
            for p in draw(st.lists(st.sampled_from(PROJECTS), max_size=4))]  # fmt: skip
    return snap(
        [n for n, _ in built], jobs, running=[r for _, held in built for r in held],
        quotas=quotas, usage=used, config=draw(st.sampled_from(configs)),
        exhausted=frozenset({"prj_c"}) if draw(st.integers(0, 4)) == 0 else frozenset(),
    )  # fmt: skip


def check_resources(s: Snapshot, d: Decisions) -> None:
    nodes = {n.name: n for n in s.nodes}
    pending = {j.id: j for j in s.pending}
    whole: Counter[tuple[str, int]] = Counter()
    milli: Counter[tuple[str, int]] = Counter()
    cpus: Counter[str] = Counter()
    mem: Counter[str] = Counter()
    for start in d.starts:
        j = pending[start.job_id]
        assert len({a.node for a in start.allocations}) == len(start.allocations)
        assert len(start.allocations) == (1 if j.fractional else j.nodes)  # all or nothing
        for a in start.allocations:
            n = nodes[a.node]
            assert n.schedulable and (a.cpus, a.memory_mb) == (j.cpus, j.memory_mb)
            wanted = {j.gpu_model, *(j.allowed_models or ())} - {None}
            assert not wanted or any(gpu_model_matches(n.gpu_model, w) for w in wanted)
            cpus[a.node] += a.cpus
            mem[a.node] += a.memory_mb
            if j.fractional:
                assert start.gpu_milli == j.gpu_milli and len(a.gpu_indices) == 1
                milli[a.node, a.gpu_indices[0]] += j.gpu_milli
            else:
                assert len(a.gpu_indices) == j.gpus and start.gpu_milli == 0
                whole.update((a.node, g) for g in a.gpu_indices)
    for (name, g), count in whole.items():
        assert count == 1 and g in nodes[name].free_gpus and (name, g) not in milli
    for (name, g), used in milli.items():
        free = dict(nodes[name].gpu_free_milli).get(g, 1000 if g in nodes[name].free_gpus else 0)
        assert used <= free
    assert all(cpus[n] <= nodes[n].cpus_free and mem[n] <= nodes[n].memory_mb_free for n in cpus)


def check_decided_once(s: Snapshot, d: Decisions) -> None:
    started = [st.job_id for st in d.starts]
    assert len(started) == len(set(started)) and not set(started) & set(d.waits)
    assert set(started) | set(d.waits) == {j.id for j in s.pending}
    assert not any(j.project_id in s.exhausted_projects for j in s.pending if j.id in started)


def _used(s: Snapshot, q: Quota, extra: list[tuple[PendingJob, str | None]]) -> float:
    def covers(org: str, project: str, model: str | None) -> bool:
        mine = project == q.project_id if q.project_id is not None else org == q.org_id
        return mine and (q.gpu_model is None or gpu_model_matches(model, q.gpu_model))

    models = {n.name: n.gpu_model for n in s.nodes}
    total = sum(
        (r.gpu_milli if 0 < r.gpu_milli < 1000 else sum(len(a.gpu_indices) for a in r.allocations)
         * 1000)
        for r in s.running
        if covers(r.org_id, r.project_id, models[r.allocations[0].node])
    )  # fmt: skip
    return total + sum(j.demand_milli for j, m in extra if covers(j.org_id, j.project_id, m))


def check_quotas(s: Snapshot, d: Decisions) -> None:
    pending = {j.id: j for j in s.pending}
    models = {n.name: n.gpu_model for n in s.nodes}
    started = [(pending[x.job_id], models[x.allocations[0].node]) for x in d.starts]
    for q in s.quotas:
        if q.borrowing_limit_gpus is None:
            continue
        before, after = _used(s, q, []), _used(s, q, started)
        cap = (q.nominal_gpus + q.borrowing_limit_gpus) * 1000
        assert after <= max(before, cap), (q, before, after)


def check_preemptions(s: Snapshot, d: Decisions) -> None:
    running = {r.id: r for r in s.running}
    pending = {j.id: j for j in s.pending}
    victims = [p.job_id for p in d.preemptions]
    assert len(victims) == len(set(victims))
    for p in d.preemptions:
        r, j = running[p.job_id], pending[p.for_job]
        assert r.qos is QosTier.PREEMPTIBLE or (r.borrowing and r.project_id != j.project_id)
        assert j.qos is not QosTier.PREEMPTIBLE and p.for_job not in {x.job_id for x in d.starts}


@settings(max_examples=400, deadline=None)
@given(snapshots())
def test_invariants_hold_for_every_policy(s: Snapshot) -> None:
    d = schedule(s)
    check_resources(s, d)
    check_decided_once(s, d)
    check_quotas(s, d)
    check_preemptions(s, d)


@st.composite
def tight_quotas(draw: st.DrawFn) -> Snapshot:
    """Small jobs against small quotas on a roomy cluster: the quotas are what binds."""
    s = draw(snapshots())
    jobs = [
        job(f"q{i}", draw(st.integers(1, 3)), project=p, org=p.replace("prj", "org"),
            age_s=draw(st.integers(0, 99)), milli=draw(st.sampled_from((0, 0, 0, 500))))
        for i in range(draw(st.integers(1, 20)))
        for p in [draw(st.sampled_from(PROJECTS))]
    ]  # fmt: skip
    quotas = [
        quota(p, draw(st.integers(0, 4)), org=p.replace("prj", "org"), borrow=draw(
            st.integers(0, 3)), model=draw(st.sampled_from((None, "h800"))))
        for p in PROJECTS
    ]  # fmt: skip
    return snap(list(s.nodes), jobs, running=list(s.running), quotas=quotas, config=s.config)


@settings(max_examples=300, deadline=None)
@given(tight_quotas())
def test_never_above_quota_plus_borrowing(s: Snapshot) -> None:
    d = schedule(s)
    check_quotas(s, d)
    check_resources(s, d)


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.randoms(use_true_random=False))
def test_the_same_decisions_whatever_the_input_order(s: Snapshot, rnd: random.Random) -> None:
    def shuffled(items: tuple[object, ...]) -> tuple[object, ...]:
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    other = Snapshot(
        s.now, shuffled(s.nodes), shuffled(s.pending), shuffled(s.running),  # type: ignore[arg-type]
        shuffled(s.quotas), shuffled(s.usage), s.exhausted_projects, s.shares,  # type: ignore[arg-type]
        s.config,
    )  # fmt: skip
    assert schedule(s) == schedule(other)


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.randoms(use_true_random=False))
def test_a_running_index_changes_nothing(s: Snapshot, rnd: random.Random) -> None:
    """The simulator's precomputed releases and victims give the decisions the core's own
    derivation from ``running`` gives (victims in any order)."""
    found = (release_of(r, s.config.predicts) for r in s.running)
    victims = [r for r in s.running if r.qos is QosTier.PREEMPTIBLE or r.borrowing]
    rnd.shuffle(victims)
    index = RunningIndex(tuple(sorted(r for r in found if r is not None)), tuple(victims))
    assert schedule(s) == schedule(dataclasses.replace(s, running_index=index))


def _free_at(s: Snapshot, d: Decisions, name: str, at_s: float) -> list[int]:
    """What node ``name`` will have free at ``at_s`` if every job ends at its walltime."""
    now_s = s.now.timestamp()
    n = next(x for x in s.nodes if x.name == name)
    pending = {j.id: j for j in s.pending}
    whole_taken: set[int] = set()  # GPUs wholly free now that a job still holds at ``at_s``
    cpus, mem = n.cpus_free, n.memory_mb_free
    for start in d.starts:
        j = pending[start.job_id]
        if j.walltime_s is not None and now_s + j.walltime_s <= at_s:
            continue
        for a in start.allocations:
            if a.node == name:
                whole_taken.update(g for g in a.gpu_indices if g in n.free_gpus)
                cpus, mem = cpus - a.cpus, mem - a.memory_mb
    gpus = len(n.free_gpus) - len(whole_taken)
    for r in s.running:
        end = None if r.walltime_s is None else r.started_at.timestamp() + r.walltime_s
        for a in r.allocations:
            if a.node == name and end is not None and max(end, now_s) <= at_s:
                gpus += len(a.gpu_indices) if not 0 < r.gpu_milli < 1000 else 0
                cpus, mem = cpus + a.cpus, mem + a.memory_mb
    return [gpus, cpus, mem]


@settings(max_examples=400, deadline=None)
@given(snapshots(configs=(config_for("fifo_backfill"), PolicyConfig(use_predictions=False))))
def test_backfill_never_delays_the_reserved_job(s: Snapshot) -> None:
    d = schedule(s)
    for reservation in d.reservations:
        j = next(x for x in s.pending if x.id == reservation.job_id)
        need = [1 if j.fractional else j.gpus, j.cpus, j.memory_mb]
        for name in reservation.nodes:
            free = _free_at(s, d, name, reservation.start_at.timestamp())
            assert all(f >= n for f, n in zip(free, need, strict=True)), (name, free, need)
        assert len(reservation.nodes) == (1 if j.fractional else j.nodes)
