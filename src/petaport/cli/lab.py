"""``petaport lab``: AI Lab templates: list, show, estimate, run (and wait), outputs."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from petaport.cli.output import OutputFormat, OutputOption, console, emit, print_json, table
from petaport.cli.parsing import parse_pairs
from petaport.cli.session import CliCommand, api, usage
from petaport.cli.submit import PROJECT_ENV, exit_status, wait_for_end
from petaport.schemas.catalogue import LabRunCreate, TemplatePublic

lab_app = typer.Typer(help="AI Lab: ready-to-run job templates.", no_args_is_help=True)
Opt = typer.Option
Project = Annotated[str | None, Opt("--project", "-p", help="org-slug/project-slug.")]
Params = Annotated[list[str] | None, Opt("--param", "-P", help="NAME=VALUE, repeatable.")]
Uses = Annotated[list[str] | None, Opt("--use", help="dataset:NAME[@VERSION], repeatable.")]


def _value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _run_spec(project: str | None, params: list[str] | None, uses: list[str] | None
              ) -> LabRunCreate:  # fmt: skip
    project = project or os.environ.get(PROJECT_ENV)
    if not project:
        raise usage("say which project: --project org-slug/project-slug", "--project")
    values: dict[str, Any] = {k: _value(v) for k, v in parse_pairs(params or [], "--param").items()}
    return LabRunCreate(project=project, params=values, uses=uses or [])


@lab_app.command("list", cls=CliCommand)
def list_templates(output: OutputOption = OutputFormat.TABLE) -> None:
    """Templates with their version and resources."""
    with api() as client:
        rows = client.list_templates()

    def row(t: TemplatePublic) -> tuple[object, ...]:
        return (t.name, t.version, t.title, t.cpus, t.gpus, f"{t.walltime_s // 60} min")

    emit(rows, output, ("NAME", "VERSION", "TITLE", "CPUS", "GPUS", "WALLTIME"), row)


@lab_app.command("show", cls=CliCommand)
def show(name: str, output: OutputOption = OutputFormat.TABLE) -> None:
    """A template: what it does and its parameters."""
    with api() as client:
        t = client.get_template(name)
    if output == OutputFormat.JSON:
        print_json(t)
        return
    console.print(f"{t.name} v{t.version}: {t.title}\n{t.description}\n", markup=False)
    rows = [(p.name, p.kind, p.default, p.minimum, p.maximum, p.help) for p in t.params]
    console.print(table(("PARAMETER", "TYPE", "DEFAULT", "MIN", "MAX", "MEANING"), rows))


@lab_app.command("estimate", cls=CliCommand)
def estimate(name: str, project: Project = None, param: Params = None,
             output: OutputOption = OutputFormat.TABLE) -> None:  # fmt: skip
    """What a run would use over its whole walltime (and cost, once prices are stored)."""
    with api() as client:
        e = client.estimate_run(name, _run_spec(project, param, None))
    if output == OutputFormat.JSON:
        print_json(e)
        return
    console.print(f"{e.template}: up to {e.walltime_s // 60} min, {e.gpu_hours} GPU-hours, "
                  f"{e.cpu_hours} CPU-hours", markup=False)  # fmt: skip
    if e.priced:
        console.print(f"Estimated cost: {e.currency} {e.total}", markup=False)
    console.print(e.note, markup=False)


@lab_app.command("run", cls=CliCommand)
def run(
    name: str, project: Project = None, param: Params = None, use: Uses = None,
    wait: Annotated[bool, Opt("--wait", "-W", help="Wait, print outputs, exit with its code.")]
    = False,
) -> None:  # fmt: skip
    """Launch a run (a job) and print its id; with --wait, print its outputs at the end."""
    with api() as client:
        job = client.run_template(name, _run_spec(project, param, use))
        typer.echo(job.id)
        if wait:
            ended = wait_for_end(client, job.id)
            typer.echo(json.dumps(client.run_outputs(job.id), indent=2))
            raise typer.Exit(exit_status(ended))


@lab_app.command("outputs", cls=CliCommand)
def outputs(job_id: str, output: OutputOption = OutputFormat.JSON) -> None:
    """The JSON outputs a run wrote (metrics, assessment)."""
    with api() as client:
        found = client.run_outputs(job_id)
    if output == OutputFormat.JSON:
        print_json(found)
        return
    for key, value in found.items():
        console.print(key, markup=False)
        for k, v in (value if isinstance(value, dict) else {}).items():
            console.print(f"  {k}: {v}", markup=False)
