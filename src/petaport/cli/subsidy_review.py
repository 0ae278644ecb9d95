"""``petaport subsidy`` review commands: screen, assign, coi, score, reviews, decide,
assignments, stages and audit (registered on ``subsidy_app``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import typer

from petaport.cli.output import OutputFormat, OutputOption, console, emit, fmt_time, table
from petaport.cli.session import CliCommand, api, usage
from petaport.cli.subsidy import AppId, Opt, subsidy_app
from petaport.schemas.subsidy import (
    AssignmentPublic,
    AuditPublic,
    DecisionCreate,
    ScoreIn,
    ScoresCreate,
    StagePublic,
    TermsIn,
)


@subsidy_app.command("screen", cls=CliCommand)
def screen(
    app_id: AppId,
    ineligible: Annotated[bool, Opt("--ineligible", help="Not eligible (give --reason).")] = False,
    reason: Annotated[str, Opt(help="Why (shown to the applicant).")] = "",
) -> None:
    """Eligibility screening by the secretariat: to review, or ineligible."""
    with api() as client:
        typer.echo(client.screen(app_id, not ineligible, reason).state)


@subsidy_app.command("assign", cls=CliCommand)
def assign(app_id: AppId, reviewer: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Assign a reviewer (never one from the applicant's organisation)."""
    with api() as client:
        typer.echo(client.assign(app_id, reviewer).id)


@subsidy_app.command("coi", cls=CliCommand)
def coi(
    app_id: AppId,
    conflicted: Annotated[str | None, Opt(help="Declare a conflict: its statement.")] = None,
) -> None:
    """Declare your conflicts of interest (none, or --conflicted STATEMENT: you are recused)."""
    with api() as client:
        a = client.declare_coi(app_id, conflicted is not None, conflicted or "")
    typer.echo("recused" if a.coi == "conflicted" else "no conflict declared")


def _scores(pairs: list[str], comments: list[str]) -> ScoresCreate:
    notes = dict(c.split("=", 1) for c in comments if "=" in c)
    out = []
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not value.strip().isdigit():
            raise usage(f"{pair}: write CRITERION=SCORE with a whole score 0-10", "--score")
        out.append(ScoreIn(criterion=key, score=int(value), comment=notes.get(key, "")))
    return ScoresCreate(scores=out)


@subsidy_app.command("score", cls=CliCommand)
def score(
    app_id: AppId,
    scores: Annotated[list[str], Opt("--score", "-s", help="CRITERION=0..10 (repeat).")],
    comments: Annotated[list[str] | None, Opt("--comment", "-c", help="CRITERION=text.")] = None,
) -> None:
    """Score every rubric criterion from 0 to 10; prints your weighted total."""
    with api() as client:
        review = client.score(app_id, _scores(scores, comments or []))
    typer.echo(f"weighted total {review.total}")


@subsidy_app.command("reviews", cls=CliCommand)
def reviews(app_id: AppId, output: OutputOption = OutputFormat.TABLE) -> None:
    """Reviewers, declarations and the scores you may see, with weighted totals."""
    with api() as client:
        view = client.reviews(app_id)
    if output == OutputFormat.JSON:
        typer.echo(view.model_dump_json(indent=2))
        return
    names = {r.id: r.reviewer for r in view.reviewers}
    keys = [c.key for c in view.rubric]
    rows = []
    for r in view.reviews:
        given = {x.criterion: x.score for x in r.scores}
        rows.append([names.get(r.assignment_id), *(given[k] for k in keys), r.total])
    console.print(table(["REVIEWER", *[k.upper() for k in keys], "TOTAL"], rows,
                        caption=f"mean {view.mean_total}; complete: {view.complete}"))  # fmt: skip
    console.print(
        table(
            ["REVIEWER", "COI", "SCORED"],
            [[r.reviewer, r.coi or "not declared", r.scored] for r in view.reviewers],
        )
    )


