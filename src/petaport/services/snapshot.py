"""Step 2 of a scheduling cycle: the scheduler's Snapshot from what storage and the backend say.

Free capacity per node (inventory minus running allocations; GPUs shared by fractional jobs
with their free thousandths), pending jobs with walltimes and predicted durations, running jobs
with start, walltime, tier and borrowing flag, quotas, decayed usage (running work included)
and the policy from settings (``docs/design/007-live-scheduling.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from petaport.domain.inventory import NodePool
from petaport.domain.jobs import GPU_MILLI, QueuedJob, RunningWork
from petaport.scheduler import (
    NodeState,
    PendingJob,
    Policy,
    PolicyConfig,
    RunningJob,
    Snapshot,
)
from petaport.scheduler.prediction import DurationHistory
from petaport.services.catalogue_queue import QueueLimits, queue_limits
from petaport.services.context import Context
from petaport.services.ports import NodeInfo
from petaport.services.quotas import running_usage, scheduler_quotas, stored_usage
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.quotas import QuotaRepo, UsageRepo

MILLI = GPU_MILLI


def policy_config(ctx: Context) -> PolicyConfig:
    st = ctx.settings
    return PolicyConfig(
        policy=Policy(st.scheduler_policy),
        backfill=st.scheduler_backfill,
        preemption=st.scheduler_preemption,
        half_life_s=st.fairshare_half_life_s,
    )


@dataclass(frozen=True)
class Loaded:
    """What one cycle read: the queue and the running work, by job id; the queued jobs left
    out of the snapshot because an access grant they rely on lapsed (id -> why)."""

    pending: dict[str, QueuedJob]
    running: dict[str, RunningWork]
    lapsed: dict[str, str] = field(default_factory=dict)


def node_pools(pools: list[NodePool], nodes: list[NodeInfo], backend_pool: str) -> dict[str, str]:
    """Node name -> the name of its pool: the pool of that name or whose ``node_names`` include
    it (``gpu-a-007``), else the backend's own pool (``backend_pool``)."""
    counts = {p.name: p.node_count for p in pools}

    def pool_of(name: str) -> str:
        if name in counts:
            return name
        head, _, tail = name.rpartition("-")
        count = counts.get(head)
        if count is not None and tail.isdigit() and tail == f"{int(tail):03d}":
            return head if 1 <= int(tail) <= count else backend_pool
        return backend_pool

    return {n.name: pool_of(n.name) for n in nodes}


def take_snapshot(
    ctx: Context, inventory: list[NodeInfo], history: DurationHistory | None = None
) -> tuple[Snapshot, Loaded]:
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        running = repo.running_work()
        pending = repo.queue()
        quotas = QuotaRepo(s).list()
        usage = UsageRepo(s).all()
        pools = InventoryRepo(s).list_pools()
        limits = queue_limits(s, ctx.clock())
    now = ctx.clock()
    config = policy_config(ctx)
    predict = _predictor(history if config.predicts else None)
    pool_of = node_pools(pools, inventory, ctx.settings.local_node_name)
    queued = _queued(pending, limits, frozenset(p.name for p in pools if p.in_hong_kong), predict)
    snapshot = Snapshot(
        now,
        _node_states(inventory, running, pool_of),
        queued,
        tuple(_running_job(r, predict) for r in running if not r.stopping),
        scheduler_quotas(quotas),
        stored_usage(usage) + running_usage(running, now),
        config=config,
    )
    loaded = Loaded({j.id: j for j in pending}, {r.job_id: r for r in running}, limits.lapsed)
    return snapshot, loaded


def _queued(pending: list[QueuedJob], limits: QueueLimits, in_hk: frozenset[str],
            predict: Predictor) -> tuple[PendingJob, ...]:  # fmt: skip
    """The queue as the core sees it: jobs whose grant lapsed left out, jobs that use
    resident-only data limited to the pools in Hong Kong."""
    if not limits.resident and not limits.lapsed:
        return tuple(_pending_job(j, predict) for j in pending)
    lapsed, resident = limits.lapsed, limits.resident
    return tuple(
        _pending_job(j, predict, in_hk if j.id in resident else None)
        for j in pending
        if j.id not in lapsed
    )


