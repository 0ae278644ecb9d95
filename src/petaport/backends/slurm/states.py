"""Slurm's job states, pending reasons and its two job listings (squeue, sacct, both as
parsable text), read into Petaport's terms. Pure: no processes, no clock.

Invariants:
- the Slurm job name is ``petaport-<attempt id>``: it is how a submitted attempt is found again
  after a crash between ``sbatch`` and the service recording its job id;
- every Slurm state is either terminal here (mapped to Petaport's end state) or live (the
  attempt is still RUNNING to Petaport, whether Slurm has it pending or running);
- exit codes are ``code``, or ``128+signal`` when killed by a signal, from either view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from petaport.domain.jobs import JobState, PendingReason

JOB_NAME_PREFIX = "petaport-"


# Slurm job states -> Petaport's. Everything not terminal here is still "RUNNING" to Petaport:
# the scheduler admitted the attempt; Slurm is starting, running or finishing it.
TERMINAL: dict[str, JobState] = {
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
    "TIMEOUT": JobState.TIMEOUT,
    "DEADLINE": JobState.TIMEOUT,
    "NODE_FAIL": JobState.NODE_FAIL,
    "BOOT_FAIL": JobState.NODE_FAIL,
    "PREEMPTED": JobState.PREEMPTED,
    "OUT_OF_MEMORY": JobState.OUT_OF_MEMORY,
    "REVOKED": JobState.CANCELLED,
    "SPECIAL_EXIT": JobState.FAILED,
}
LIVE = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED",
        "RESIZING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "SIGNALING", "STAGE_OUT",
    }
)  # fmt: skip
# States whose exit code Slurm's two views (squeue's wait status, sacct's "code:signal") agree on.
_WITH_EXIT_CODE = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.OUT_OF_MEMORY})

# Slurm's pending reasons -> Petaport's words (most are the same word).
PENDING_REASONS: dict[str, PendingReason] = {
    "None": PendingReason.NONE,
    "Priority": PendingReason.PRIORITY,
    "Resources": PendingReason.RESOURCES,
    "PartitionConfig": PendingReason.PARTITION_CONFIG,
    "JobHeldUser": PendingReason.HELD,
    "JobHeldAdmin": PendingReason.HELD,
    "BeginTime": PendingReason.REQUEUED,
}
_QUOTA_PREFIXES = ("AssocGrp", "AssocMax", "QOSGrp", "QOSMax", "MaxGRES", "MaxCpu", "MaxNode")


# Pending reasons that mean the nodes Petaport chose cannot take the job (down, drained, gone).
STUCK_REASONS = ("ReqNodeNotAvail", "NodeDown", "BadConstraints", "PartitionNodeLimit")


def is_stuck(job: SlurmJob) -> bool:
    """A job Slurm may never start where Petaport placed it (the backend checks the nodes:
    ``ReqNodeNotAvail`` also names a node that is only finishing its last jobs)."""
    return job.slurm_state == "PENDING" and job.reason.startswith(STUCK_REASONS)


def unavailable_nodes(reason: str) -> str:
    """The host list in ``ReqNodeNotAvail, UnavailableNodes:gpu[1-2]`` (``""`` if none)."""
    _, found, rest = reason.partition("UnavailableNodes:")
    words = rest.split()
    return words[0] if found and words else ""


def job_name(attempt_id: str) -> str:
    return f"{JOB_NAME_PREFIX}{attempt_id}"


def pending_reason(slurm_reason: str) -> PendingReason:
    """Petaport's word for why Slurm holds a job back (``Resources`` for anything unknown)."""
    if slurm_reason in PENDING_REASONS:
        return PENDING_REASONS[slurm_reason]
    if "GRESMinutes" in slurm_reason or "Billing" in slurm_reason:
        return PendingReason.BUDGET_EXHAUSTED
    if slurm_reason.startswith(_QUOTA_PREFIXES):
        return PendingReason.QUOTA_EXCEEDED
    return PendingReason.RESOURCES


@dataclass(frozen=True)
class SlurmJob:
    """One job as squeue or sacct describe it, in Petaport's terms."""

    job_id: str
    name: str
    slurm_state: str
    reason: str
    start: datetime | None
    end: datetime | None
    exit_code: int | None
    nodes: str

    @property
    def state(self) -> JobState:
        """RUNNING while Slurm has it pending or running; else how it ended."""
        return TERMINAL.get(self.slurm_state, JobState.RUNNING)

    @property
    def is_live(self) -> bool:
        return self.slurm_state not in TERMINAL

    @property
    def reported_exit_code(self) -> int | None:
        return self.exit_code if self.state in _WITH_EXIT_CODE else None

    def detail(self) -> str:
        if self.is_live:
            if self.slurm_state == "PENDING":
                return f"slurm job {self.job_id} PENDING ({self.reason})"
            return f"slurm job {self.job_id} {self.slurm_state} on {self.nodes}"
        text = f"slurm job {self.job_id} {self.slurm_state}"
        code = self.reported_exit_code
        if self.state is JobState.FAILED and code is not None and code > 128:
            text += f" (killed by signal {code - 128})"
        return text


