"""The snapshot's per-object values: nodes, pending jobs, running jobs.

They are immutable values, as the snapshot's frozen dataclasses are, but written as plain
classes with ``Final`` attributes: mypy rejects any assignment after ``__init__`` and compiled
(mypyc) their attributes are read-only at run time too. Not dataclasses, because a dataclass's
``__init__`` is generated Python even when the class is compiled (and a frozen one sets each
field through ``object.__setattr__``): the simulator builds a PendingJob for every job and every
changed prediction and a RunningJob for every start, and a native ``__init__`` is about ten
times cheaper. Equality, hash and ``repr`` are a frozen dataclass's: over the constructor's
arguments, in order (``Value``); the attributes derived at construction take no part.

The attributes are declared in the class body in the order compiled code lays them out: the
fields the gate reads of every pending job come first (see design note 005b).
"""

from __future__ import annotations

import math
from datetime import datetime
from itertools import count
from typing import ClassVar, Final

from petaport.domain.jobs import Allocation, QosTier

MILLI = 1000  # thousandths of a GPU in one whole GPU
MIN_MILLI = 100  # CPU-only jobs count as a tenth of a GPU when sizing them
Shape = tuple[int, int, int, int, str | None, frozenset[str] | None, int, frozenset[str] | None]
# a QoS tier as a small int, so that a cycle over 100,000 jobs indexes a tuple per job
# instead of hashing an enum member (a Python-level ``__hash__``)
QOS_RANK = {QosTier.PREEMPTIBLE: 0, QosTier.ON_DEMAND: 1, QosTier.RESERVED: 2}


class Value:
    """Equality, hash and ``repr`` over ``args()``, the constructor's arguments in order (named
    ``FIELDS``), as a frozen dataclass has them. (Not on a hot path: the scheduler compares
    and hashes ids, never these objects.)"""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    def args(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self.FIELDS])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, Value):
            return NotImplemented
        return self.args() == other.args()

    def __hash__(self) -> int:
        return hash(self.args())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(self.FIELDS, self.args(), strict=True))
        return f"{type(self).__name__}({shown})"


