"""Jobs: the backend-neutral JobSpec, job states (Slurm's words) and their transition table.

Invariants:
- a job's state only changes along ``TRANSITIONS``; anything else raises ``IllegalTransition``;
- a PENDING job always has a ``PendingReason``;
- each start of a job is an ``Attempt`` with its own times, GPUs and exit code.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from petaport.domain.catalogue import EntryRef, ref_problems
from petaport.domain.errors import IllegalTransition, ValidationFailed


class JobState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    PREEMPTED = "PREEMPTED"
    NODE_FAIL = "NODE_FAIL"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.TIMEOUT,
        JobState.PREEMPTED,
        JobState.NODE_FAIL,
        JobState.OUT_OF_MEMORY,
    }
)
# Attempt outcomes are the terminal job states minus CANCELLED-before-start.
_ENDINGS = TERMINAL_STATES

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.RUNNING, JobState.CANCELLED}),
    JobState.RUNNING: _ENDINGS | {JobState.PENDING},  # PENDING: requeued while running
    JobState.COMPLETED: frozenset({JobState.PENDING}),  # requeue of a finished job
    JobState.FAILED: frozenset({JobState.PENDING}),
    JobState.CANCELLED: frozenset({JobState.PENDING}),
    JobState.TIMEOUT: frozenset({JobState.PENDING}),
    JobState.PREEMPTED: frozenset({JobState.PENDING}),
    JobState.NODE_FAIL: frozenset({JobState.PENDING}),
    JobState.OUT_OF_MEMORY: frozenset({JobState.PENDING}),
}


def check_transition(current: JobState, target: JobState) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a {current.value} job cannot become {target.value}")


class PendingReason(enum.StrEnum):
    """Why a job waits. The words follow Slurm's reason codes where one exists."""

    NONE = "None"  # newly submitted, not yet considered by the scheduler
    PRIORITY = "Priority"  # a job ahead of it is waiting for the same resources
    RESOURCES = "Resources"  # not enough free resources right now
    QUOTA_EXCEEDED = "QuotaExceeded"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    GRANT_EXHAUSTED = "GrantExhausted"  # its subsidy grant's cap is reached or it expired
    GPU_MODEL_UNAVAILABLE = "GpuModelUnavailable"  # no node pool has the model asked for
    PARTITION_CONFIG = "PartitionConfig"  # the job can never fit any node pool as it is
    # it may run only on some node pools (those in Hong Kong, for resident-only data) and none
    # of them could ever hold it
    POOL_UNAVAILABLE = "NodePoolUnavailable"
    # an access grant for a catalogue entry it uses expired after submission: it may not start
    CATALOGUE_ACCESS = "CatalogueAccess"
    REQUEUED = "Requeued"
    HELD = "JobHeldUser"


class QosTier(enum.StrEnum):
    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    PREEMPTIBLE = "preemptible"


QOS_PRIORITY = {QosTier.RESERVED: 2, QosTier.ON_DEMAND: 1, QosTier.PREEMPTIBLE: 0}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_WALLTIME_S = 30 * 24 * 3600


@dataclass(frozen=True)
class JobSpec:
    """What a user asks to run. Backend-neutral; each backend translates it.

    Exactly one of ``command`` (an argument list, never a shell string) or ``script`` (a
    script body run by ``/bin/bash``) is set. ``gpus`` is per node; ``memory_mb`` per node.
    """

    name: str
    project_id: str
    command: tuple[str, ...] = ()
    script: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    gpus: int = 0
    gpu_model: str | None = None
    cpus: int = 1
    memory_mb: int = 1024
    nodes: int = 1
    walltime_s: int | None = None
    qos: QosTier = QosTier.ON_DEMAND
    requeue_on_node_fail: bool = True
    labels: tuple[tuple[str, str], ...] = field(default=())
    gpu_milli: int = 0  # 1..999: thousandths of one shared GPU (then gpus is 0, nodes 1)
    uses: tuple[EntryRef, ...] = ()  # catalogue models and datasets, exposed read-only

    def __post_init__(self) -> None:
        problems = spec_problems(self)
        if problems:
            raise ValidationFailed("; ".join(problems), errors=problems)

    @property
    def total_gpus(self) -> int:
        return self.gpus * self.nodes

    @property
    def gpu_fraction(self) -> Decimal | None:
        """The share of one GPU a fractional job asks for (e.g. 0.5), else None."""
        return Decimal(self.gpu_milli) / 1000 if self.gpu_milli else None


def spec_problems(spec: JobSpec) -> list[str]:
    """Every reason the spec is invalid, in plain words (empty when valid)."""
    out: list[str] = []
    if not _NAME_RE.match(spec.name):
        out.append("name must be 1-128 letters, digits, '.', '_' or '-', starting alphanumeric")
    if bool(spec.command) == (spec.script is not None):
        out.append("give exactly one of command or script")
    if any("\x00" in part for part in spec.command) or (spec.script and "\x00" in spec.script):
        out.append("command and script may not contain NUL characters")
    for key, value in spec.environment:
        if not _ENV_KEY_RE.match(key) or "\x00" in value:
            out.append(f"environment variable {key!r} is not a valid name or value")
    if spec.working_dir is not None and (
        not spec.working_dir.startswith("/") or "\x00" in spec.working_dir
    ):
        out.append("working_dir must be an absolute path")
    if not 0 <= spec.gpus <= 64:
        out.append("gpus must be between 0 and 64 per node")
    if not 1 <= spec.cpus <= 1024:
        out.append("cpus must be between 1 and 1024 per node")
    if not 1 <= spec.memory_mb <= 16 * 1024 * 1024:
        out.append("memory must be between 1 MiB and 16 TiB per node")
    if not 1 <= spec.nodes <= 1024:
        out.append("nodes must be between 1 and 1024")
    if spec.walltime_s is not None and not 1 <= spec.walltime_s <= MAX_WALLTIME_S:
        out.append("walltime must be between 1 second and 30 days")
    out.extend(_fraction_problems(spec))
    out.extend(ref_problems(spec.uses))
    return out