@subsidy_app.command("decide", cls=CliCommand)
def decide(
    app_id: AppId,
    outcome: Annotated[str, typer.Argument(help="approve, reject or changes.")],
    reason: Annotated[str, Opt(help="Reasons (needed to reject or ask for changes).")] = "",
    rate: Annotated[str | None, Opt(help="Subsidy rate; default: the scheme's.")] = None,
    cap: Annotated[str | None, Opt(help="Cap in HKD.")] = None,
    gpu_hours: Annotated[str | None, Opt(help="Approved GPU-hours.")] = None,
    months: Annotated[int, Opt(help="Validity in months from --start.")] = 6,
    start: Annotated[str | None, Opt(help="YYYY-MM-DD; default today.")] = None,
    models: Annotated[list[str] | None, Opt("--model", help="Funded GPU model (repeat).")] = None,
    stop_at_cap: Annotated[bool, Opt(help="Stop jobs at the cap (default: bill the org).")] = False,
    conditions: Annotated[str, Opt(help="Conditions of the grant.")] = "",
) -> None:
    """The committee's decision; an approval creates the grant and prints its id."""
    word = {"approve": "approved", "reject": "rejected", "changes": "changes_requested"}
    if outcome not in word:
        raise usage("say approve, reject or changes", "OUTCOME")
    terms = None
    if outcome == "approve":
        if gpu_hours is None:
            raise usage("an approval needs --gpu-hours", "--gpu-hours")
        begin = datetime.fromisoformat(start).replace(tzinfo=UTC) if start else datetime.now(UTC)
        terms = TermsIn(gpu_hours=Decimal(gpu_hours), valid_from=begin,
                        valid_until=begin + timedelta(days=30 * months),
                        cap=Decimal(cap) if cap else None, rate=Decimal(rate) if rate else None,
                        allowed_gpu_models=models or [],
                        on_cap="stop" if stop_at_cap else "bill_org",
                        conditions=conditions)  # fmt: skip
    with api() as client:
        d = client.decide(app_id, DecisionCreate(outcome=word[outcome], reasons=reason,  # type: ignore[arg-type]
                                                 terms=terms))  # fmt: skip
    typer.echo(d.grant_id or d.application_state)


@subsidy_app.command("assignments", cls=CliCommand)
def assignments(output: OutputOption = OutputFormat.TABLE) -> None:
    """Your review assignments."""
    with api() as client:
        rows = client.my_assignments()

    def row(a: AssignmentPublic) -> tuple[object, ...]:
        return (a.application_id, a.application_title, a.application_state,
                a.coi or "declare first", a.scored)  # fmt: skip

    emit(rows, output, ("APPLICATION", "TITLE", "STATE", "COI", "SCORED"), row)


@subsidy_app.command("stages", cls=CliCommand)
def stages(
    overdue: Annotated[bool, Opt(help="Only applications past their stage's target.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The stage clock: days in each stage; overdue ones flagged."""
    with api() as client:
        rows = client.stages(overdue)
    names = ("draft", "screening", "review", "committee", "changes_requested")

    def row(r: StagePublic) -> tuple[object, ...]:
        days = [f"{r.clock.seconds.get(n, 0) / 86400:.1f}" for n in names]
        return (r.application_id, r.title, r.state, *days, "OVERDUE" if r.clock.overdue else "")

    cols = ("APPLICATION", "TITLE", "STATE", *(n.upper()[:10] for n in names), "FLAG")
    emit(rows, output, cols, row)


@subsidy_app.command("audit", cls=CliCommand)
def audit(
    application: Annotated[str | None, Opt(help="Only this application.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The audit trail (the secretariat), newest first."""
    with api() as client:
        rows = client.audit(application)

    def row(r: AuditPublic) -> tuple[object, ...]:
        return (fmt_time(r.at), r.action, r.actor_id or "system", r.subject_id, r.details)

    emit(rows, output, ("WHEN", "ACTION", "BY", "SUBJECT", "DETAILS"), row)
