"""The foundation policy: priority then FIFO, first-fit gang placement, reasons for waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.domain.jobs import PendingReason, QosTier
from petaport.scheduler import NodeState, PendingJob, Snapshot, schedule

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def node(
    name: str = "n1",
    gpus: int = 8,
    free: tuple[int, ...] | None = None,
    model: str | None = "H800",
    cpus: int = 64,
    mem: int = 512_000,
) -> NodeState:
    free_gpus = tuple(range(gpus)) if free is None else free
    return NodeState(name, "pool", model, gpus, free_gpus, cpus, cpus, mem, mem)


def job(
    jid: str,
    gpus: int = 1,
    nodes: int = 1,
    *,
    priority: int = 0,
    age_s: int = 0,
    model: str | None = None,
    cpus: int = 1,
    mem: int = 1024,
    qos: QosTier = QosTier.ON_DEMAND,
    budget_exhausted: bool = False,
) -> PendingJob:
    return PendingJob(
        jid,
        "org",
        "prj",
        priority,
        qos,
        T0 - timedelta(seconds=age_s),
        gpus,
        nodes,
        cpus,
        mem,
        model,
        budget_exhausted,
    )


def run(
    nodes: list[NodeState], jobs: list[PendingJob]
) -> tuple[dict[str, object], dict[str, PendingReason]]:
    d = schedule(Snapshot(T0, tuple(nodes), tuple(jobs)))
    return {s.job_id: s.allocations for s in d.starts}, d.waits


def test_two_four_gpu_jobs_share_no_gpu_and_a_third_waits_for_resources() -> None:
    starts, waits = run(
        [node()], [job("a", 4, age_s=3), job("b", 4, age_s=2), job("c", 4, age_s=1)]
    )
    gpus_a = set(starts["a"][0].gpu_indices)  # type: ignore[index]
    gpus_b = set(starts["b"][0].gpu_indices)  # type: ignore[index]
    assert len(gpus_a) == len(gpus_b) == 4 and not gpus_a & gpus_b
    assert waits == {"c": PendingReason.RESOURCES}


def test_priority_beats_age_and_fifo_breaks_ties() -> None:
    starts, waits = run([node(gpus=4)], [job("old", 4, age_s=10), job("vip", 4, priority=5)])
    assert list(starts) == ["vip"] and waits == {"old": PendingReason.RESOURCES}
    starts, _ = run([node(gpus=4)], [job("young", 4, age_s=1), job("old", 4, age_s=9)])
    assert list(starts) == ["old"]


def test_reasons_for_jobs_that_can_never_run() -> None:
    _, waits = run(
        [node(gpus=8)], [job("big", 16), job("a100", 1, model="A100"), job("wide", 1, nodes=2)]
    )
    assert waits == {
        "big": PendingReason.PARTITION_CONFIG,
        "a100": PendingReason.GPU_MODEL_UNAVAILABLE,
        "wide": PendingReason.PARTITION_CONFIG,
    }


def test_gang_job_takes_all_nodes_or_none() -> None:
    nodes = [node("n1"), node("n2", free=(0, 1)), node("n3")]
    starts, _ = run(nodes, [job("gang", 4, nodes=2)])
    assert [a.node for a in starts["gang"]] == ["n1", "n3"]  # type: ignore[attr-defined]
    starts, waits = run(nodes, [job("gang3", 4, nodes=3)])
    assert not starts and waits == {"gang3": PendingReason.RESOURCES}


def test_model_constraint_is_case_insensitive_and_budget_blocks() -> None:
    starts, waits = run(
        [node(model="H800")], [job("m", 1, model="h800"), job("broke", 1, budget_exhausted=True)]
    )
    assert "m" in starts and waits == {"broke": PendingReason.BUDGET_EXHAUSTED}


def test_cpu_and_memory_limit_placement_too() -> None:
    starts, waits = run(
        [node(gpus=0, model=None, cpus=4, mem=4000)],
        [job("a", 0, cpus=3, age_s=2), job("b", 0, cpus=2, age_s=1), job("c", 0, mem=5000)],
    )
    assert list(starts) == ["a"]
    assert waits == {"b": PendingReason.RESOURCES, "c": PendingReason.PARTITION_CONFIG}


nodes_st = st.lists(
    st.builds(
        lambda g, used, c: node(f"n{g}{used}{c}", g, tuple(range(used, g)), cpus=c),
        st.integers(0, 8),
        st.integers(0, 8),
        st.integers(1, 16),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda n: n.name,
)
jobs_st = st.lists(
    st.builds(
        lambda i, g, n, p: job(f"j{i}", g, n, priority=p, age_s=i),
        st.integers(0, 10_000),
        st.integers(0, 8),
        st.integers(1, 3),
        st.integers(0, 2),
    ),
    max_size=25,
    unique_by=lambda j: j.id,
)


@settings(max_examples=300, deadline=None)
@given(nodes_st, jobs_st)
def test_never_over_allocates_and_every_job_is_decided(
    nodes: list[NodeState], jobs: list[PendingJob]
) -> None:
    d = schedule(Snapshot(T0, tuple(nodes), tuple(jobs)))
    by_name = {n.name: n for n in nodes}
    given_out: set[tuple[str, int]] = set()
    cpus: dict[str, int] = {}
    for start in d.starts:
        pending = next(j for j in jobs if j.id == start.job_id)
        assert len(start.allocations) == pending.nodes  # gang: all nodes at once
        assert len({a.node for a in start.allocations}) == pending.nodes
        for a in start.allocations:
            assert len(a.gpu_indices) == pending.gpus
            for idx in a.gpu_indices:
                assert idx in by_name[a.node].free_gpus  # only free GPUs
                assert (a.node, idx) not in given_out  # never a GPU twice
                given_out.add((a.node, idx))
            cpus[a.node] = cpus.get(a.node, 0) + a.cpus
    assert all(cpus[n] <= by_name[n].cpus_free for n in cpus)
    decided = {s.job_id for s in d.starts} | set(d.waits)
    assert decided == {j.id for j in jobs} and not {s.job_id for s in d.starts} & set(d.waits)


@settings(max_examples=100, deadline=None)
@given(nodes_st, jobs_st)
def test_deterministic(nodes: list[NodeState], jobs: list[PendingJob]) -> None:
    snap = Snapshot(T0, tuple(nodes), tuple(jobs))
    assert schedule(snap) == schedule(Snapshot(T0, tuple(nodes), tuple(reversed(jobs))))
