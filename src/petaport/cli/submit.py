"""``petaport submit``: build a ``JobCreate`` from flags and/or a YAML job file, and send it.

Prints only the new job's id on stdout (``JOB=$(petaport submit …)`` works). With ``--wait`` it
follows the job to its end (a spinner on a terminal) and exits with the job's exit code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from petaport.cli.output import console, err_console, progress
from petaport.cli.parsing import SubmitFlags, build_job, load_job_file
from petaport.cli.session import api, usage
from petaport.client import PetaportClient
from petaport.schemas import JobPublic, QosName
from petaport.schemas.money import EstimatePublic

PROJECT_ENV = "PETAPORT_PROJECT"
SUBMIT_CONTEXT = {"allow_interspersed_args": False}

Opt = typer.Option
Gpus = Annotated[
    str | None,
    Opt("--gpus", "-G", help="GPUs per node, or a share of one GPU (0.5).", show_default=False),
]
GpuModel = Annotated[str | None, Opt(help="GPU model, e.g. H800.", show_default=False)]
Cpus = Annotated[int | None, Opt("--cpus", "-c", help="CPUs per node.", show_default=False)]
Mem = Annotated[str | None, Opt(help="Memory per node: 16G, 512M, 1T.", show_default=False)]
Nodes = Annotated[int | None, Opt("--nodes", "-N", help="Nodes.", show_default=False)]
Time = Annotated[
    str | None,
    Opt("--time", "-t", help="Walltime: 90 (min), 1:30:00, 2-00:00:00, 2h.", show_default=False),
]
Project = Annotated[
    str | None,
    Opt("--project", "-p", help=f"org-slug/project-slug or prj_ id (default ${PROJECT_ENV}).",
        show_default=False),
]  # fmt: skip
Qos = Annotated[QosName | None, Opt(help="reserved, on-demand or preemptible.", show_default=False)]
Name = Annotated[str | None, Opt("--name", "-J", help="Job name (default: the program's name).")]
Env = Annotated[list[str] | None, Opt("--env", "-e", help="KEY=VAL, repeatable.")]
Label = Annotated[list[str] | None, Opt("--label", "-l", help="KEY=VAL, repeatable.")]
Workdir = Annotated[str | None, Opt(help="Absolute working directory.", show_default=False)]
Script = Annotated[Path | None, Opt(help="Run this bash script file instead of a command.")]
JobFile = Annotated[Path | None, Opt("--file", "-f", help="YAML job file (JobCreate fields).")]
Wait = Annotated[bool, Opt("--wait", "-W", help="Wait for the end; exit with the job's code.")]
DryRun = Annotated[
    bool, Opt("--dry-run", help="Show the estimated cost and budget left; submit nothing.")
]
Use = Annotated[
    list[str] | None,
    Opt("--use", help="Catalogue entry, read-only: dataset:NAME, model:ORG/NAME@VERSION."),
]
Command = Annotated[list[str] | None, typer.Argument(help="The command, after '--'.")]


def _read_script(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise usage(f"cannot read {path}: {exc.strerror}", "--script") from exc


def submit(
    command: Command = None, job_file: JobFile = None, gpus: Gpus = None,
    gpu_model: GpuModel = None, cpus: Cpus = None, mem: Mem = None, nodes: Nodes = None,
    time: Time = None, project: Project = None, qos: Qos = None, name: Name = None,
    env: Env = None, label: Label = None, workdir: Workdir = None, script: Script = None,
    wait: Wait = False, dry_run: DryRun = False, use: Use = None,
) -> None:  # fmt: skip
    """Submit a job and print its id: submit --gpus 2 --mem 16G -p org/proj -- python train.py

    With -f job.yaml the file gives JobCreate fields (memory_mb: 16G and walltime_s: 2h are
    allowed); flags given on the command line override it, and --env/--label add to its maps.
    Everything after the first bare word (or after --) is the command. With --wait, exits with
    the job's own exit code (1 if it ended without one).
    """
    flags = SubmitFlags(name=name, project=project, gpus=gpus, gpu_model=gpu_model, cpus=cpus,
                        mem=mem, nodes=nodes, time=time, qos=qos, workdir=workdir,
                        env=env or [], labels=label or [], command=command or [],
                        script=_read_script(script), uses=use or [])  # fmt: skip
    file_fields = load_job_file(job_file) if job_file else None
    spec = build_job(flags, file_fields, os.environ.get(PROJECT_ENV))
    with api() as client:
        if dry_run:
            show_estimate(client.estimate_job(spec))
            return
        job = client.submit_job(spec)
        typer.echo(job.id)
        if wait:
            raise typer.Exit(exit_status(wait_for_end(client, job.id)))


def _progress(job: JobPublic) -> str:
    reason = f" ({job.reason})" if job.state == "PENDING" and job.reason else ""
    return f"{job.id}: {job.state}{reason}"


def wait_for_end(client: PetaportClient, job_id: str) -> JobPublic:
    """Poll until the job ends, with a spinner on a terminal; prints a summary to stderr."""
    with progress(f"{job_id}: submitted") as update:
        job = client.wait_job(job_id, on_poll=lambda j: update(_progress(j)))
    code = "-" if job.exit_code is None else job.exit_code
    err_console.print(f"{job.id} {job.state} (exit code {code})", markup=False)
    return job


def exit_status(job: JobPublic) -> int:
    """The job's exit code as a process status; 1 when it ended badly without one."""
    code = job.exit_code if job.exit_code is not None else 1
    if code < 0:  # killed by a signal: the shell convention 128 + signal number
        code = 128 - code
    code %= 256
    return 1 if job.state != "COMPLETED" and code == 0 else code


def show_estimate(est: EstimatePublic) -> None:
    """The cost of a job before it runs, line by line, and what each budget has left."""
    table = Table(title="Estimated cost (nothing submitted)")
    for col in ("RESOURCE", "MODEL", "QUANTITY", "HKD"):
        table.add_column(col, justify="right" if col in ("QUANTITY", "HKD") else "left")
    for line in est.lines:
        table.add_row(line.resource, line.gpu_model or "-", f"{line.quantity:,}",
                      f"{line.amount:,.2f}")  # fmt: skip
    console.print(table)
    hours = f"{est.walltime_s / 3600:g} h"
    assumed = " (no walltime given: assumed)" if est.walltime_assumed else ""
    console.print(f"Total for {hours}{assumed}: HK${est.total:,.2f}; {est.gpu_hours:,} GPU-hours",
                  markup=False)  # fmt: skip
    for b in est.budgets:
        unit = "HKD" if b.unit == "HKD" else "GPU-hours"
        console.print(f"Budget {b.budget_id}: {b.left:,} {unit} left", markup=False)
