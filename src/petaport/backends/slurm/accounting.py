"""Reading each attempt's measured usage from Slurm's accounting (``sacct``). Pure.

Invariants:
- only ended jobs named ``petaport-<attempt id>`` become records; a job still pending or running
  is left for a later read;
- parsable text (``sacct -P``, epoch times), not ``--json``, whose exit codes are wrong in 22.05;
- allocated resources come from ``AllocTRES`` (what Slurm reserved, all nodes together); a job
  that never started has elapsed 0 and no start.
"""

from __future__ import annotations

from datetime import datetime

from petaport.backends.slurm.states import JOB_NAME_PREFIX, SlurmJob, parse_sacct_line
from petaport.domain.usage import MeasuredUsage

USAGE_FIELDS = (
    "JobID", "JobName", "State", "ExitCode", "Start", "End", "NodeList", "Reason",
    "ElapsedRaw", "AllocTRES", "NNodes",
)  # fmt: skip
_MEMORY_UNITS_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def usage_argv(since: datetime) -> tuple[str, ...]:
    """Every job that was running at or after ``since`` (in the local time zone sacct reads),
    of every user, one line per job."""
    start = since.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    return (
        "-P", "-n", "-X", "--allusers", f"--starttime={start}", "--endtime=now",
        f"--format={','.join(USAGE_FIELDS)}",
    )  # fmt: skip


def parse_tres(text: str) -> dict[str, str]:
    """``billing=3,cpu=3,gres/gpu=2,mem=1500M,node=1`` -> {"cpu": "3", "gres/gpu": "2", ...}."""
    pairs = (item.partition("=") for item in text.split(",") if "=" in item)
    return {key: value for key, _, value in pairs}


def memory_mb(text: str) -> int:
    """``1500M`` -> 1500, ``2G`` -> 2048, ``1.5G`` -> 1536, ``""`` -> 0 (MiB, as Slurm means)."""
    if not text:
        return 0
    unit = text[-1].upper()
    number = text[:-1] if unit in _MEMORY_UNITS_MB else text
    try:
        return round(float(number) * _MEMORY_UNITS_MB.get(unit, 1))
    except ValueError:
        return 0


def _count(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def parse_usage(text: str) -> list[MeasuredUsage]:
    """The ended Petaport jobs in ``sacct -P -n -X --format=<USAGE_FIELDS>`` output."""
    records: list[MeasuredUsage] = []
    width = len(USAGE_FIELDS)
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) < width:
            continue
        job = parse_sacct_line(fields)
        if job.is_live or job.end is None or not job.name.startswith(JOB_NAME_PREFIX):
            continue
        elapsed, tres, nodes = fields[8], parse_tres(fields[9]), fields[10]
        records.append(_record(job, _count(elapsed), tres, _count(nodes)))
    return records


def _record(job: SlurmJob, elapsed_s: int, tres: dict[str, str], nodes: int) -> MeasuredUsage:
    assert job.end is not None
    return MeasuredUsage(
        attempt_id=job.name.removeprefix(JOB_NAME_PREFIX),
        slurm_job_id=job.job_id,
        state=job.slurm_state,
        exit_code=job.reported_exit_code,
        start=job.start,
        end=job.end,
        elapsed_s=elapsed_s,
        gpus=_count(tres.get("gres/gpu")),
        cpus=_count(tres.get("cpu")),
        memory_mb=memory_mb(tres.get("mem", "")),
        nodes=nodes or _count(tres.get("node")),
    )
