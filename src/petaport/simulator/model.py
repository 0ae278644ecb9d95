"""What the simulator replays: trace jobs, traces and cluster descriptions (frozen data only).

Invariants: a ``Trace`` holds its jobs sorted by ``submit_s`` (stable: equal times keep file
order), times are seconds since ``Trace.start``; a ``ClusterSpec`` has at least one node pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class TraceJob:
    """One job of a trace, backend- and policy-neutral.

    ``gpus`` is the total count of (whole or shared) GPUs; ``gpu_milli`` the share of each GPU
    in thousandths (1000 = a whole GPU, 470 = 0.47 of one). ``cpus`` and ``memory_mb`` are
    totals for the job (0 = not recorded). ``gpu_models`` is the set of allowed models
    (empty = any). ``walltime_s`` is the user's limit when the trace records one.
    """

    id: str
    submit_s: float
    duration_s: float
    gpus: int
    tenant: str
    gpu_milli: int = 1000
    gpu_models: tuple[str, ...] = ()
    cpus: int = 0
    memory_mb: int = 0
    walltime_s: float | None = None
    qos: str = "on-demand"

    @property
    def gpu_seconds(self) -> float:
        return self.duration_s * self.gpus * self.gpu_milli / 1000


@dataclass(frozen=True)
class Trace:
    name: str
    start: datetime  # the wall-clock instant of submit_s == 0 (UTC)
    jobs: tuple[TraceJob, ...]
    citation: str = ""

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last submission."""
        if not self.jobs:
            return 0.0
        return self.jobs[-1].submit_s - self.jobs[0].submit_s

    @property
    def total_gpu_s(self) -> float:
        return sum(j.gpu_seconds for j in self.jobs)

    @property
    def tenants(self) -> tuple[str, ...]:
        return tuple(sorted({j.tenant for j in self.jobs}))

    def head(self, limit: int | None) -> Trace:
        """The first ``limit`` jobs (all when None)."""
        if limit is None or limit >= len(self.jobs):
            return self
        return Trace(self.name, self.start, self.jobs[:limit], self.citation)


@dataclass(frozen=True)
class NodePool:
    name: str
    gpu_model: str | None
    gpus_per_node: int
    cpus: int
    memory_mb: int
    count: int


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    pools: tuple[NodePool, ...]
    # tenant -> entitled share of the cluster (fractions); empty = equal shares
    entitlements: dict[str, float] = field(default_factory=dict)

    @property
    def total_gpus(self) -> int:
        return sum(p.gpus_per_node * p.count for p in self.pools)

    @property
    def total_nodes(self) -> int:
        return sum(p.count for p in self.pools)


def make_trace(name: str, origin: datetime, jobs: list[TraceJob], citation: str = "") -> Trace:
    """A trace with its jobs sorted by submission (stable) and times rebased to the first.

    ``origin`` is the instant of ``submit_s == 0`` in ``jobs``; the trace starts at the first
    submission.
    """
    ordered = sorted(jobs, key=lambda j: j.submit_s)
    first = ordered[0].submit_s if ordered else 0.0
    if first != 0.0:
        ordered = [_shifted(j, first) for j in ordered]
    return Trace(name, origin + timedelta(seconds=first), tuple(ordered), citation)


def _shifted(job: TraceJob, by_s: float) -> TraceJob:
    return TraceJob(
        job.id,
        job.submit_s - by_s,
        job.duration_s,
        job.gpus,
        job.tenant,
        job.gpu_milli,
        job.gpu_models,
        job.cpus,
        job.memory_mb,
        job.walltime_s,
        job.qos,
    )


class SimulationError(RuntimeError):
    """The simulated cluster was asked for something impossible (a bug, not a policy result).
    (Here, not in ``state``: a compiled module cannot define a Python exception class.)"""