def _fraction_problems(spec: JobSpec) -> list[str]:
    if spec.gpu_milli and not (0 < spec.gpu_milli < 1000):
        return ["a GPU fraction must be between 0.001 and 0.999"]
    if spec.gpu_milli and (spec.gpus or spec.nodes != 1):
        return ["a GPU fraction shares one GPU on one node: give no whole GPUs and one node"]
    return []


@dataclass(frozen=True)
class Job:
    id: str
    org_id: str
    project_id: str
    user_id: str
    spec: JobSpec
    state: JobState
    reason: PendingReason | None
    priority: int
    submitted_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exit_code: int | None = None
    attempt_count: int = 0
    backend: str = "local"


@dataclass(frozen=True)
class QueuedJob:
    """A PENDING job as the scheduler reads it on every cycle (no command, no environment)."""

    id: str
    org_id: str
    project_id: str
    priority: int
    qos: QosTier
    submitted_at: datetime
    gpus: int
    nodes: int
    cpus: int
    memory_mb: int
    gpu_model: str | None
    reason: PendingReason | None
    walltime_s: int | None = None
    user_id: str | None = None
    gpu_milli: int = 0


@dataclass(frozen=True)
class RunningWork:
    """A RUNNING attempt as the scheduler reads it: what its job holds and since when."""

    job_id: str
    org_id: str
    project_id: str
    user_id: str
    qos: QosTier
    priority: int
    started_at: datetime
    allocations: tuple[Allocation, ...]
    walltime_s: int | None
    borrowing: bool
    gpu_milli: int
    stopping: bool  # a stop (cancel, requeue, preemption) was asked for


@dataclass(frozen=True)
class FinishedWork:
    """A COMPLETED attempt, for duration prediction: who ran how many GPUs for how long."""

    project_id: str
    user_id: str
    gpus: int
    nodes: int
    gpu_milli: int
    duration_s: float


@dataclass(frozen=True)
class Allocation:
    """Where an attempt runs: per node, the GPU indices it holds (never shared)."""

    node: str
    gpu_indices: tuple[int, ...]
    cpus: int
    memory_mb: int


GPU_MILLI = 1000  # thousandths of a GPU in one GPU (the unit of GPU shares)


def demand_milli(gpus_per_node: int, nodes: int, gpu_milli: int) -> int:
    """A job's GPU demand in thousandths: its share of one GPU, or all its whole GPUs."""
    return gpu_milli or gpus_per_node * nodes * GPU_MILLI


def held_gpus(allocations: tuple[Allocation, ...], gpu_milli: int) -> float:
    """GPUs an attempt holds: its share of one GPU, or every GPU of its allocations."""
    if gpu_milli:
        return gpu_milli / GPU_MILLI
    return float(sum(len(a.gpu_indices) for a in allocations))


@dataclass(frozen=True)
class Attempt:
    id: str
    job_id: str
    number: int
    state: JobState
    allocations: tuple[Allocation, ...]
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exit_code: int | None = None
    pid: int | None = None
    backend_ref: str | None = None
    detail: str = ""
    borrowing: bool = False  # started beyond its tenant's guarantee (may be preempted)
    gpu_milli: int = 0  # 1..999: the share of one GPU it holds


@dataclass(frozen=True)
class JobEvent:
    id: str
    job_id: str
    at: datetime
    kind: str
    state: JobState | None
    message: str


def parse_memory_mb(text: str) -> int:
    """Parse ``512M``, ``4G``, ``1T`` or a plain number of MiB into MiB."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValidationFailed(f"cannot read memory size {text!r} (use e.g. 512M, 16G)")
    value = Decimal(match.group(1))
    factor: dict[str, Decimal] = {
        "": Decimal(1),
        "K": Decimal(1) / 1024,
        "M": Decimal(1),
        "G": Decimal(1024),
        "T": Decimal(1024 * 1024),
    }
    mb = value * factor[match.group(2).upper()]
    return max(1, int(mb))


def parse_walltime_s(text: str) -> int:
    """Seconds from Slurm time formats (``MM``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``) or ``2h``."""
    text = text.strip()
    unit = re.fullmatch(r"(\d+)\s*([smhd])", text)
    if unit:
        return int(unit.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit.group(2)]
    days = 0
    if "-" in text:
        day_text, _, text = text.partition("-")
        if not day_text.isdigit():
            raise ValidationFailed(f"cannot read time {text!r}")
        days = int(day_text)
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        raise ValidationFailed(f"cannot read time {text!r} (use MM, HH:MM:SS, D-HH:MM or 2h)")
    nums = [int(p) for p in parts]
    if days:
        hours, minutes, seconds = [*nums, 0, 0][:3]
    elif len(nums) == 1:
        hours, minutes, seconds = 0, nums[0], 0
    elif len(nums) == 2:
        hours, minutes, seconds = 0, nums[0], nums[1]
    else:
        hours, minutes, seconds = nums
    return days * 86400 + hours * 3600 + minutes * 60 + seconds
