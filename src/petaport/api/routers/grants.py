"""Subsidy grants after they are made: list and view with drawdown, create directly,
suspend/resume/close, alerts, audit trail, progress reports, and funder statements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.domain.money import Money
from petaport.domain.progress import Milestone, PeriodStatus, ProgressReport
from petaport.domain.subsidy import OnCap
from petaport.schemas import Text
from petaport.schemas.grants import (
    AuditPublic,
    GrantAction,
    GrantAlertPublic,
    GrantCreate,
    GrantPublic,
    MilestonePublic,
    PeriodPublic,
    ReportCreate,
    ReportPublic,
    StatementLinePublic,
    StatementPublic,
)
from petaport.services import funder_statement, funder_statement_render, grants, progress
from petaport.storage.repos.grant_alerts import GrantAlert

router = APIRouter(tags=["grants"])
GrantId = Annotated[Text, Path(min_length=1, max_length=40)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (HK).")]
Funder = Annotated[Text, Query(min_length=1, max_length=64, description="The funder's id.")]


def _alert(a: GrantAlert) -> GrantAlertPublic:
    return GrantAlertPublic(
        id=a.id, grant_id=a.grant_id, org_id=a.org_id, project_id=a.project_id, kind=a.kind,
        at=a.at, message=a.message,
    )  # fmt: skip


def _grant(v: grants.GrantView) -> GrantPublic:
    g, t = v.grant, v.terms
    hkd, gpu = v.percent()
    return GrantPublic(
        id=g.id, scheme_id=g.scheme_id, funder_id=g.funder_id, org_id=g.org_id,
        project_id=g.project_id, application_id=g.application_id, rate=g.rate,
        status=g.status.value, valid_from=g.valid_from, valid_until=g.valid_until,
        cap=g.cap.amount if g.cap else None, cap_gpu_hours=g.cap_gpu_hours,
        allowed_gpu_models=sorted(g.allowed_gpu_models), on_cap=g.on_cap.value,
        conditions=g.conditions, funded=v.funded.amount, funded_gpu_hours=v.gpu_hours,
        percent_cap=hkd, percent_gpu_hours=gpu,
        milestones=[MilestonePublic(key=m.key, title=m.title, due=m.due, gpu_hours=m.gpu_hours)
                    for m in t.milestones],
        report_every_months=t.every_months, grace_days=t.grace_days,
        suspend_when_late=t.suspend_when_late, alerts=[_alert(a) for a in v.alerts],
    )  # fmt: skip


@router.get("/grants", responses=declare(401, 422))
def list_grants(
    ctx: CtxDep, p: PrincipalDep,
    org: Annotated[Text | None, Query(max_length=64, description="Org id or slug.")] = None,
    funder: Annotated[Text | None, Query(max_length=64)] = None,
) -> list[GrantPublic]:  # fmt: skip
    """Grants the caller may see (committee and centre admins: all; org members: theirs),
    each with what it has funded against its caps."""
    return [_grant(v) for v in grants.list_grants(ctx, p, org=org, funder=funder)]


@router.post("/grants", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def create_grant(ctx: CtxDep, p: PrincipalDep, body: GrantCreate) -> GrantPublic:
    """Make a grant directly for a scheme (committee, centre admins): for centres migrating
    existing grants. A rate above the scheme's maximum is refused (422 rate_above_maximum)."""
    fields = grants.GrantFields(
        body.scheme_id, body.project, body.rate, body.valid_from, body.valid_until,
        Money(body.cap) if body.cap is not None else None, body.cap_gpu_hours,
        frozenset(body.allowed_gpu_models), OnCap(body.on_cap), body.conditions,
        tuple(Milestone(m.key, m.title, m.due, m.gpu_hours) for m in body.milestones),
        body.report_every_months, body.grace_days, body.suspend_when_late,
    )  # fmt: skip
    return _grant(grants.create_grant(ctx, p, fields))


@router.get("/grants/alerts", responses=declare(401, 422))
def grant_alerts(ctx: CtxDep, p: PrincipalDep) -> list[GrantAlertPublic]:
    """Cap (80/100%), expiry (30/7 days, ended) and late-report warnings, newest first."""
    return [_alert(a) for a in grants.list_alerts(ctx, p)]


@router.get("/grants/{grant_id}", responses=declare(401, 404, 422))
def get_grant(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId) -> GrantPublic:
    return _grant(grants.get_grant(ctx, p, grant_id))


STATUS_ERRORS = declare(401, 403, 404, 409, 422)


def _reason(body: GrantAction | None) -> str:
    return body.reason if body is not None else ""