class NodeState(Value):
    """One node's capacity and what is free on it now."""

    FIELDS = ("name", "pool", "gpu_model", "gpus_total", "free_gpus", "cpus_total", "cpus_free",
              "memory_mb_total", "memory_mb_free", "schedulable", "gpu_free_milli")  # fmt: skip

    name: Final[str]
    pool: Final[str]
    gpu_model: Final[str | None]
    gpus_total: Final[int]
    free_gpus: Final[tuple[int, ...]]
    cpus_total: Final[int]
    cpus_free: Final[int]
    memory_mb_total: Final[int]
    memory_mb_free: Final[int]
    schedulable: Final[bool]
    gpu_free_milli: Final[tuple[tuple[int, int], ...]]  # (GPU index, free thousandths) if shared

    def __init__(
        self,
        name: str,
        pool: str,
        gpu_model: str | None,
        gpus_total: int,
        free_gpus: tuple[int, ...],
        cpus_total: int,
        cpus_free: int,
        memory_mb_total: int,
        memory_mb_free: int,
        schedulable: bool = True,
        gpu_free_milli: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.name, self.pool, self.gpu_model, self.gpus_total = name, pool, gpu_model, gpus_total
        self.free_gpus, self.cpus_total, self.cpus_free = free_gpus, cpus_total, cpus_free
        self.memory_mb_total, self.memory_mb_free = memory_mb_total, memory_mb_free
        self.schedulable, self.gpu_free_milli = schedulable, gpu_free_milli

    def with_free(self, free_gpus: tuple[int, ...]) -> NodeState:
        """The same node with other wholly free GPUs."""
        return NodeState(self.name, self.pool, self.gpu_model, self.gpus_total, free_gpus,
                         self.cpus_total, self.cpus_free, self.memory_mb_total,
                         self.memory_mb_free, self.schedulable, self.gpu_free_milli)  # fmt: skip


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


class PendingJob(Value):
    """A job waiting to start. ``gpus``, ``cpus`` and ``memory_mb`` are per node.

    ``gpu_milli`` between 1 and 999 asks for that share of one GPU on one node (``gpus`` is then
    ignored); 0 or 1000 and more means whole GPUs. ``allowed_models`` (any of them will do) adds
    to ``gpu_model``. ``walltime_s`` is the user's limit, ``predicted_duration_s`` the estimate
    from ``prediction`` (ordering and backfill only) and ``oracle_duration_s`` the true duration,
    known only to the simulator and used only by the ``sjf_oracle`` baseline. ``pools`` (None:
    any) names the node pools it may run on: the live service sets it to the pools in Hong Kong
    for a job that uses resident-only data (``docs/catalogue.md``).

    The attributes that are not arguments are derived once, at construction, so that a cycle
    over 100,000 jobs does not recompute them (the simulator keeps its PendingJobs across
    cycles).
    """

    FIELDS = ("id", "org_id", "project_id", "priority", "qos", "submitted_at", "gpus", "nodes",
              "cpus", "memory_mb", "gpu_model", "budget_exhausted", "gpu_milli",
              "allowed_models", "walltime_s", "predicted_duration_s", "oracle_duration_s",
              "user", "pools")  # fmt: skip

    id: Final[str]
    org_id: Final[str]
    project_id: Final[str]
    # derived: first, so that the fields the gate reads of every job share one or two cache
    # lines with its ids instead of five
    shape_key: Final[int]  # the shape's number (``_intern``)
    demand_milli: Final[int]  # GPUs in all, x1000
    order_class: Final[int]  # see order_class()
    broke: Final[bool]  # budget_exhausted, again
    priority: Final[int]
    qos: Final[QosTier]
    submitted_at: Final[datetime]
    gpus: Final[int]  # per node
    nodes: Final[int]
    cpus: Final[int]  # per node
    memory_mb: Final[int]  # per node
    gpu_model: Final[str | None]
    budget_exhausted: Final[bool]
    gpu_milli: Final[int]
    allowed_models: Final[frozenset[str] | None]
    walltime_s: Final[float | None]
    predicted_duration_s: Final[float | None]
    oracle_duration_s: Final[float | None]
    user: Final[str | None]
    pools: Final[frozenset[str] | None]
    submitted_s: Final[float]
    gpu_s: Final[float | None]  # predicted GPU seconds
    gpu_s_log: Final[float | None]  # log1p(gpu_s)
    shape: Final[Shape]
    qos_rank: Final[int]  # QOS_RANK: 0 preemptible

    def __init__(
        self,
        id: str,
        org_id: str,
        project_id: str,
        priority: int,
        qos: QosTier,
        submitted_at: datetime,
        gpus: int,
        nodes: int,
        cpus: int,
        memory_mb: int,
        gpu_model: str | None = None,
        budget_exhausted: bool = False,
        gpu_milli: int = 0,
        allowed_models: frozenset[str] | None = None,
        walltime_s: float | None = None,
        predicted_duration_s: float | None = None,
        oracle_duration_s: float | None = None,
        user: str | None = None,
        pools: frozenset[str] | None = None,
    ) -> None:
        self.id, self.org_id, self.project_id, self.priority = id, org_id, project_id, priority
        self.qos, self.submitted_at, self.gpus, self.nodes = qos, submitted_at, gpus, nodes
        self.cpus, self.memory_mb, self.gpu_model = cpus, memory_mb, gpu_model
        self.budget_exhausted, self.gpu_milli = budget_exhausted, gpu_milli
        self.allowed_models, self.walltime_s = allowed_models, walltime_s
        self.predicted_duration_s, self.oracle_duration_s = predicted_duration_s, oracle_duration_s
        self.user, self.pools = user, pools
        milli = gpu_milli if 0 < gpu_milli < MILLI else gpus * nodes * MILLI
        duration = walltime_s if predicted_duration_s is None else predicted_duration_s
        gpu_s = None if duration is None else duration * max(milli, MIN_MILLI) / MILLI
        logged = None if gpu_s is None or gpu_s <= -1 else math.log1p(gpu_s)
        shape = (gpus, nodes, cpus, memory_mb, gpu_model, allowed_models, gpu_milli, pools)
        self.shape, self.shape_key = _intern(shape)
        self.demand_milli, self.broke = milli, budget_exhausted
        self.submitted_s = submitted_at.timestamp()
        self.gpu_s, self.gpu_s_log = gpu_s, logged
        rank = QOS_RANK.get(qos)
        self.qos_rank = QOS_RANK[QosTier(qos)] if rank is None else rank
        self.order_class = order_class(priority, gpu_s, logged, self.qos_rank)

    @property
    def fractional(self) -> bool:
        return 0 < self.gpu_milli < MILLI

    def with_prediction(self, duration_s: float | None) -> PendingJob:
        """The same job with another predicted duration (itself if it is the same)."""
        if duration_s == self.predicted_duration_s:
            return self
        return PendingJob(self.id, self.org_id, self.project_id, self.priority, self.qos,
                          self.submitted_at, self.gpus, self.nodes, self.cpus, self.memory_mb,
                          self.gpu_model, self.budget_exhausted, self.gpu_milli,
                          self.allowed_models, self.walltime_s, duration_s,
                          self.oracle_duration_s, self.user, self.pools)  # fmt: skip


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


class RunningJob(Value):
    """A job holding resources. Its end is ``predicted_end`` or ``started_at + walltime_s``
    (unknown when neither is given: its GPUs are then never counted on for a reservation).

    ``borrowing`` is what the scheduler said at its start (``Start.borrowing``): it ran beyond
    its tenant's guarantee and may be preempted when another tenant reclaims its own.
    """

    FIELDS = ("id", "org_id", "project_id", "qos", "started_at", "allocations", "walltime_s",
              "predicted_end", "borrowing", "gpu_milli", "gpu_model", "priority")  # fmt: skip

    id: Final[str]
    org_id: Final[str]
    project_id: Final[str]
    qos: Final[QosTier]
    started_at: Final[datetime]
    allocations: Final[tuple[Allocation, ...]]
    walltime_s: Final[float | None]
    predicted_end: Final[datetime | None]
    borrowing: Final[bool]
    gpu_milli: Final[int]  # 1..999: the share it holds of the one GPU in its allocation
    gpu_model: Final[str | None]  # only needed when its nodes are missing from the snapshot
    priority: Final[int]
    started_s: Final[float]
    walltime_end_s: Final[float | None]
    predicted_end_s: Final[float | None]

    def __init__(
        self,
        id: str,
        org_id: str,
        project_id: str,
        qos: QosTier,
        started_at: datetime,
        allocations: tuple[Allocation, ...],
        walltime_s: float | None = None,
        predicted_end: datetime | None = None,
        borrowing: bool = False,
        gpu_milli: int = 0,
        gpu_model: str | None = None,
        priority: int = 0,
    ) -> None:
        self.id, self.org_id, self.project_id, self.qos = id, org_id, project_id, qos
        self.started_at, self.allocations, self.walltime_s = started_at, allocations, walltime_s
        self.predicted_end, self.borrowing, self.gpu_milli = predicted_end, borrowing, gpu_milli
        self.gpu_model, self.priority = gpu_model, priority
        started = self.started_s = started_at.timestamp()
        self.walltime_end_s = None if walltime_s is None else started + walltime_s
        self.predicted_end_s = None if predicted_end is None else predicted_end.timestamp()
