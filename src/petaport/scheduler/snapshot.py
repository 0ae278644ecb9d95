"""Scheduler inputs and outputs: immutable values (frozen dataclasses; nodes and jobs are the
plain immutable classes of ``entities``).

Invariants:
- a NodeState lists the GPU indices that are wholly free *now* in ``free_gpus``; a GPU shared
  by fractional jobs is listed in ``gpu_free_milli`` with the thousandths still free (never in
  both); a GPU in neither is fully taken;
- a Start's allocations use only free indices of distinct nodes and never more CPUs or memory
  than a node has free; a fractional Start (``gpu_milli`` > 0) holds ``gpu_milli`` thousandths
  of the one GPU in its one allocation;
- every field added after the foundation has a default meaning "no policy": a Snapshot built
  with the foundation's fields alone is scheduled as before (priority, QoS, FIFO, greedy fit);
- a Start of a job limited to node pools (``PendingJob.pools``) uses only nodes whose
  ``NodeState.pool`` is one of them (never a node the snapshot leaves out);
- ``running_index`` is optional and only saves work: a caller that keeps its running jobs
  across cycles (the simulator) may give what the core would derive from ``running`` anyway
  (see ``RunningIndex``); without it (the live service) the core derives it. Likewise
  ``node_index`` (``NodeIndex``): ``nodes`` already indexed as the capacity index starts,
  and ``fair_share``: the factors the core would compute from ``usage``.

Ids are the domain's public ids: project ids are unique across orgs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from petaport.domain.jobs import Allocation, PendingReason
from petaport.scheduler.config import PolicyConfig
from petaport.scheduler.entities import (
    KEY_NOW,
    MILLI,
    MIN_MILLI,
    ORDER_GROUPS,
    QOS_RANK,
    SIZE_CLASSES,
    NodeState,
    PendingJob,
    RunningJob,
    Shape,
    order_class,
)

if TYPE_CHECKING:
    from petaport.scheduler.node_index import NodeIndex

__all__ = [
    "KEY_NOW",
    "MILLI",
    "MIN_MILLI",
    "ORDER_GROUPS",
    "PREEMPT_RECLAIM",
    "PREEMPT_TIER",
    "QOS_RANK",
    "SIZE_CLASSES",
    "Decisions",
    "NodeState",
    "PendingJob",
    "PoolShape",
    "Preemption",
    "Quota",
    "Release",
    "Reservation",
    "RunningIndex",
    "RunningJob",
    "Shape",
    "Snapshot",
    "Start",
    "Usage",
    "order_class",
    "release_of",
]

# expected end (s), job id, allocations, GPU thousandths (fractional), GPU model
Release = tuple[float, str, tuple[Allocation, ...], int, str | None]


def release_of(job: RunningJob, predicts: bool) -> Release | None:
    """When a running job is expected to end, as backfill projects it (``predicts``:
    ``PolicyConfig.predicts``), not yet clamped to now; None when its end is unknown."""
    end = job.predicted_end_s if predicts else None
    if end is None:
        end = job.walltime_end_s
        if end is None:
            return None
    return (end, job.id, job.allocations, job.gpu_milli, job.gpu_model)


@dataclass(frozen=True)
class RunningIndex:
    """What a caller that keeps its running jobs across cycles (the simulator) may hand the
    core instead of letting every cycle derive it from ``Snapshot.running`` again. It must be
    exactly what that derivation gives under ``Snapshot.config``:

    - ``releases``: ``release_of(job, config.predicts)`` of every running job with a known end,
      sorted (by end, then id);
    - ``victims``: the running jobs that are preemptible or borrowing, in any order;
    - optionally ``due``: the first ``due_count`` releases, those that end by ``due_s``
      (seconds since the epoch), summed per node as [whole GPUs, CPUs, MiB] (a GPU share
      adds no GPU). When ``due_s`` is the snapshot's ``now`` and every node named is listed,
      backfill releases them at once instead of one by one. The caller may change the
      mapping between calls only.
    """

    releases: Sequence[Release]
    victims: Collection[RunningJob]
    due_s: float | None = None
    due_count: int = 0
    due: Mapping[str, Sequence[int]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Quota:
    """What a project (or a whole org, ``project_id`` None) may run at once, per GPU model
    (``gpu_model`` None: all models together), in GPUs. Kueue's cohort model, one cohort:

    - ``nominal_gpus`` is guaranteed: work within it may reclaim borrowed capacity;
    - ``borrowing_limit_gpus`` caps use beyond nominal (None: any idle capacity);
    - ``lending_limit_gpus`` caps how much of the idle nominal others may use (None: all of it).
    """

    org_id: str
    project_id: str | None
    gpu_model: str | None
    nominal_gpus: float
    borrowing_limit_gpus: float | None = None
    lending_limit_gpus: float | None = None


@dataclass(frozen=True)
class PoolShape:
    """``count`` identical nodes. When a Snapshot lists its pools, its ``nodes`` may leave out
    nodes without a free GPU (they are then fully busy; running jobs on them should carry
    ``gpu_model``): a cycle then costs what the free part of the cluster costs."""

    gpu_model: str | None
    gpus_per_node: int
    cpus: int
    memory_mb: int
    count: int
    name: str | None = None  # the pool's name (NodeState.pool of its nodes)


@dataclass(frozen=True)
class Usage:
    """Historical GPU use of a project, already decayed to ``as_of`` (see ``fairshare``)."""

    org_id: str
    project_id: str
    gpu_s: float
    as_of: datetime


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    nodes: Collection[NodeState]  # a tuple, or a caller's view unchanged during the call
    pending: tuple[PendingJob, ...]
    running: Collection[RunningJob] = ()  # a tuple, or a caller's view unchanged in the call
    quotas: tuple[Quota, ...] = ()
    usage: tuple[Usage, ...] = ()
    exhausted_projects: frozenset[str] = frozenset()  # budget state from the money side
    shares: tuple[tuple[str, float], ...] = ()  # (org id, fair-share weight); see fairshare
    config: PolicyConfig = field(default_factory=PolicyConfig)
    pools: tuple[PoolShape, ...] = ()  # the whole cluster, when ``nodes`` lists only free nodes
    running_index: RunningIndex | None = None  # optional, derived from ``running``: see there
    node_index: NodeIndex | None = None  # optional, derived from ``nodes``: see node_index.py
    # optional: the fair-share factors exactly as ``fairshare.factors`` derives them from
    # ``usage``, ``quotas``, ``shares`` and ``now`` (``usage`` may then be left out)
    fair_share: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Start:
    job_id: str
    allocations: tuple[Allocation, ...]
    gpu_milli: int = 0  # 1..999: a share of the one GPU in the one allocation
    borrowing: bool = False  # beyond its tenant's guarantee: keep it on the RunningJob


@dataclass(frozen=True)
class Preemption:
    """Stop (and requeue) running job ``job_id`` so that pending ``for_job`` can start."""

    job_id: str
    reason: str  # PREEMPT_RECLAIM or PREEMPT_TIER
    for_job: str


PREEMPT_RECLAIM = "ReclaimGuarantee"  # it borrowed capacity its owner now reclaims
PREEMPT_TIER = "PreemptibleTier"  # preemptible work makes room for reserved / on-demand work


@dataclass(frozen=True)
class Reservation:
    """The top blocked job is expected to start at ``start_at`` on ``nodes`` (EASY backfill)."""

    job_id: str
    start_at: datetime
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Decisions:
    starts: tuple[Start, ...] = ()
    waits: dict[str, PendingReason] = field(default_factory=dict)
    preemptions: tuple[Preemption, ...] = ()
    reservations: tuple[Reservation, ...] = ()
