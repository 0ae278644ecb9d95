"""Pure translation of one admitted attempt into ``sbatch`` arguments and a batch script.

Invariants:
- a job's command is never a shell string: the batch script ``exec``s ``shlex.join(argv)``, and
  every environment value is written with ``shlex.quote``;
- Slurm never requeues a Petaport job by itself (``--no-requeue``): a requeue is a new attempt
  that Petaport's scheduler admits;
- with ``gpu_binding="petaport"`` the job sees exactly the GPU indices Petaport allocated on
  each node as ``CUDA_VISIBLE_DEVICES`` (Slurm's own choice is overridden; see the docs);
- when the command exits, the batch script writes its exit status to ``<attempt dir>/exitcode``
  (``EXIT_FILE``) and exits with it: an end notice that only makes Petaport look at Slurm
  sooner. The job can write that file too, so nothing is ever read from it but its existence
  and time (the end's state, exit code and times come from Slurm).
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from petaport.backends.environment import catalogue_environment
from petaport.backends.slurm.job_user import JobUser
from petaport.backends.slurm.states import job_name
from petaport.services.ports import AttemptLaunch

SCRIPT_NAME = "slurm-job.sh"
USER_SCRIPT_NAME = "script.sh"
EXIT_FILE = "exitcode"  # the end notice the batch script writes when the command has exited
GpuBinding = Literal["petaport", "slurm"]


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
    job_user: JobUser | None = None,
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
        # the job inherits only sbatch's scrubbed environment (runner.submit_env); not NIL or
        # NONE: with those slurmd runs a login shell per job, serialised (seconds per launch)
        "--export=ALL",
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
    if job_user is not None:  # run as the unprivileged job user (docs/backends/slurm.md)
        argv.extend(job_user.sbatch_options())
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
    then run the command (``exec``, quoted argument by argument, never a shell string) and
    leave the end notice with its exit status."""
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
    notice = end_notice(os.path.join(os.path.dirname(script_path), EXIT_FILE))
    gang = len(launch.allocations) > 1
    if gang:  # the batch step runs on the first node: one task per node, then the notice
        step = [srun, "--export=ALL", "--kill-on-bad-exit=1", "/bin/bash", script_path, "task"]
        lines += ['if [ "${1:-}" != task ]; then', f"  {shlex.join(step)}"]
        lines += [f"  {line}" for line in notice] + ["fi"]
    if gpu_binding == "petaport":
        lines.append('case "${SLURMD_NODENAME:-}" in')
        for allocation in launch.allocations:
            visible = ",".join(str(i) for i in allocation.gpu_indices)
            lines.append(
                f"  {shlex.quote(allocation.node)}) export CUDA_VISIBLE_DEVICES={visible}"
                f" GPU_DEVICE_ORDINAL={visible} ;;"
            )
        lines += ["  *) export CUDA_VISIBLE_DEVICES= GPU_DEVICE_ORDINAL= ;;", "esac"]
    if gang:  # each task runs the command in place; the batch step writes the notice
        lines.append(f"exec {shlex.join(command)}")
    else:
        # ``exec`` in a subshell: the same program lookup as before (never a shell builtin or
        # keyword such as ``time``), and the script lives on to write the notice
        lines += [f"(exec {shlex.join(command)})", *notice]
    return "\n".join(lines) + "\n"


def end_notice(path: str) -> list[str]:
    """Shell lines run right after the command: keep its exit status, write the end notice
    (best effort: a notice that cannot be written only leaves the end to the next poll), exit
    with that status. A command killed by signal N leaves status 128+N, which is also what
    Petaport reports for a job killed by a signal."""
    return [
        "petaport_status=$?",
        f"printf '%s\\n' \"$petaport_status\" 2>/dev/null >{shlex.quote(path)}",
        'exit "$petaport_status"',
    ]


def parse_job_id(parsable: str) -> str:
    """``sbatch --parsable`` prints ``<id>`` or ``<id>;<cluster>``."""
    job_id = parsable.strip().splitlines()[-1].split(";")[0].strip() if parsable.strip() else ""
    if not job_id.isdigit():
        raise ValueError(f"sbatch printed no job id: {parsable!r}")
    return job_id
