"""Pure translation between Petaport and Slurm's command line: no processes, no clock.

Invariants:
- a job's command is never a shell string: the batch script ``exec``s ``shlex.join(argv)``, and
  every environment value is written with ``shlex.quote``;
- the Slurm job name is ``petaport-<attempt id>``: it is how a submitted attempt is found again
  after a crash between ``sbatch`` and the service recording its job id;
- Slurm never requeues a Petaport job by itself (``--no-requeue``): a requeue is a new attempt
  that Petaport's scheduler admits;
- with ``gpu_binding="petaport"`` the job sees exactly the GPU indices Petaport allocated on
  each node as ``CUDA_VISIBLE_DEVICES`` (Slurm's own choice is overridden; see the docs).
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from petaport.backends.environment import catalogue_environment
from petaport.domain.jobs import JobState, PendingReason
from petaport.services.ports import AttemptLaunch

JOB_NAME_PREFIX = "petaport-"
SCRIPT_NAME = "slurm-job.sh"
USER_SCRIPT_NAME = "script.sh"
GpuBinding = Literal["petaport", "slurm"]

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
    """A job Slurm will not start where Petaport placed it (waiting would be forever)."""
    return job.slurm_state == "PENDING" and job.reason.startswith(STUCK_REASONS)


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


# -- submission ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """What ``launch`` hands to ``sbatch``: its arguments and the batch script's text."""

    argv: tuple[str, ...]  # after the sbatch binary; the last one is the script path
    script: str
    script_path: str
    user_script: str | None  # the spec's script body, written next to the batch script


def time_limit(walltime_s: int | None) -> str | None:
    """Slurm counts whole minutes: 1..60 s -> ``"1"``; None -> the partition's default."""
    if walltime_s is None:
        return None
    return str(max(1, math.ceil(walltime_s / 60)))


def gres(gpus: int, gpu_type: str | None) -> str | None:
    if gpus <= 0:
        return None
    return f"gpu:{gpu_type}:{gpus}" if gpu_type else f"gpu:{gpus}"


def build_submission(
    launch: AttemptLaunch,
    *,
    base_env: Mapping[str, str],
    partition: str | None,
    account: str | None = None,
    qos: str | None = None,
    gpu_type: str | None = None,
    gpu_binding: GpuBinding = "petaport",
    srun: str = "srun",
) -> Submission:
    """The ``sbatch`` arguments and batch script for one attempt on its allocation."""
    spec = launch.spec
    attempt_dir = os.path.abspath(launch.attempt_dir)
    script_path = os.path.join(attempt_dir, SCRIPT_NAME)
    nodes = [a.node for a in launch.allocations]
    argv: list[str] = [
        "--parsable",
        f"--job-name={job_name(launch.attempt_id)}",
        f"--comment=petaport job {launch.job_id} attempt {launch.number}",
        "--no-requeue",
        "--export=NIL",  # never the server's environment; the script sets the job's own
        f"--chdir={spec.working_dir or os.path.join(attempt_dir, 'work')}",
        f"--output={os.path.join(attempt_dir, 'stdout.log')}",
        f"--error={os.path.join(attempt_dir, 'stderr.log')}",
        f"--nodes={max(1, len(nodes) or spec.nodes)}",
        "--ntasks-per-node=1",
        f"--cpus-per-task={spec.cpus}",
        f"--mem={spec.memory_mb}",
    ]
    if nodes:
        argv.append(f"--nodelist={','.join(nodes)}")
    if partition:
        argv.append(f"--partition={partition}")
    if account:
        argv.append(f"--account={account}")
    if qos:
        argv.append(f"--qos={qos}")
    limit = time_limit(spec.walltime_s)
    if limit:
        argv.append(f"--time={limit}")
    # A GPU fraction shares one GPU Petaport accounts for: Slurm is asked for no whole GPU.
    request = gres(0 if spec.gpu_milli else spec.gpus, gpu_type)
    if request:
        argv.append(f"--gres={request}")
    argv.append(script_path)
    user_script = spec.script
    command = list(spec.command)
    if user_script is not None:
        command = ["/bin/bash", os.path.join(attempt_dir, USER_SCRIPT_NAME)]
    script = batch_script(
        launch, command, base_env, script_path, gpu_binding=gpu_binding, srun=srun
    )
    return Submission(tuple(argv), script, script_path, user_script)


def batch_script(
    launch: AttemptLaunch,
    command: Sequence[str],
    base_env: Mapping[str, str],
    script_path: str,
    *,
    gpu_binding: GpuBinding,
    srun: str,
) -> str:
    """The batch script: set the environment, on several nodes ``srun`` itself once per node,
    then ``exec`` the command (quoted argument by argument, never a shell string)."""
    env = dict(base_env)
    env.update(launch.spec.environment)
    env.update(launch.extra_env)
    env.update(catalogue_environment(launch.spec, None))  # content paths on shared storage
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env["PETAPORT_JOB_ID"] = launch.job_id
    env["PETAPORT_ATTEMPT_ID"] = launch.attempt_id
    lines = [
        "#!/bin/bash",
        f"# Petaport attempt {launch.attempt_id} (job {launch.job_id}); generated, do not edit.",
        *(f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())),
    ]
    if len(launch.allocations) > 1:  # the batch step runs on the first node: one task per node
        step = [srun, "--export=ALL", "--kill-on-bad-exit=1", "/bin/bash", script_path, "task"]
        lines += ['if [ "${1:-}" != task ]; then', f"  exec {shlex.join(step)}", "fi"]
    if gpu_binding == "petaport":
        lines.append('case "${SLURMD_NODENAME:-}" in')
        for allocation in launch.allocations:
            visible = ",".join(str(i) for i in allocation.gpu_indices)
            lines.append(
                f"  {shlex.quote(allocation.node)}) export CUDA_VISIBLE_DEVICES={visible}"
                f" GPU_DEVICE_ORDINAL={visible} ;;"
            )
        lines += ["  *) export CUDA_VISIBLE_DEVICES= GPU_DEVICE_ORDINAL= ;;", "esac"]
    lines.append(f"exec {shlex.join(command)}")
    return "\n".join(lines) + "\n"


