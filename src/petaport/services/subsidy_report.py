"""The subsidy scheme's annual report (issue: "Reports"): load the year's facts, build the
figures with the pure core (``domain/subsidy_report.py``), render them as PDF or CSV.

The year is a Hong Kong calendar year. Applications count as received when first submitted,
approved or rejected when decided (an application screened ineligible counts as rejected:
the scheme turned it down); stage visits are the workflow's stages between transitions (the
applicant's draft and the final "decided" are not processing stages, so they are left out).
Only the secretariat (centre admins) and the committee read the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.billing.metering import HONG_KONG
from petaport.domain.errors import Forbidden, ValidationFailed
from petaport.domain.money import Money
from petaport.domain.subsidy import Grant
from petaport.domain.subsidy_report import (
    AnnualReport,
    ApplicationFact,
    GrantFact,
    Outcome,
    StageVisit,
    build_annual_report,
)
from petaport.domain.subsidy_workflow import (
    FINAL,
    STAGE_OF,
    Application,
    Stage,
    State,
    Transition,
)
from petaport.domain.tenancy import Principal, Scope
from petaport.services.context import Context
from petaport.services.invoice_render import Document
from petaport.services.subsidy_access import sees_all
from petaport.services.subsidy_report_render import report_csv, report_pdf
from petaport.storage.repos.subsidy import GrantRepo, SchemeRepo
from petaport.storage.repos.subsidy_report import (
    GrantNames,
    GrantUse,
    grant_names,
    grant_use,
    org_names,
)
from petaport.storage.repos.subsidy_workflow import ApplicationRepo

NOT_A_STAGE = frozenset({Stage.DRAFT, Stage.DECIDED})
OUTCOMES = {State.APPROVED: Outcome.APPROVED, State.REJECTED: Outcome.REJECTED,
            State.INELIGIBLE: Outcome.REJECTED}  # fmt: skip
MS_PER_HOUR = Decimal(3_600_000)


@dataclass(frozen=True)
class AnnualReportView:
    year: int
    report: AnnualReport
    title: str  # the schemes it covers, e.g. "AI Subsidy Scheme"
    generated_at: datetime


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) of ``year`` in Hong Kong, as UTC moments."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed("a report year is between 2000 and 2100")
    return (datetime(year, 1, 1, tzinfo=HONG_KONG), datetime(year + 1, 1, 1, tzinfo=HONG_KONG))


def _require_reader(p: Principal) -> None:
    if not sees_all(p):
        raise Forbidden("only the scheme's secretariat and committee read the annual report")


def application_fact(
    app: Application, org_name: str, moves: Sequence[Transition]
) -> ApplicationFact:
    ordered = sorted(moves, key=lambda t: t.at)
    submitted = next((t.at for t in ordered if t.to_state is State.SUBMITTED), None)
    decided = next((t for t in ordered if t.to_state in FINAL), None)
    visits = tuple(
        StageVisit(STAGE_OF[this.to_state].value, this.at, nxt.at if nxt else None)
        for this, nxt in zip(ordered, [*ordered[1:], None], strict=True)
        if STAGE_OF[this.to_state] not in NOT_A_STAGE
    )
    outcome = OUTCOMES.get(decided.to_state, Outcome.OPEN) if decided else Outcome.OPEN
    return ApplicationFact(app.id, org_name, app.category, app.proposal.title, submitted, outcome,
                           decided.at if decided else None, visits)  # fmt: skip


def grant_fact(g: Grant, names: GrantNames, use: GrantUse) -> GrantFact:
    return GrantFact(
        g.id, names.org_name, names.category, names.project_name, names.created_at, g.rate,
        g.cap, g.cap_gpu_hours, Money(use.funder_to_date), Money(use.funder_in_period),
        Decimal(use.gpu_ms_to_date) / MS_PER_HOUR, Decimal(use.gpu_ms_in_period) / MS_PER_HOUR,
        Money(use.list_in_period),
    )  # fmt: skip


def _facts(
    s: Session, start: datetime, end: datetime
) -> tuple[list[ApplicationFact], list[GrantFact]]:
    repo = ApplicationRepo(s)
    apps = repo.list_applications(Scope(everything=True))
    moves = repo.transitions(frozenset(a.id for a in apps))
    orgs = org_names(s)
    app_facts = [application_fact(a, orgs.get(a.org_id, a.org_id), moves[a.id]) for a in apps]
    names, use = grant_names(s), grant_use(s, start, end)
    grants = [g for g in GrantRepo(s).list_grants() if names[g.id].created_at < end]
    return app_facts, [grant_fact(g, names[g.id], use.get(g.id, GrantUse())) for g in grants]


def annual_report(ctx: Context, p: Principal, year: int) -> AnnualReportView:
    _require_reader(p)
    start, end = year_bounds(year)
    with ctx.db.transaction() as s:
        apps, grants = _facts(s, start, end)
        title = " · ".join(scheme.name for scheme in SchemeRepo(s).list_schemes()) or "Subsidy"
    return AnnualReportView(year, build_annual_report(start, end, apps, grants), title, ctx.clock())


def annual_document(ctx: Context, p: Principal, year: int, kind: str) -> Document:
    """The year's report as ``pdf`` or ``csv``, ready to download."""
    view = annual_report(ctx, p, year)
    name = f'attachment; filename="subsidy-annual-report-{year}.{kind}"'
    if kind == "pdf":
        return Document(report_pdf(view.report, view.title, view.generated_at),
                        "application/pdf", name)  # fmt: skip
    if kind == "csv":
        return Document(report_csv(view.report).encode(), "text/csv; charset=utf-8", name)
    raise ValidationFailed(f"no annual report as {kind!r}: choose pdf or csv")