def _node_states(
    inventory: list[NodeInfo], running: list[RunningWork], pool_of: dict[str, str]
) -> tuple[NodeState, ...]:
    """Free capacity per node: whole GPUs not held, and GPUs shared by fractional jobs with
    the thousandths still free."""
    whole: dict[str, set[int]] = {}
    shared: dict[str, dict[int, int]] = {}  # node -> GPU index -> thousandths held
    used_cpus: dict[str, int] = {}
    used_mem: dict[str, int] = {}
    for r in running:
        for a in r.allocations:
            if r.gpu_milli:
                held = shared.setdefault(a.node, {})
                for i in a.gpu_indices:
                    held[i] = held.get(i, 0) + r.gpu_milli
            else:
                whole.setdefault(a.node, set()).update(a.gpu_indices)
            used_cpus[a.node] = used_cpus.get(a.node, 0) + a.cpus
            used_mem[a.node] = used_mem.get(a.node, 0) + a.memory_mb
    states = []
    for n in inventory:
        taken = whole.get(n.name, set())
        sharing = {i: MILLI - m for i, m in shared.get(n.name, {}).items()}
        states.append(
            NodeState(
                n.name,
                pool_of[n.name],
                n.gpu_model,
                len(n.gpu_indices),
                tuple(i for i in n.gpu_indices if i not in taken and i not in sharing),
                n.cpus,
                n.cpus - used_cpus.get(n.name, 0),
                n.memory_mb,
                n.memory_mb - used_mem.get(n.name, 0),
                gpu_free_milli=tuple(
                    (i, free) for i, free in sorted(sharing.items()) if free > 0 and i not in taken
                ),
            )
        )
    return tuple(states)


Predictor = Callable[[PendingJob], float | None]


def _predictor(history: DurationHistory | None) -> Predictor:
    """Predicted duration from the history of similar jobs (same project, user and GPU
    demand first), memoised per (project, user, demand) for one cycle."""
    memo: dict[tuple[str, str | None, int], float | None] = {}

    def predict(job: PendingJob) -> float | None:
        if history is None:
            return None
        key = (job.project_id, job.user, job.demand_milli)
        if key not in memo:
            memo[key] = history.predict(job)
        return memo[key]

    return predict


def _pending_job(
    j: QueuedJob, predict: Predictor, pools: frozenset[str] | None = None
) -> PendingJob:
    job = PendingJob(
        j.id,
        j.org_id,
        j.project_id,
        j.priority,
        j.qos,
        j.submitted_at,
        j.gpus,
        j.nodes,
        j.cpus,
        j.memory_mb,
        j.gpu_model,
        gpu_milli=j.gpu_milli,
        walltime_s=j.walltime_s,
        user=j.user_id,
        pools=pools,
    )
    predicted = predict(job)
    return job if predicted is None else job.with_prediction(predicted)


def _running_job(r: RunningWork, predict: Predictor) -> RunningJob:
    gpus = {len(a.gpu_indices) for a in r.allocations}
    probe = PendingJob(
        r.job_id, r.org_id, r.project_id, r.priority, r.qos, r.started_at,
        max(gpus, default=0), len(r.allocations), 0, 0, gpu_milli=r.gpu_milli, user=r.user_id,
    )  # fmt: skip
    predicted = predict(probe)
    return RunningJob(
        r.job_id,
        r.org_id,
        r.project_id,
        r.qos,
        r.started_at,
        r.allocations,
        walltime_s=r.walltime_s,
        predicted_end=None if predicted is None else r.started_at + timedelta(seconds=predicted),
        borrowing=r.borrowing,
        gpu_milli=r.gpu_milli,
        priority=r.priority,
    )
