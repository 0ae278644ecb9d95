"""Grant reporting: milestones, reporting periods, progress reports and when one is late.

A grant's ``ReportingTerms`` (optional; defaults apply) hold its milestones (title, due date,
planned GPU-hours) and say a report is due every ``every_months`` months from the grant's
start, at the end of each period; one filed after its due time is *late*; when
``suspend_when_late``, a report still missing ``grace_days`` after it was due suspends the grant.

Invariants: periods tile the grant's validity (the last one ends at ``valid_until``); every
time is timezone-aware; milestone keys are unique.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.subsidy import Grant

MAX_PERIODS = 240


@dataclass(frozen=True)
class Milestone:
    key: str
    title: str
    due: datetime
    gpu_hours: Decimal = Decimal(0)  # planned GPU-hours up to this milestone

    def __post_init__(self) -> None:
        if not self.key or not self.title.strip():
            raise ValidationFailed("a milestone needs a key and a title")
        if self.due.tzinfo is None:
            raise ValidationFailed("a milestone's due date needs a timezone")
        if self.gpu_hours < 0:
            raise ValidationFailed("planned GPU-hours cannot be negative")


@dataclass(frozen=True)
class ReportingTerms:
    grant_id: str
    milestones: tuple[Milestone, ...] = ()
    every_months: int = 3  # quarterly
    grace_days: int = 30
    suspend_when_late: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.every_months <= 24:
            raise ValidationFailed("reports are due every 1 to 24 months")
        if not 0 <= self.grace_days <= 365:
            raise ValidationFailed("the grace for a late report is 0 to 365 days")
        keys = [m.key for m in self.milestones]
        if len(set(keys)) != len(keys):
            raise ValidationFailed("milestone keys must be unique")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def due_at(self) -> datetime:
        return self.end


def _add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, 28)  # every month has a 28th: periods never skip a month
    return at.replace(year=year, month=month, day=day)


def periods(grant: Grant, terms: ReportingTerms) -> list[Period]:
    """The grant's reporting periods, from its start to its end."""
    out: list[Period] = []
    start = grant.valid_from
    while start < grant.valid_until and len(out) < MAX_PERIODS:
        end = min(_add_months(grant.valid_from, terms.every_months * (len(out) + 1)),
                  grant.valid_until)  # fmt: skip
        out.append(Period(start, end))
        start = end
    return out


def planned_gpu_hours(terms: ReportingTerms, period: Period) -> Decimal:
    """GPU-hours planned for milestones due inside ``period``."""
    return sum(
        (m.gpu_hours for m in terms.milestones if period.start <= m.due < period.end), Decimal(0)
    )


@dataclass(frozen=True)
class ProgressReport:
    id: str
    grant_id: str
    org_id: str
    period: Period
    filed_at: datetime
    filed_by: str
    summary: str
    progress: dict[str, str] = field(default_factory=dict)  # milestone key -> text
    planned_gpu_hours: Decimal = Decimal(0)
    actual_gpu_hours: Decimal = Decimal(0)

    @property
    def late(self) -> bool:
        return self.filed_at > self.period.due_at


@dataclass(frozen=True)
class PeriodStatus:
    period: Period
    report: ProgressReport | None
    overdue: bool  # due and not filed
    suspend: bool  # overdue beyond the grace, and the terms say to suspend


def status(
    grant: Grant, terms: ReportingTerms, reports: list[ProgressReport], now: datetime
) -> list[PeriodStatus]:
    """Each period that has started, with its report or whether it is overdue."""
    filed = {r.period.start: r for r in reports}
    grace = timedelta(days=terms.grace_days)
    out = []
    for p in periods(grant, terms):
        if p.start > now:
            break
        report = filed.get(p.start)
        overdue = report is None and now > p.due_at
        suspend = overdue and terms.suspend_when_late and now > p.due_at + grace
        out.append(PeriodStatus(p, report, overdue, suspend))
    return out


def next_unreported(
    grant: Grant, terms: ReportingTerms, reports: list[ProgressReport], now: datetime
) -> Period:
    """The period a report filed at ``now`` is for: the earliest ended period without a
    report, else the current one. Raises when every started period has its report."""
    started = status(grant, terms, reports, now)
    for st in started:
        if st.report is None:
            return st.period
    raise Conflict("every reporting period so far has its report", code="report_filed")
