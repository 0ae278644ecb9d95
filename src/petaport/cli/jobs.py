"""``jobs``, ``show``, ``logs``, ``cancel`` and ``requeue``: looking at and steering jobs."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, cast

import typer

from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    details,
    fmt_duration,
    fmt_mem,
    fmt_time,
    local_zone,
    print_json,
    progress,
    table,
)
from petaport.cli.session import api
from petaport.client import ClientError, PetaportClient
from petaport.client.jobs import Stream
from petaport.domain.jobs import JobState
from petaport.schemas import (
    AllocationPublic,
    AttemptPublic,
    JobEventPublic,
    JobPublic,
    JobStateName,
)

JobArg = Annotated[str, typer.Argument(help="The job id (job_…).")]


class ProjectNames:
    """``prj_…`` -> ``org-slug/project-slug``, fetched once each; the id if not visible."""

    def __init__(self, client: PetaportClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        self._orgs: dict[str, str] = {}

    def __call__(self, project_id: str) -> str:
        if project_id not in self._names:
            self._names[project_id] = self._lookup(project_id)
        return self._names[project_id]

    def _lookup(self, project_id: str) -> str:
        try:
            project = self.client.get_project(project_id)
            if project.org_id not in self._orgs:
                self._orgs[project.org_id] = self.client.get_org(project.org_id).slug
        except ClientError:
            return project_id
        return f"{self._orgs[project.org_id]}/{project.slug}"


def gpu_text(job: JobPublic) -> str:
    total = f"{job.gpu_fraction.normalize()}" if job.gpu_fraction else str(job.gpus * job.nodes)
    return f"{total} {job.gpu_model}" if total != "0" and job.gpu_model else total


def list_jobs(
    state: Annotated[
        list[JobState] | None, typer.Option(case_sensitive=False, help="Repeatable filter.")
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only jobs I submitted.")] = False,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="org/project or id.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List jobs (submitted times in $PETAPORT_TIMEZONE, default Asia/Hong_Kong)."""
    with api() as client:
        project_id = client.resolve_project(project).id if project else None
        states = cast(list[JobStateName], [s.value for s in state or []])
        rows = client.list_jobs(states=states, project_id=project_id, mine=mine, limit=limit)
        if output == OutputFormat.JSON:
            print_json(rows)
            return
        names = ProjectNames(client)
        zone = local_zone()
        cols = ("ID", "NAME", "PROJECT", "STATE", "REASON", "GPUS", "SUBMITTED")
        cells = [(j.id, j.name, names(j.project_id), j.state, j.reason, gpu_text(j),
                  fmt_time(j.submitted_at, zone, short=True)) for j in rows]  # fmt: skip
        console.print(table(cols, cells, caption=f"Times in {zone.key}.", whole=("STATE",)))


def _alloc(a: AllocationPublic) -> str:
    gpus = ",".join(str(i) for i in a.gpu_indices) or "none"
    return f"{a.node}: GPUs {gpus}, {a.cpus} CPU, {fmt_mem(a.memory_mb)}"


def _runtime(job: JobPublic) -> str:
    if job.started_at is None:
        return "-"
    return fmt_duration(((job.ended_at or datetime.now(UTC)) - job.started_at).total_seconds())


def _job_rows(job: JobPublic, project: str) -> list[tuple[str, object]]:
    state = f"{job.state} ({job.reason})" if job.reason else job.state
    model = f" {job.gpu_model}" if job.gpu_model else ""
    gpus = f"{job.gpu_fraction.normalize()} of one" if job.gpu_fraction else str(job.gpus)
    resources = (f"{job.nodes} node(s) x [{gpus}{model} GPU, {job.cpus} CPU, "
                 f"{fmt_mem(job.memory_mb)}]")  # fmt: skip
    command = shlex.join(job.command) if job.command else "(bash script)"
    return [
        ("ID", job.id), ("Name", job.name), ("Project", f"{project} ({job.project_id})"),
        ("User", job.user_id), ("State", state), ("Exit code", job.exit_code),
        ("QoS", job.qos), ("Priority", job.priority), ("Backend", job.backend),
        ("Resources", resources), ("Walltime", fmt_duration(job.walltime_s)),
        ("Submitted", fmt_time(job.submitted_at)), ("Started", fmt_time(job.started_at)),
        ("Ended", fmt_time(job.ended_at)), ("Run time", _runtime(job)), ("Command", command),
        ("Working dir", job.working_dir),
        ("Environment", [f"{k}={v}" for k, v in job.environment.items()]),
        ("Labels", [f"{k}={v}" for k, v in job.labels.items()]),
        ("Allocations", [_alloc(a) for a in job.allocations]), ("Attempts", job.attempt_count),
    ]  # fmt: skip


