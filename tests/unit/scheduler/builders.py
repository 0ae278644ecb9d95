"""Small builders for scheduler tests: a node, a job, a running job, a quota, a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import (
    Decisions,
    NodeState,
    PendingJob,
    PolicyConfig,
    Quota,
    RunningJob,
    Snapshot,
    Usage,
    schedule,
)
from petaport.scheduler.entities import Value

T0 = datetime(2026, 1, 1, tzinfo=UTC)
V = TypeVar("V", bound=Value)


def changed(value: V, **changes: Any) -> V:
    """A node or job with some arguments changed (``dataclasses.replace`` for ``entities``)."""
    unknown = set(changes) - set(value.FIELDS)
    assert not unknown, f"not arguments of {type(value).__name__}: {unknown}"
    args = dict(zip(value.FIELDS, value.args(), strict=True)) | changes
    return cast(V, cast(Any, type(value))(**args))


def node(
    name: str = "n1",
    gpus: int = 8,
    free: tuple[int, ...] | None = None,
    *,
    model: str | None = "H800",
    cpus: int = 64,
    cpus_free: int | None = None,
    mem: int = 512_000,
    shared: tuple[tuple[int, int], ...] = (),
    schedulable: bool = True,
    pool: str = "pool",
) -> NodeState:
    free_gpus = tuple(range(gpus)) if free is None else free
    return NodeState(
        name, pool, model, gpus, free_gpus, cpus, cpus if cpus_free is None else cpus_free,
        mem, mem, schedulable, shared,
    )  # fmt: skip


def job(
    jid: str,
    gpus: int = 1,
    nodes: int = 1,
    *,
    org: str = "org_a",
    project: str = "prj_a",
    priority: int = 0,
    age_s: float = 0,
    model: str | None = None,
    models: frozenset[str] | None = None,
    cpus: int = 1,
    mem: int = 1024,
    qos: QosTier = QosTier.ON_DEMAND,
    milli: int = 0,
    walltime_s: float | None = None,
    predicted_s: float | None = None,
    oracle_s: float | None = None,
    user: str | None = None,
    budget_exhausted: bool = False,
    pools: frozenset[str] | None = None,
) -> PendingJob:
    return PendingJob(
        jid, org, project, priority, qos, T0 - timedelta(seconds=age_s), gpus, nodes, cpus, mem,
        model, budget_exhausted, milli, models, walltime_s, predicted_s, oracle_s, user, pools,
    )  # fmt: skip


def running(
    jid: str,
    node_gpus: dict[str, tuple[int, ...]],
    *,
    org: str = "org_b",
    project: str = "prj_b",
    qos: QosTier = QosTier.ON_DEMAND,
    started_s_ago: float = 60,
    walltime_s: float | None = None,
    ends_in_s: float | None = None,
    borrowing: bool = False,
    cpus: int = 1,
    mem: int = 1024,
    milli: int = 0,
) -> RunningJob:
    allocations = tuple(Allocation(n, g, cpus, mem) for n, g in sorted(node_gpus.items()))
    predicted = None if ends_in_s is None else T0 + timedelta(seconds=ends_in_s)
    return RunningJob(
        jid, org, project, qos, T0 - timedelta(seconds=started_s_ago), allocations, walltime_s,
        predicted, borrowing, milli,
    )  # fmt: skip


def quota(
    project: str | None,
    nominal: float,
    *,
    org: str = "org_a",
    model: str | None = None,
    borrow: float | None = None,
    lend: float | None = None,
) -> Quota:
    return Quota(org, project, model, nominal, borrow, lend)


def usage(project: str, gpu_s: float, *, org: str | None = None) -> Usage:
    return Usage(org or project.replace("prj", "org"), project, gpu_s, T0)


def snap(
    nodes: list[NodeState],
    jobs: list[PendingJob],
    *,
    running: list[RunningJob] | None = None,
    quotas: list[Quota] | None = None,
    usage: list[Usage] | None = None,
    config: PolicyConfig | None = None,
    exhausted: frozenset[str] = frozenset(),
    shares: tuple[tuple[str, float], ...] = (),
) -> Snapshot:
    return Snapshot(
        T0, tuple(nodes), tuple(jobs), tuple(running or ()), tuple(quotas or ()),
        tuple(usage or ()), exhausted, shares, config or PolicyConfig(),
    )  # fmt: skip


def run(snapshot: Snapshot) -> tuple[dict[str, tuple[Allocation, ...]], Decisions]:
    d = schedule(snapshot)
    return {s.job_id: s.allocations for s in d.starts}, d


def gpus_of(allocations: tuple[Allocation, ...]) -> list[tuple[str, int]]:
    return [(a.node, g) for a in allocations for g in a.gpu_indices]
