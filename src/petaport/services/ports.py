"""Ports the services define and adapters implement: the execution backend protocol.

A backend runs attempts of jobs. It is small on purpose (Kueue/dstack style):
``launch`` starts one attempt on the allocation the scheduler chose, ``poll`` reports the
current truth for attempts the service believes are running, ``cancel`` stops one (idempotent),
``inventory`` says what nodes and GPUs exist. Transient failures raise
``petaport.domain.errors.RetryLater``. Every backend passes ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from petaport.domain.jobs import Allocation, JobSpec, JobState


@dataclass(frozen=True)
class AttemptLaunch:
    """Everything a backend needs to start one attempt.

    ``attempt_dir`` is private to the attempt; stdout and stderr go to
    ``attempt_dir/stdout.log`` and ``attempt_dir/stderr.log``. When ``spec.working_dir`` is
    unset the attempt runs in ``attempt_dir/work``.
    """

    attempt_id: str
    job_id: str
    number: int
    spec: JobSpec
    allocations: tuple[Allocation, ...]
    attempt_dir: Path
    extra_env: tuple[tuple[str, str], ...] = ()

    @property
    def stdout_path(self) -> Path:
        return self.attempt_dir / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.attempt_dir / "stderr.log"


@dataclass(frozen=True)
class AttemptRef:
    """What the service stored about a launched attempt, enough to find it again after a restart."""

    attempt_id: str
    attempt_dir: Path
    backend_ref: str
    pid: int | None
    started_at: datetime | None


@dataclass(frozen=True)
class AttemptReport:
    """A backend's view of an attempt. ``state`` is RUNNING or a terminal state."""

    attempt_id: str
    state: JobState
    backend_ref: str
    pid: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exit_code: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    gpu_model: str | None
    gpu_indices: tuple[int, ...]
    cpus: int
    memory_mb: int


@runtime_checkable
class Backend(Protocol):
    name: str

    def launch(self, launch: AttemptLaunch) -> AttemptReport:
        """Start the attempt; returns RUNNING (or a terminal state if it could not start)."""
        ...

    def poll(self, refs: Sequence[AttemptRef]) -> list[AttemptReport]:
        """One report per ref, in order: RUNNING, or how it ended (NODE_FAIL if it vanished)."""
        ...

    def cancel(self, ref: AttemptRef) -> None:
        """Ask the attempt to stop (SIGTERM, then SIGKILL after a grace). Idempotent."""
        ...

    def inventory(self) -> list[NodeInfo]:
        """The nodes this backend can run on."""
        ...

    def close(self) -> None:
        """Release resources held by the backend object (never stops running attempts)."""
        ...


@runtime_checkable
class ConcurrentLaunches(Protocol):
    """Optional: a backend whose ``launch`` may be called from several threads at once (each
    call for a different attempt). The loop launches a cycle's starts up to
    ``launch_concurrency`` at a time; other backends get one call at a time."""

    launch_concurrency: int


def launch_concurrency(backend: Backend) -> int:
    """How many ``launch`` calls ``backend`` takes at once (1 unless it says more)."""
    return max(1, backend.launch_concurrency) if isinstance(backend, ConcurrentLaunches) else 1
