"""Progress reports: grantees (org admins) file one per reporting period of a grant, against
its milestones; planned GPU-hours come from the milestones due in the period and actual
GPU-hours from the project's metered usage in it. A report filed after its due time is late;
``watch`` flags overdue ones and, where the grant's terms say so, suspends the grant once a
report is ``grace_days`` overdue. The committee (and the org) read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.domain.errors import Forbidden, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.progress import (
    Milestone,
    Period,
    PeriodStatus,
    ProgressReport,
    next_unreported,
    planned_gpu_hours,
    status,
)
from petaport.domain.subsidy import Grant, GrantStatus
from petaport.domain.tenancy import Principal
from petaport.services.authz import can_admin_org, require_scope
from petaport.services.context import Context
from petaport.services.grants import grant_scope, set_status
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.grant_alerts import GrantAlert, GrantAlertRepo
from petaport.storage.repos.progress import ProgressRepo
from petaport.storage.repos.subsidy import GrantRepo

MAX_TEXT = 20_000


@dataclass(frozen=True)
class ReportsView:
    grant: Grant
    periods: tuple[PeriodStatus, ...]


@dataclass(frozen=True)
class ReportDraft:
    """What the next report will be filed against: its period, the milestones, and the
    GPU-hours planned for it and used so far (as ``file_report`` will fill them in now)."""

    grant: Grant
    period: Period
    milestones: tuple[Milestone, ...]
    planned_gpu_hours: Decimal
    actual_gpu_hours: Decimal
    late: bool  # filed now, it would be late


def _actual_hours(s: Session, grant: Grant, start: datetime, end: datetime) -> Decimal:
    seconds = DrawdownRepo(s).gpu_seconds(grant.project_id, start, end)
    return (seconds / 3600).quantize(Decimal("0.001"))


def _grant_to_report(s: Session, p: Principal, grant_id: str) -> Grant:
    grant = GrantRepo(s).get(grant_id, grant_scope(p))  # another tenant's: not found
    require_scope(p, "admin")
    if not can_admin_org(p, grant.org_id):
        raise Forbidden("only an org admin of the grantee files progress reports")
    return grant


def draft_report(ctx: Context, p: Principal, grant_id: str) -> ReportDraft:
    """The form of the next report (an org admin of the grantee); 409 when all are filed."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        grant = _grant_to_report(s, p, grant_id)
        repo = ProgressRepo(s)
        terms = repo.terms(grant.id)
        period = next_unreported(grant, terms, repo.reports(grant.id), now)
        actual = _actual_hours(s, grant, period.start, min(period.end, now))
    return ReportDraft(grant, period, terms.milestones, planned_gpu_hours(terms, period), actual,
                       late=now > period.due_at)  # fmt: skip


def file_report(ctx: Context, p: Principal, grant_id: str, summary: str,
                progress: dict[str, str]) -> ProgressReport:  # fmt: skip
    """File the report of the grant's earliest unreported period (an org admin of the org)."""
    if not summary.strip() or len(summary) > MAX_TEXT:
        raise ValidationFailed("a report needs a summary (at most 20,000 characters)")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        grant = _grant_to_report(s, p, grant_id)
        repo = ProgressRepo(s)
        terms = repo.terms(grant.id)
        unknown = set(progress) - {m.key for m in terms.milestones}
        if unknown:
            raise ValidationFailed(f"no milestones {sorted(unknown)} on this grant")
        period = next_unreported(grant, terms, repo.reports(grant.id), now)
        report = ProgressReport(
            new_id("rpt"), grant.id, grant.org_id, period, now, p.user.id, summary,
            dict(progress), planned_gpu_hours(terms, period),
            _actual_hours(s, grant, period.start, min(period.end, now)),
        )  # fmt: skip
        return repo.add_report(report)


def reports(ctx: Context, p: Principal, grant_id: str) -> ReportsView:
    """Every started period of a grant with its report, or whether it is overdue."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        grant = GrantRepo(s).get(grant_id, grant_scope(p))
        repo = ProgressRepo(s)
        found = status(grant, repo.terms(grant.id), repo.reports(grant.id), now)
    return ReportsView(grant, tuple(found))


def watch(s: Session, grant: Grant, now: datetime) -> list[GrantAlert]:
    """Flag overdue reports of ``grant`` (an alert once per period) and suspend it when its
    terms say so and a report is overdue beyond the grace."""
    repo = ProgressRepo(s)
    terms = repo.terms(grant.id)
    alerts, out = GrantAlertRepo(s), []
    for st in status(grant, terms, repo.reports(grant.id), now):
        if not st.overdue:
            continue
        day = f"{st.period.due_at:%Y-%m-%d}"
        alert = GrantAlert(new_id("gal"), grant.id, grant.org_id, grant.project_id,
                           f"report_late_{day}", now,
                           f"the progress report due on {day} is late")  # fmt: skip
        if alerts.add(alert):
            out.append(alert)
        if st.suspend and grant.status is GrantStatus.ACTIVE:
            grant = set_status(s, grant, "suspend", None, now, f"progress report due {day} late")
    return out
