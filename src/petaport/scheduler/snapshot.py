"""Scheduler inputs and outputs: frozen dataclasses only.

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

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import TYPE_CHECKING

from petaport.domain.jobs import Allocation, PendingReason, QosTier
from petaport.scheduler.config import PolicyConfig

if TYPE_CHECKING:
    from petaport.scheduler.node_index import NodeIndex

MILLI = 1000  # thousandths of a GPU in one whole GPU
MIN_MILLI = 100  # CPU-only jobs count as a tenth of a GPU when sizing them
Shape = tuple[int, int, int, int, str | None, frozenset[str] | None, int, frozenset[str] | None]
# a QoS tier as a small int, so that a cycle over 100,000 jobs indexes a tuple per job
# instead of hashing an enum member (a Python-level ``__hash__``)
QOS_RANK = {QosTier.PREEMPTIBLE: 0, QosTier.ON_DEMAND: 1, QosTier.RESERVED: 2}


@dataclass(frozen=True)
class NodeState:
    name: str
    pool: str
    gpu_model: str | None
    gpus_total: int
    free_gpus: tuple[int, ...]
    cpus_total: int
    cpus_free: int
    memory_mb_total: int
    memory_mb_free: int
    schedulable: bool = True
    gpu_free_milli: tuple[tuple[int, int], ...] = ()  # (GPU index, free thousandths) if shared


_SHAPES: dict[Shape, tuple[Shape, int]] = {}
_SHAPES_MAX = 1 << 16
_shape_keys = count()


def _intern(shape: Shape) -> tuple[Shape, int]:
    """One tuple per distinct shape and a number for it, so that a cycle can memoise per shape
    by that number instead of hashing an 8-tuple per job. (Not ``id``: compiled code may box
    a shape afresh.) Only a speed-up: equal shapes with different numbers (after the table is
    cleared) are still treated alike."""
    found = _SHAPES.get(shape)
    if found is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        found = _SHAPES[shape] = (shape, next(_shape_keys))
    return found


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job waiting to start. ``gpus``, ``cpus`` and ``memory_mb`` are per node.

    ``gpu_milli`` between 1 and 999 asks for that share of one GPU on one node (``gpus`` is then
    ignored); 0 or 1000 and more means whole GPUs. ``allowed_models`` (any of them will do) adds
    to ``gpu_model``. ``walltime_s`` is the user's limit, ``predicted_duration_s`` the estimate
    from ``prediction`` (ordering and backfill only) and ``oracle_duration_s`` the true duration,
    known only to the simulator and used only by the ``sjf_oracle`` baseline. ``pools`` (None:
    any) names the node pools it may run on: the live service sets it to the pools in Hong Kong
    for a job that uses resident-only data (``docs/catalogue.md``).

    The fields not given to ``__init__`` are derived once, at construction, so that a cycle
    over 100,000 jobs does not recompute them (the simulator keeps its PendingJobs across
    cycles).
    """

    id: str
    org_id: str
    project_id: str
    # derived (below): first, so that the fields the gate reads of every job share one or two
    # cache lines with its ids instead of five (compiled, fields lie in this order)
    shape_key: int = field(init=False, repr=False, compare=False)  # the shape's number
    demand_milli: int = field(init=False, repr=False, compare=False)  # GPUs in all, x1000
    order_class: int = field(init=False, repr=False, compare=False)  # see order_class()
    broke: bool = field(init=False, repr=False, compare=False)  # budget_exhausted, again
    priority: int
    qos: QosTier
    submitted_at: datetime
    gpus: int  # per node
    nodes: int
    cpus: int  # per node
    memory_mb: int  # per node
    gpu_model: str | None = None
    budget_exhausted: bool = False
    gpu_milli: int = 0
    allowed_models: frozenset[str] | None = None
    walltime_s: float | None = None
    predicted_duration_s: float | None = None
    oracle_duration_s: float | None = None
    user: str | None = None
    pools: frozenset[str] | None = None
    submitted_s: float = field(init=False, repr=False, compare=False)
    gpu_s: float | None = field(init=False, repr=False, compare=False)  # predicted GPU seconds
    gpu_s_log: float | None = field(init=False, repr=False, compare=False)  # log1p(gpu_s)
    shape: Shape = field(init=False, repr=False, compare=False)
    qos_rank: int = field(init=False, repr=False, compare=False)  # QOS_RANK: 0 preemptible

    def __post_init__(self) -> None:
        milli = self.gpu_milli if self.fractional else self.gpus * self.nodes * MILLI
        duration = self.predicted_duration_s
        duration = self.walltime_s if duration is None else duration
        gpu_s = None if duration is None else duration * max(milli, MIN_MILLI) / MILLI
        shape = (self.gpus, self.nodes, self.cpus, self.memory_mb, self.gpu_model,
                 self.allowed_models, self.gpu_milli, self.pools)  # fmt: skip
        shape, shape_key = _intern(shape)
        object.__setattr__(self, "demand_milli", milli)
        object.__setattr__(self, "broke", self.budget_exhausted)
        object.__setattr__(self, "submitted_s", self.submitted_at.timestamp())
        object.__setattr__(self, "gpu_s", gpu_s)
        logged = None if gpu_s is None or gpu_s <= -1 else math.log1p(gpu_s)
        object.__setattr__(self, "gpu_s_log", logged)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "shape_key", shape_key)
        rank = QOS_RANK.get(self.qos)
        rank = QOS_RANK[QosTier(self.qos)] if rank is None else rank
        object.__setattr__(self, "qos_rank", rank)
        object.__setattr__(self, "order_class", order_class(self.priority, gpu_s, logged, rank))

    @property
    def fractional(self) -> bool:
        return 0 < self.gpu_milli < MILLI


