"""Measured usage: what an attempt really held and for how long, as the cluster's own
accounting recorded it (Slurm's ``sacct``). The input metering rates; one record per attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MeasuredUsage:
    """One attempt's record in Slurm's accounting (``sacct``), as it ended."""

    attempt_id: str
    slurm_job_id: str
    state: str  # Slurm's word: COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
    exit_code: int | None  # as Petaport reports it (None where Slurm's views disagree)
    start: datetime | None  # None: Slurm never started it (cancelled while pending)
    end: datetime
    elapsed_s: int
    gpus: int  # allocated, all nodes together
    cpus: int
    memory_mb: int
    nodes: int


@dataclass(frozen=True)
class MeteredAttempt:
    """A stored record with the tenant it belongs to and when Petaport read it."""

    usage: MeasuredUsage
    job_id: str
    org_id: str
    project_id: str
    read_at: datetime

    @property
    def gpu_seconds(self) -> int:
        return self.usage.gpus * self.usage.elapsed_s
