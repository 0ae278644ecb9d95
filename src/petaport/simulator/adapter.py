"""The one place the simulator touches the scheduler core: it builds Snapshots, reads Decisions.

Everything else in the simulator works on its own types; this module turns them into the
core's ``Snapshot`` / ``PendingJob`` / ``RunningJob`` / ``NodeState`` / ``Usage`` and turns
``Decisions`` back into starts (job index, allocations, GPU share, borrowing) and preemptions.
The production ``petaport.scheduler.schedule`` decides; the policy travels in
``Snapshot.config``.

It also states what the engine may assume about the core's order, for exact pruning
(``group_of`` and ``rank``): jobs of one group differ only in submission time and id, so the
core orders them by submission; ``rank`` sorts a SKIP policy's jobs of one shape as the core
does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Hashable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import (
    NodeIndex,
    NodeState,
    PendingJob,
    PoolShape,
    RunningIndex,
    RunningJob,
    Snapshot,
    schedule,
)
from petaport.scheduler.config import Blocked, Policy, PolicyConfig, config_for
from petaport.scheduler.placement import gang_shape, gpu_model_matches
from petaport.simulator.model import NodePool, TraceJob
from petaport.simulator.state import MILLI, Shape, SimNode

if TYPE_CHECKING:
    from petaport.simulator.policies import SimPolicy

CoreStart = tuple[int, tuple[Allocation, ...], int, bool]  # index, allocations, milli, borrowing
__all__ = [
    "Blocked",
    "CoreAdapter",
    "CoreDecision",
    "CoreStart",
    "core_summary",
    "job_shape",
    "models_match",
]


class CoreDecision:
    """A plain class (compiled: a native ``__init__``; a dataclass's is generated Python)."""

    def __init__(self, starts: list[CoreStart], victims: list[int]) -> None:
        self.starts = starts  # in the core's order
        self.victims = victims  # running jobs to preempt (requeue)


def models_match(node_model: str | None, wanted: str) -> bool:
    """The core's model rule."""
    return gpu_model_matches(node_model, wanted)


def job_shape(job: TraceJob, gpus_per_node: int) -> Shape:
    """The job as the core will see it: per-node share of a gang, models, GPU thousandths."""
    models = frozenset(job.gpu_models) if job.gpu_models else None
    if job.gpus >= 1 and 0 < job.gpu_milli < MILLI:
        return (1, 1, job.cpus, job.memory_mb, models, job.gpu_milli)
    gpus, nodes = gang_shape(job.gpus, gpus_per_node)
    return (gpus, nodes, -(-job.cpus // nodes), -(-job.memory_mb // nodes), models, 0)


def core_config(policy: str, options: dict[str, Any]) -> PolicyConfig:
    """The core's configuration of ``policy`` with ``options`` (PolicyConfig fields) applied."""
    known = {f.name for f in dataclasses.fields(PolicyConfig)} - {"policy"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown core options {unknown}; known: {sorted(known)}")
    try:
        return dataclasses.replace(config_for(policy), **options)
    except TypeError as bad:
        raise ValueError(str(bad)) from None


def job_id(index: int) -> str:
    return f"j{index:08d}"


def job_index(core_id: str) -> int:
    return int(core_id[1:])


class CoreAdapter:
    """Snapshots in, starts and preemptions out, for one policy of one replay."""

    def __init__(
        self,
        origin: datetime,
        policy: SimPolicy,
        shares: dict[str, float],
        pools: Iterable[NodePool] = (),
    ) -> None:
        self.origin = origin
        self._at_s, self._at = 0.0, origin  # the last instant asked for: at(0.0)
        self._at_ts: float | None = None
        # the whole cluster, for snapshots that list every node (the core then sizes jobs
        # against the pools instead of counting node shapes every cycle)
        self.pools = tuple(
            PoolShape(p.gpu_model, p.gpus_per_node, p.cpus, p.memory_mb, p.count, p.name)
            for p in pools
        )
        self.policy = policy
        self.config = core_config(policy.name, policy.core)
        self.blocked: Blocked = self.config.blocked
        # the queue stops at its first blocked job and the order is submission: the engine may
        # show the core just the head of the queue
        self.fifo_stop = self.blocked is Blocked.STOP and self.config.policy is Policy.FIFO
        self.preempts = self.config.preempts
        self.predicts = self.config.predicts
        self.fair_share = self.config.policy is Policy.DEFAULT and bool(
            self.config.weight_fairshare
        )
        self.shares = tuple(sorted(shares.items()))
        self.calls = 0

    def at(self, seconds: float) -> datetime:
        """The instant ``seconds`` after the trace's start (the last one remembered: a cycle
        asks for its instant three times, and a start for it again)."""
        if seconds == self._at_s:
            return self._at
        moment = self._at = self.origin + timedelta(seconds=seconds)
        self._at_s, self._at_ts = seconds, None
        return moment

    def timestamp(self, seconds: float) -> float:
        """``at(seconds).timestamp()``: the core's ``now`` in seconds since the epoch."""
        moment = self.at(seconds)
        ts = self._at_ts
        if ts is None:
            ts = self._at_ts = moment.timestamp()
        return ts

    def pending_job(
        self, index: int, job: TraceJob, shape: Shape, walltime_s: float | None
    ) -> PendingJob:
        gpus, nodes, cpus, memory_mb, models, milli = shape
        one = next(iter(models)) if models and len(models) == 1 else None
        return PendingJob(
            id=job_id(index),
            org_id=job.tenant,
            project_id=job.tenant,
            priority=0,
            qos=QosTier(job.qos),
            submitted_at=self.at(job.submit_s),
            gpus=gpus,
            nodes=nodes,
            cpus=cpus,
            memory_mb=memory_mb,
            gpu_model=one,
            gpu_milli=milli,
            allowed_models=models if models and len(models) > 1 else None,
            walltime_s=walltime_s,
            oracle_duration_s=job.duration_s if self.config.policy is Policy.SJF_ORACLE else None,
        )

    def group_of(self, job: PendingJob, shape: Shape) -> Hashable:
        """Jobs the core orders by submission among themselves and treats alike otherwise."""
        if self.blocked is Blocked.SKIP:
            return shape
        if self.config.policy is Policy.DEFAULT:
            return (
                shape,
                job.org_id,
                job.project_id,
                job.qos,
                job.priority,
                job.walltime_s,
                job.user,
            )
        return (shape, job.walltime_s)

    def rank(self, job: PendingJob, index: int) -> tuple[float, int]:
        """The core's order within a group (SKIP: within a shape)."""
        if self.config.policy is Policy.SJF_ORACLE:
            return (job.oracle_duration_s or float("inf"), index)
        return (0.0, index)

    def running_job(
        self,
        pending: PendingJob,
        start_s: float,
        allocs: tuple[Allocation, ...],
        milli: int,
        borrowing: bool,
    ) -> RunningJob:
        predicted = pending.predicted_duration_s if self.predicts else None
        return RunningJob(
            id=pending.id,
            org_id=pending.org_id,
            project_id=pending.project_id,
            qos=pending.qos,
            started_at=self.at(start_s),
            allocations=allocs,
            walltime_s=pending.walltime_s,
            predicted_end=None if predicted is None else self.at(start_s + predicted),
            borrowing=borrowing,
            gpu_milli=milli,
            gpu_model=pending.gpu_model,
            priority=pending.priority,
        )

    @staticmethod
    def node_view(node: SimNode) -> NodeState:
        view = node.cached
        if view is None:
            view = node.cached = NodeState(
                node.name,
                node.pool.name,
                node.model,
                node.gpus_total,
                tuple(node.free),
                node.cpus_total,
                node.cpus_free,
                node.mem_total,
                node.mem_free,
                gpu_free_milli=tuple(sorted(node.shared.items())),
            )
        assert isinstance(view, NodeState)
        return view

    def decide(
        self,
        now_s: float,
        nodes: Collection[NodeState],
        pending: Sequence[PendingJob],
        running: Collection[RunningJob],
        fair_share: dict[str, float] | None,
        whole: bool = False,
        running_index: RunningIndex | None = None,
        node_index: NodeIndex | None = None,
    ) -> CoreDecision:
        """Run the production core once (``whole``: ``nodes`` lists every node;
        ``running_index``, ``node_index`` and ``fair_share`` (the fair-share factors): kept by
        the engine, exactly as the core would derive them; ``running`` may be a live view of
        the engine's, unchanged during the call)."""
        self.calls += 1
        decisions = schedule(
            Snapshot(
                self.at(now_s),
                nodes,
                tuple(pending),
                running,
                shares=self.shares,
                config=self.config,
                pools=self.pools if whole else (),
                running_index=running_index,
                node_index=node_index,
                fair_share=fair_share,
            )
        )
        return CoreDecision(
            [
                (job_index(s.job_id), s.allocations, s.gpu_milli, s.borrowing)
                for s in decisions.starts
            ],
            [job_index(p.job_id) for p in decisions.preemptions],
        )


def core_summary() -> str:
    """Which scheduler core ran (for the report)."""
    return f"petaport.scheduler.schedule ({schedule.__module__})"