def parse_job_id(parsable: str) -> str:
    """``sbatch --parsable`` prints ``<id>`` or ``<id>;<cluster>``."""
    job_id = parsable.strip().splitlines()[-1].split(";")[0].strip() if parsable.strip() else ""
    if not job_id.isdigit():
        raise ValueError(f"sbatch printed no job id: {parsable!r}")
    return job_id


# -- reading Slurm's answers ----------------------------------------------------------------


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


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, dict):  # later data_parser versions: {"set": .., "number": ..}
        value = value.get("number") if value.get("set", True) else None
    if value is None or value in {"", "Unknown", "None"}:
        return None
    seconds = int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def exit_code_from_wait_status(status: int) -> int:
    """squeue's ``exit_code`` is a wait status: 768 -> 3; killed by signal 9 -> 137."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def _state_word(value: Any) -> str:
    if isinstance(value, list):  # later versions: a list of state flags
        value = value[0] if value else ""
    if isinstance(value, dict):  # sacct --json: {"current": .., "reason": ..}
        value = value.get("current", "")
    return str(value).split()[0] if str(value).split() else ""


def parse_squeue_json(data: Mapping[str, Any]) -> dict[str, SlurmJob]:
    """``squeue --json`` (v0.0.38, Slurm 22.05) -> jobs by id. 22.05 ignores ``--jobs`` and
    ``--name`` with ``--json``: the caller filters."""
    jobs: dict[str, SlurmJob] = {}
    for raw in data.get("jobs", []):
        job_id = str(raw["job_id"])
        state = _state_word(raw.get("job_state", ""))
        status = raw.get("exit_code")
        code = exit_code_from_wait_status(int(status)) if isinstance(status, int) else None
        jobs[job_id] = SlurmJob(
            job_id=job_id,
            name=str(raw.get("name", "")),
            slurm_state=state,
            reason=str(raw.get("state_reason", "None")),
            start=_epoch(raw.get("start_time")) if state != "PENDING" else None,
            end=_epoch(raw.get("end_time")) if state in TERMINAL else None,
            exit_code=code,
            nodes=str(raw.get("nodes", "")),
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
        if len(fields) < len(SACCT_FIELDS):
            continue
        job_id, name, state, exit_code, start, end, nodes, reason = fields[: len(SACCT_FIELDS)]
        code_text, _, signal_text = exit_code.partition(":")
        code: int | None = None
        if code_text.isdigit():
            signal = int(signal_text) if signal_text.isdigit() else 0
            code = 128 + signal if signal else int(code_text)
        jobs[job_id] = SlurmJob(  # with --duplicates the last record (the newest) wins
            job_id=job_id,
            name=name,
            slurm_state=_state_word(state),
            reason=reason,
            start=_epoch(start),
            end=_epoch(end),
            exit_code=code,
            nodes=nodes,
        )
    return jobs


# -- inventory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlurmNode:
    name: str
    cpus: int
    memory_mb: int
    gpu_type: str | None
    gpus: int
    partitions: tuple[str, ...]
    usable: bool  # not DOWN, DRAINED, FAILED or otherwise out of service


_UNUSABLE = frozenset(
    {
        "down", "drain", "drained", "draining", "fail", "failing", "future", "not_responding",
        "unknown", "maint", "power_down", "powered_down",
    }
)  # fmt: skip


def parse_gres(text: str) -> tuple[str | None, int]:
    """``gpu:H800:8(S:0-1)`` -> ("H800", 8); ``gpu:4`` -> (None, 4); others -> (None, 0)."""
    for item in text.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] != "gpu" or len(parts) < 2:
            continue
        if len(parts) == 2 and parts[1].isdigit():
            return None, int(parts[1])
        if len(parts) >= 3 and parts[2].isdigit():
            return parts[1], int(parts[2])
    return None, 0


def parse_sinfo_json(data: Mapping[str, Any]) -> list[SlurmNode]:
    nodes: list[SlurmNode] = []
    for raw in data.get("nodes", []):
        gpu_type, gpus = parse_gres(str(raw.get("gres", "")))
        state = raw.get("state", "")
        words = {str(w).lower() for w in ([state] if isinstance(state, str) else state)}
        words |= {str(f).lower() for f in raw.get("state_flags", [])}
        nodes.append(
            SlurmNode(
                name=str(raw["name"]),
                cpus=int(raw.get("cpus", 0)),
                memory_mb=int(raw.get("real_memory", 0)),
                gpu_type=gpu_type,
                gpus=gpus,
                partitions=tuple(str(p) for p in raw.get("partitions", [])),
                usable=not (words & _UNUSABLE),
            )
        )
    return nodes


def choose_partition(nodes: Sequence[str], partitions: Mapping[str, Sequence[str]]) -> str | None:
    """The first partition (in the first node's order) that holds every one of ``nodes``."""
    if not nodes or nodes[0] not in partitions:
        return None
    for candidate in partitions[nodes[0]]:
        if all(candidate in partitions.get(node, ()) for node in nodes):
            return candidate
    return None