def _epoch(value: str) -> datetime | None:
    """Epoch seconds (``SLURM_TIME_FORMAT=%s``); ``Unknown``, ``N/A``, ``None``, 0: no time."""
    if not value.strip().isdigit():
        return None
    seconds = int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def exit_code_from_wait_status(status: int) -> int:
    """squeue's ``exit_code`` is a wait status: 768 -> 3; killed by signal 9 -> 137."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def _state_word(value: str) -> str:
    """``CANCELLED by 0`` -> ``CANCELLED``."""
    words = value.split()
    return words[0] if words else ""


# ``squeue --Format`` fields, each followed by ``|`` (no padding). With text output 22.05 honours
# ``--jobs`` and ``--name`` (with ``--json`` it ignores them and lists the whole queue, about
# 4 KB per job); ``-t all`` keeps jobs that ended within ``MinJobAge`` in the listing.
SQUEUE_FIELDS = (
    "JobID",
    "Name",
    "State",
    "Reason",
    "StartTime",
    "EndTime",
    "NodeList",
    "exit_code",
)
SQUEUE_FORMAT = ",".join(f"{field}:|" for field in SQUEUE_FIELDS)


def squeue_argv(*, job_ids: Iterable[str] = (), names: Iterable[str] = ()) -> tuple[str, ...]:
    """``squeue`` for exactly these jobs (by id, or by name), ended ones included."""
    argv = ["-h", "-t", "all", f"--Format={SQUEUE_FORMAT}"]
    if ids := ",".join(job_ids):
        argv.append(f"--jobs={ids}")
    if wanted := ",".join(names):
        argv.append(f"--name={wanted}")
    return tuple(argv)


def parse_squeue(text: str) -> dict[str, SlurmJob]:
    """``squeue -h --Format=<SQUEUE_FORMAT>`` lines (``SLURM_TIME_FORMAT=%s``) -> jobs by id.
    A name may itself hold ``|``: the id comes first and the other six fields last."""
    jobs: dict[str, SlurmJob] = {}
    tail = len(SQUEUE_FIELDS) - 2
    for line in text.splitlines():
        fields = line.removesuffix("|").split("|")
        if len(fields) < len(SQUEUE_FIELDS) or not fields[0].strip().isdigit():
            continue
        job_id, name = fields[0].strip(), "|".join(fields[1:-tail])
        state_text, reason, start, end, nodes, status = (f.strip() for f in fields[-tail:])
        state = _state_word(state_text)
        code = exit_code_from_wait_status(int(status)) if status.isdigit() else None
        jobs[job_id] = SlurmJob(
            job_id=job_id,
            name=name,
            slurm_state=state,
            reason=reason or "None",
            start=_epoch(start) if state != "PENDING" else None,
            end=_epoch(end) if state in TERMINAL else None,
            exit_code=code,
            nodes=nodes,
        )
    return jobs


SACCT_FIELDS = ("JobID", "JobName", "State", "ExitCode", "Start", "End", "NodeList", "Reason")


def sacct_argv(job_ids: Iterable[str]) -> tuple[str, ...]:
    """``sacct`` for ended jobs: parsable text, not ``--json``, because 22.05's JSON reports
    return code 0 for jobs that failed (its ``exit_code`` is wrong; ``-P`` says ``3:0``)."""
    return (
        "-P", "-n", "-X", "--duplicates", f"--format={','.join(SACCT_FIELDS)}",
        f"--jobs={','.join(job_ids)}",
    )  # fmt: skip


def parse_sacct(text: str) -> dict[str, SlurmJob]:
    """``sacct -P -n -X`` lines (times as epoch seconds: ``SLURM_TIME_FORMAT=%s``) -> jobs."""
    jobs: dict[str, SlurmJob] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) >= len(SACCT_FIELDS):
            job = parse_sacct_line(fields)
            jobs[job.job_id] = job  # with --duplicates the last record (the newest) wins
    return jobs


def parse_sacct_line(fields: Sequence[str]) -> SlurmJob:
    """One ``sacct -P`` line split at ``|``, whose first fields are ``SACCT_FIELDS``."""
    job_id, name, state, exit_code, start, end, nodes, reason = fields[: len(SACCT_FIELDS)]
    code_text, _, signal_text = exit_code.partition(":")
    code: int | None = None
    if code_text.isdigit():
        signal = int(signal_text) if signal_text.isdigit() else 0
        code = 128 + signal if signal else int(code_text)
    return SlurmJob(
        job_id=job_id,
        name=name,
        slurm_state=_state_word(state),
        reason=reason,
        start=_epoch(start),
        end=_epoch(end),
        exit_code=code,
        nodes=nodes,
    )
