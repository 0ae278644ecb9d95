"""Grants' reporting terms (milestones, report interval) and progress reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.domain.errors import Conflict
from petaport.domain.progress import Milestone, Period, ProgressReport, ReportingTerms
from petaport.storage.drawdown_tables import GrantTermsRow, ProgressReportRow


def _milestone(d: dict[str, str]) -> Milestone:
    return Milestone(d["key"], d["title"], datetime.fromisoformat(d["due"]),
                     Decimal(d.get("gpu_hours", "0")))  # fmt: skip


def _report(r: ProgressReportRow) -> ProgressReport:
    progress = {m["key"]: m["progress"] for m in r.milestones}
    return ProgressReport(r.id, r.grant_id, r.org_id, Period(r.period_start, r.period_end),
                          r.filed_at, r.filed_by, r.summary, progress, r.planned_gpu_hours,
                          r.actual_gpu_hours)  # fmt: skip


class ProgressRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def terms(self, grant_id: str) -> ReportingTerms:
        """The grant's stored terms, or the defaults (quarterly, 30 days' grace)."""
        r = self.s.get(GrantTermsRow, grant_id)
        if r is None:
            return ReportingTerms(grant_id)
        return ReportingTerms(grant_id, tuple(_milestone(m) for m in r.milestones),
                              r.report_every_months, r.grace_days,
                              r.suspend_when_late)  # fmt: skip

    def save_terms(self, t: ReportingTerms, now: datetime) -> None:
        row = self.s.get(GrantTermsRow, t.grant_id)
        if row is None:
            row = GrantTermsRow(grant_id=t.grant_id)
            self.s.add(row)
        row.milestones = [{"key": m.key, "title": m.title, "due": m.due.isoformat(),
                           "gpu_hours": str(m.gpu_hours)} for m in t.milestones]  # fmt: skip
        row.report_every_months, row.grace_days = t.every_months, t.grace_days
        row.suspend_when_late, row.updated_at = t.suspend_when_late, now
        self.s.flush()

    def add_report(self, r: ProgressReport) -> ProgressReport:
        try:
            with self.s.begin_nested():
                self.s.add(ProgressReportRow(
                    id=r.id, grant_id=r.grant_id, org_id=r.org_id,
                    period_start=r.period.start, period_end=r.period.end,
                    due_at=r.period.due_at, filed_at=r.filed_at, filed_by=r.filed_by,
                    summary=r.summary,
                    milestones=[{"key": k, "progress": v} for k, v in sorted(r.progress.items())],
                    planned_gpu_hours=r.planned_gpu_hours,
                    actual_gpu_hours=r.actual_gpu_hours, late=r.late,
                ))  # fmt: skip
        except IntegrityError as exc:
            raise Conflict("that period's report was just filed", code="report_filed") from exc
        return r

    def reports(self, grant_id: str) -> list[ProgressReport]:
        q = select(ProgressReportRow).where(ProgressReportRow.grant_id == grant_id)
        return [_report(r) for r in self.s.scalars(q.order_by(ProgressReportRow.period_start))]
