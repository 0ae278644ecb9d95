"""Per-job replay records and the result of one replay (the input of the metrics).

A ``SimJob`` is the engine's mutable record of one trace job; a ``JobOutcome`` is its frozen
summary once finished; a ``ReplayResult`` holds no wall-clock figures, so equal inputs give
equal results.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from petaport.domain.jobs import Allocation
from petaport.scheduler.snapshot import PendingJob
from petaport.simulator.model import TraceJob
from petaport.simulator.state import Shape


class SimJob:
    __slots__ = (
        "allocs",
        "attempt",
        "end_s",
        "first_start_s",
        "group",
        "index",
        "learned",
        "lost_gpu_s",
        "milli",
        "pending",
        "preemptions",
        "rank",
        "shape",
        "start_s",
        "trace",
        "unschedulable",
    )

    def __init__(
        self,
        index: int,
        trace: TraceJob,
        shape: Shape,
        pending: PendingJob,
        group: Hashable,
        rank: tuple[float, int],
    ) -> None:
        self.index, self.trace, self.shape, self.pending = index, trace, shape, pending
        self.group, self.rank = group, rank
        self.allocs: tuple[Allocation, ...] = ()
        self.milli = 0  # GPU thousandths of a fractional start (0: whole GPUs)
        self.learned = -1  # history size of its project when its prediction was last set
        self.start_s = 0.0
        self.first_start_s: float | None = None
        self.end_s: float | None = None
        self.attempt = self.preemptions = 0
        self.lost_gpu_s = 0.0
        self.unschedulable = False

    @property
    def gpus(self) -> float:
        """GPUs held while running (a fraction for a shared GPU)."""
        if self.shape[5]:
            return self.shape[5] / 1000
        return self.shape[0] * self.shape[1]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    id: str
    tenant: str
    submit_s: float
    start_s: float  # first start
    end_s: float
    duration_s: float
    gpus: float  # GPUs held (a fraction for a share of one GPU)
    preemptions: int
    lost_gpu_s: float

    @property
    def jct_s(self) -> float:
        return self.end_s - self.submit_s

    @property
    def wait_s(self) -> float:
        return self.start_s - self.submit_s

    @classmethod
    def of(cls, job: SimJob) -> JobOutcome:
        assert job.end_s is not None and job.first_start_s is not None
        t = job.trace
        return cls(
            t.id,
            t.tenant,
            t.submit_s,
            job.first_start_s,
            job.end_s,
            t.duration_s,
            job.gpus,
            job.preemptions,
            job.lost_gpu_s,
        )


@dataclass(frozen=True)
class ReplayResult:
    policy: str
    outcomes: tuple[JobOutcome, ...]
    unschedulable: int  # jobs no node pool could ever hold (dropped on arrival)
    unfinished: int
    series: tuple[tuple[float, float], ...]  # (time, busy GPUs) at every change
    busy_gpu_s: float
    fragmented_gpu_s: float
    queued_s: float  # time with at least one job pending
    total_gpus: int
    core_calls: int
    events: int