SIZE_CLASSES = 16  # whole units of log1p(GPU seconds), the last open-ended; then "unknown"
KEY_NOW = 2 * 3 * (SIZE_CLASSES + 1)  # (and KEY_NOW + 1): no class, keyed at once
ORDER_GROUPS = KEY_NOW + 2


def order_class(priority: int, gpu_s: float | None, logged: float | None, rank: int) -> int:
    """Which group of its shape the cycle keeps a job in until it needs its key (ordering.py:
    a group's bound is the best key its jobs could have): ``2 * (3 * size class + QoS
    rank)``, to which the cycle adds the tier (1: beyond its tenant's headroom). The size
    class is ``floor(log1p(GPU seconds))`` up to ``SIZE_CLASSES - 1`` (at least that), or
    ``SIZE_CLASSES`` with no estimate. ``KEY_NOW`` for priority other than 0 and for an
    estimate with no logarithm of at least 0 (nor NaN)."""
    if priority:
        return KEY_NOW
    if logged is None:
        size = SIZE_CLASSES if gpu_s is None else -1
    else:
        size = (
            SIZE_CLASSES - 1 if logged >= SIZE_CLASSES - 1 else int(logged) if logged >= 0 else -1
        )
    return KEY_NOW if size < 0 else 2 * (3 * size + rank)


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A job holding resources. Its end is ``predicted_end`` or ``started_at + walltime_s``
    (unknown when neither is given: its GPUs are then never counted on for a reservation).

    ``borrowing`` is what the scheduler said at its start (``Start.borrowing``): it ran beyond
    its tenant's guarantee and may be preempted when another tenant reclaims its own.
    """

    id: str
    org_id: str
    project_id: str
    qos: QosTier
    started_at: datetime
    allocations: tuple[Allocation, ...]
    walltime_s: float | None = None
    predicted_end: datetime | None = None
    borrowing: bool = False
    gpu_milli: int = 0  # 1..999: the share it holds of the one GPU in its allocation
    gpu_model: str | None = None  # only needed when its nodes are missing from the snapshot
    priority: int = 0
    started_s: float = field(init=False, repr=False, compare=False)
    walltime_end_s: float | None = field(init=False, repr=False, compare=False)
    predicted_end_s: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        started = self.started_at.timestamp()
        predicted = self.predicted_end
        object.__setattr__(self, "started_s", started)
        object.__setattr__(
            self, "walltime_end_s", None if self.walltime_s is None else started + self.walltime_s
        )
        object.__setattr__(
            self, "predicted_end_s", None if predicted is None else predicted.timestamp()
        )


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