@router.post("/grants/{grant_id}/suspend", responses=STATUS_ERRORS)
def suspend_grant(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId, body: GrantAction | None = None
                  ) -> GrantPublic:  # fmt: skip
    """Suspend a grant (committee, centre admins): its charges go to the org at list price
    until it is resumed. Recorded in the audit trail, as are resume and close."""
    return _grant(grants.change_status(ctx, p, grant_id, "suspend", _reason(body)))


@router.post("/grants/{grant_id}/resume", responses=STATUS_ERRORS)
def resume_grant(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId, body: GrantAction | None = None
                 ) -> GrantPublic:  # fmt: skip
    return _grant(grants.change_status(ctx, p, grant_id, "resume", _reason(body)))


@router.post("/grants/{grant_id}/close", responses=STATUS_ERRORS)
def close_grant(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId, body: GrantAction | None = None
                ) -> GrantPublic:  # fmt: skip
    """Close a grant for good (committee, centre admins); a stop-mode grant then no longer
    holds the project's jobs, which the org pays at list price."""
    return _grant(grants.change_status(ctx, p, grant_id, "close", _reason(body)))


@router.get("/grants/{grant_id}/audit", responses=declare(401, 403, 404, 422))
def grant_audit(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId) -> list[AuditPublic]:
    """The grant's audit trail, newest first (committee, centre admins)."""
    return [
        AuditPublic(id=r.id, at=r.at, actor_id=r.actor_id, action=r.action, details=dict(r.details))
        for r in grants.audit_trail(ctx, p, grant_id)
    ]


def _report(r: ProgressReport) -> ReportPublic:
    return ReportPublic(
        id=r.id, grant_id=r.grant_id, period_start=r.period.start, period_end=r.period.end,
        due_at=r.period.due_at, filed_at=r.filed_at, filed_by=r.filed_by, summary=r.summary,
        progress=r.progress, planned_gpu_hours=r.planned_gpu_hours,
        actual_gpu_hours=r.actual_gpu_hours, late=r.late,
    )  # fmt: skip


def _period(st: PeriodStatus) -> PeriodPublic:
    return PeriodPublic(period_start=st.period.start, period_end=st.period.end,
                        due_at=st.period.due_at, overdue=st.overdue,
                        report=_report(st.report) if st.report else None)  # fmt: skip


@router.get("/grants/{grant_id}/reports", responses=declare(401, 404, 422))
def list_reports(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId) -> list[PeriodPublic]:
    """Each reporting period so far with its report, or whether it is overdue."""
    return [_period(st) for st in progress.reports(ctx, p, grant_id).periods]


@router.post("/grants/{grant_id}/reports", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def file_report(ctx: CtxDep, p: PrincipalDep, grant_id: GrantId, body: ReportCreate
                ) -> ReportPublic:  # fmt: skip
    """File the progress report of the earliest unreported period (the grantee's org
    admins); planned and actual GPU-hours are filled in."""
    return _report(progress.file_report(ctx, p, grant_id, body.summary, body.progress))


def _statement(st: funder_statement.Statement) -> StatementPublic:
    return StatementPublic(
        funder_id=st.funder_id, month=st.month, list_price=st.amount.amount,
        funder_total=st.funder_total.amount, org_total=st.org_total.amount,
        gpu_hours=st.gpu_hours, ledger_total=st.ledger_total.amount,
        lines=[StatementLinePublic(
            grant_id=ln.grant_id, org_id=ln.org_id, org_name=ln.org_name,
            project_id=ln.project_id, project_name=ln.project_name, charges=ln.charges,
            list_price=ln.amount.amount, funder_share=ln.funder_share.amount,
            org_share=ln.org_share.amount, gpu_hours=ln.gpu_hours) for ln in st.lines],
    )  # fmt: skip


@router.get("/funder-statements", responses=declare(401, 403, 409, 422))
def get_statement(ctx: CtxDep, p: PrincipalDep, funder: Funder, month: Month
                  ) -> StatementPublic:  # fmt: skip
    """A funder's Hong Kong month (committee, centre admins): per grant and org."""
    return _statement(funder_statement.statement(ctx, p, funder, month))


def _file(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
            **declare(401, 403, 409, 422)}  # fmt: skip


@router.get("/funder-statements/pdf", response_class=Response, responses=_file("application/pdf"))
def statement_pdf(ctx: CtxDep, p: PrincipalDep, funder: Funder, month: Month) -> Response:
    return _download(ctx, p, funder, month, "pdf")


@router.get("/funder-statements/csv", response_class=Response, responses=_file("text/csv"))
def statement_csv(ctx: CtxDep, p: PrincipalDep, funder: Funder, month: Month) -> Response:
    return _download(ctx, p, funder, month, "csv")


def _download(ctx: CtxDep, p: PrincipalDep, funder: str, month: str, kind: str) -> Response:
    doc = funder_statement_render.document(funder_statement.statement(ctx, p, funder, month), kind)
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip
