"""``petaport subsidy``: schemes and calls, the compute-request calculator, applications
(draft from a JSON file, edit, attach PDFs, submit). Review and decisions are in
``cli/subsidy_review.py``; both register on ``subsidy_app``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from petaport.cli.output import OutputFormat, OutputOption, console, details, emit, fmt_time
from petaport.cli.session import CliCommand, api, usage
from petaport.schemas.subsidy import (
    ApplicationCreate,
    ApplicationPublic,
    CalculatorInput,
    CallCreate,
    CallPublic,
    ProposalIn,
    SchemeCreate,
    SchemePublic,
)

subsidy_app = typer.Typer(
    help="The subsidy scheme: calls, applications, the calculator, review, decisions, audit.",
    no_args_is_help=True,
)
Opt = typer.Option
AppId = Annotated[str, typer.Argument(help="Application id (app_…).")]


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


@subsidy_app.command("schemes", cls=CliCommand)
def schemes(output: OutputOption = OutputFormat.TABLE) -> None:
    """Schemes with their funder, default and maximum rates and rubric."""
    with api() as client:
        rows = client.list_schemes()

    def row(s: SchemePublic) -> tuple[object, ...]:
        rubric = ", ".join(f"{c.key} {_pct(c.weight)}" for c in s.rubric)
        return (s.id, s.name, s.funder, _pct(s.default_rate), _pct(s.max_rate), rubric)

    emit(rows, output, ("ID", "NAME", "FUNDER", "DEFAULT", "MAX", "RUBRIC"), row)


@subsidy_app.command("scheme-create", cls=CliCommand)
def scheme_create(
    name: Annotated[str, typer.Argument()],
    funder: Annotated[str, Opt(help="Funder id, e.g. hk-gov.")],
    default_rate: Annotated[str, Opt(help="Fraction, e.g. 0.70.")] = "0.70",
    max_rate: Annotated[str, Opt(help="Fraction, e.g. 0.90.")] = "0.90",
    category: Annotated[
        list[str] | None, Opt(help="Eligible category (repeat); none: all.")
    ] = None,
) -> None:
    """A new scheme with the default rubric (the secretariat)."""
    spec = SchemeCreate(name=name, funder=funder, default_rate=Decimal(default_rate),
                        max_rate=Decimal(max_rate), eligible_categories=category)  # type: ignore[arg-type]  # fmt: skip
    with api() as client:
        typer.echo(client.create_scheme(spec).id)


@subsidy_app.command("calls", cls=CliCommand)
def calls(
    open_only: Annotated[bool, Opt("--open", help="Only calls open now.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Calls for applications and whether they are open."""
    with api() as client:
        rows = client.list_calls(open_only)

    def row(c: CallPublic) -> tuple[object, ...]:
        return (c.id, c.name, fmt_time(c.opens_at), fmt_time(c.closes_at), c.open)

    emit(rows, output, ("ID", "NAME", "OPENS", "CLOSES", "OPEN"), row)


@subsidy_app.command("call-create", cls=CliCommand)
def call_create(
    scheme: Annotated[str, typer.Argument(help="Scheme id or name.")],
    name: Annotated[str, typer.Argument()],
    days: Annotated[int, Opt(help="Open for this many days from now.")] = 90,
) -> None:
    """A call open from now for ``--days`` (the secretariat)."""
    now = datetime.now(UTC)
    spec = CallCreate(scheme=scheme, name=name, opens_at=now, closes_at=now + timedelta(days=days))
    with api() as client:
        typer.echo(client.create_call(spec).id)


@subsidy_app.command("calculate", cls=CliCommand)
def calculate(
    params: Annotated[str, Opt("--params", "-N", help="Model parameters, e.g. 7e9.")],
    gpu: Annotated[str, Opt("--gpu", help="GPU model: H800, H100, H200, H20, A100, A800, L40S.")],
    tokens: Annotated[
        str | None, Opt("--tokens", "-D", help="Tokens per epoch, e.g. 1e12.")
    ] = None,
    samples: Annotated[str | None, Opt(help="Dataset size in samples.")] = None,
    tokens_per_sample: Annotated[str | None, Opt(help="Tokens per sample.")] = None,
    epochs: Annotated[str, Opt(help="Epochs.")] = "1",
    batch_size: Annotated[int | None, Opt(help="Sequences per step.")] = None,
    precision: Annotated[str, Opt(help="fp32, tf32, bf16, fp16, fp8.")] = "bf16",
    mode: Annotated[str, Opt(help="training, fine_tuning, inference.")] = "training",
    lora: Annotated[bool, Opt(help="Fine-tuning with LoRA (4·N·D).")] = False,
    mfu: Annotated[str, Opt(help="Assumed MFU, a fraction.")] = "0.40",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """FLOPs and GPU-hours for a compute request, with every assumption."""
    spec = CalculatorInput(
        parameters=Decimal(params), gpu_model=gpu, tokens=dec(tokens), samples=dec(samples),
        tokens_per_sample=dec(tokens_per_sample), epochs=Decimal(epochs), batch_size=batch_size,
        precision=precision, mode=mode, fine_tuning="lora" if lora else "full",  # type: ignore[arg-type]
        mfu=Decimal(mfu),
    )  # fmt: skip
    with api() as client:
        out = client.calculate(spec)
    if output == OutputFormat.JSON:
        typer.echo(out.model_dump_json(indent=2))
        return
    console.print(details([("GPU-hours", out.gpu_hours), ("FLOPs", f"{out.flops:.3E}"),
                           ("Formula", out.formula), ("Steps", out.steps)]))  # fmt: skip
    for line in out.assumptions:
        console.print(f"- {line}", markup=False)


def dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _read_proposal(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise usage(f"cannot read {path}: {exc}", "FILE") from exc
    if not isinstance(data, dict):
        raise usage(f"{path} must hold a JSON object", "FILE")
    return data


ProposalFile = Annotated[Path, typer.Argument(help="JSON: title, description, gpu_model, "
                                              "gpu_hours, duration_months, milestones, "
                                              "declarations.")]  # fmt: skip


@subsidy_app.command("apply", cls=CliCommand)
def apply(
    call: Annotated[str, Opt(help="Call id (petaport subsidy calls --open).")],
    project: Annotated[str, Opt("--project", "-p", help="org-slug/project-slug.")],
    proposal: ProposalFile,
    submit_now: Annotated[bool, Opt("--submit", help="Submit at once.")] = False,
) -> None:
    """Create a draft application from a JSON file (an org admin); prints its id."""
    spec = ApplicationCreate.model_validate({**_read_proposal(proposal), "call_id": call,
                                             "project": project}, strict=False)  # fmt: skip
    with api() as client:
        app = client.create_application(spec)
        if submit_now:
            app = client.submit_application(app.id)
    typer.echo(app.id)


@subsidy_app.command("edit", cls=CliCommand)
def edit(app_id: AppId, proposal: ProposalFile) -> None:
    """Replace a draft's content (refused once submitted, until changes are requested)."""
    spec = ProposalIn.model_validate(_read_proposal(proposal), strict=False)
    with api() as client:
        typer.echo(client.update_application(app_id, spec).state)


@subsidy_app.command("attach", cls=CliCommand)
def attach(app_id: AppId, pdf: Annotated[Path, typer.Argument(help="A PDF file.")]) -> None:
    """Attach a PDF to a draft; prints its SHA-256."""
    try:
        data = pdf.read_bytes()
    except OSError as exc:
        raise usage(f"cannot read {pdf}: {exc}", "PDF") from exc
    with api() as client:
        typer.echo(client.attach(app_id, pdf.name, data).sha256)


@subsidy_app.command("submit", cls=CliCommand)
def submit(app_id: AppId) -> None:
    """Submit (or resubmit) for screening; the application is frozen from then on."""
    with api() as client:
        app = client.submit_application(app_id)
    typer.echo(f"{app.id} submitted (version {app.version})")


@subsidy_app.command("applications", cls=CliCommand)
def applications(
    state: Annotated[str | None, Opt(help="Only this state.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Applications you may read, with their stage clock."""
    with api() as client:
        rows = client.list_applications(state)

    def row(a: ApplicationPublic) -> tuple[object, ...]:
        c = a.stage_clock
        late = " OVERDUE" if c.overdue else ""
        return (a.id, a.title, a.project, a.state, a.gpu_hours, f"{c.in_current_s // 86400}d{late}")

    emit(rows, output, ("ID", "TITLE", "PROJECT", "STATE", "GPU-HOURS", "IN STAGE"), row)


@subsidy_app.command("show", cls=CliCommand)
def show(app_id: AppId, output: OutputOption = OutputFormat.TABLE) -> None:
    """An application with its milestones, attachments and decisions."""
    with api() as client:
        a = client.get_application(app_id)
    if output == OutputFormat.JSON:
        typer.echo(a.model_dump_json(indent=2))
        return
    console.print(details([
        ("Id", a.id), ("Title", a.title), ("Project", a.project), ("Call", a.call_name),
        ("State", a.state), ("Version", a.version), ("GPU-hours", f"{a.gpu_hours} {a.gpu_model}"),
        ("Milestones", [f"{m.due_on} {m.title} ({m.planned_gpu_hours} h)" for m in a.milestones]),
        ("Attachments", [f"{x.filename} {x.sha256[:12]}" for x in a.attachments]),
        ("Changes asked", a.changes_reason or "-"),
        ("Decisions", [f"{d.outcome}: {d.reasons}" for d in a.decisions]),
    ]))  # fmt: skip