def _print_job(job: JobPublic, project: str, tries: list[AttemptPublic],
               events: list[JobEventPublic]) -> None:  # fmt: skip
    console.print(details(_job_rows(job, project)))
    if tries:
        cols = ("#", "STATE", "STARTED", "ENDED", "EXIT", "PID", "ALLOCATIONS", "DETAIL")
        console.print(table(cols, [(a.number, a.state, fmt_time(a.started_at),
                                    fmt_time(a.ended_at), a.exit_code, a.pid,
                                    [_alloc(x) for x in a.allocations], a.detail or None)
                                   for a in tries], title="Attempts"))  # fmt: skip
    if events:
        console.print(table(("TIME", "KIND", "STATE", "MESSAGE"),
                            [(fmt_time(e.at), e.kind, e.state, e.message) for e in events],
                            title="Events"))  # fmt: skip


def show(job_id: JobArg, output: OutputOption = OutputFormat.TABLE) -> None:
    """A job's details, attempts and events."""
    with api() as client:
        job = client.get_job(job_id)
        tries, events = client.job_attempts(job_id), client.job_events(job_id)
        if output == OutputFormat.JSON:
            print_json({"job": job, "attempts": tries, "events": events})
            return
        _print_job(job, ProjectNames(client)(job.project_id), tries, events)


def _wait_until_started(client: PetaportClient, job_id: str, poll_s: float = 1.0) -> None:
    """Block while the job is PENDING (a spinner on a terminal)."""
    job = client.get_job(job_id)
    if job.state != "PENDING":
        return
    with progress(f"{job_id}: waiting to start") as update:
        while job.state == "PENDING":
            update(f"{job_id}: PENDING ({job.reason or 'None'}), waiting to start")
            time.sleep(poll_s)
            job = client.get_job(job_id)


def logs(
    job_id: JobArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Wait for more until the end.")
    ] = False,
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Show stderr instead of stdout.")
    ] = False,
    attempt: Annotated[
        int | None, typer.Option(min=1, help="Attempt number (default newest).")
    ] = None,
) -> None:
    """Print a job's stdout (or --stderr); -f follows it until the attempt ends."""
    stream: Stream = "stderr" if stderr else "stdout"
    with api() as client:
        if follow and attempt is None:
            _wait_until_started(client, job_id)
        chunks = (client.follow_logs(job_id, stream, attempt=attempt) if follow
                  else client.read_log(job_id, stream=stream, attempt=attempt))  # fmt: skip
        for text in chunks:
            sys.stdout.write(text)
            sys.stdout.flush()


def cancel(job_ids: Annotated[list[str], typer.Argument(help="One or more job ids.")]) -> None:
    """Cancel jobs: a pending job ends now, a running one is stopped (SIGTERM, then SIGKILL)."""
    with api() as client:
        for job_id in job_ids:
            job = client.cancel_job(job_id)
            stopping = " (cancel requested; stopping)" if job.state == "RUNNING" else ""
            console.print(f"{job.id}: {job.state}{stopping}", markup=False)


def requeue(job_ids: Annotated[list[str], typer.Argument(help="One or more job ids.")]) -> None:
    """Put jobs back in the queue (a running one is stopped first)."""
    with api() as client:
        for job_id in job_ids:
            job = client.requeue_job(job_id)
            console.print(f"{job.id}: {job.state}", markup=False)
