"""The subsidy scheme's annual report, as figures (pure; loading and rendering are services').

One report covers a Hong Kong calendar year (or any [start, end) interval) and answers what
the committee and the funder ask each year:

- **applications**: received (submitted in the period), approved and rejected (decided in the
  period), still open at its end, by org category and in total;
- **subsidy**: approved (the HKD caps of grants approved in the period) against used (the
  funder's share of charges made in the period, for every grant), and GPU-hours likewise;
- **utilisation by grantee**: each grant's use against what it was approved for (to date);
- **stage times**: how long applications spent in each workflow stage (mean, median, longest,
  in days), counted for stage visits that ended in the period.

Invariants: sums are exact (Money, Decimal); categories with nothing to count still appear (a
report's table has the same rows every year); percentages are None where the base is zero.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import HKD, Money, total
from petaport.domain.tenancy import OrgCategory

DAY_S = Decimal(86400)
PERCENT = Decimal("0.1")


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    OPEN = "open"  # not decided (yet); withdrawn drafts never count as received


@dataclass(frozen=True)
class StageVisit:
    """One stay of an application in a workflow stage, ``[entered_at, left_at)``."""

    stage: str
    entered_at: datetime
    left_at: datetime | None  # None: still there


@dataclass(frozen=True)
class ApplicationFact:
    id: str
    org_name: str
    category: OrgCategory
    title: str
    submitted_at: datetime | None  # first submission; None: never submitted (a draft)
    outcome: Outcome
    decided_at: datetime | None = None
    stages: tuple[StageVisit, ...] = ()


@dataclass(frozen=True)
class GrantFact:
    """A grant with its approved terms and what it used, to date and in the report period."""

    id: str
    org_name: str
    category: OrgCategory
    project_name: str
    approved_at: datetime
    rate: Decimal
    cap: Money | None
    cap_gpu_hours: Decimal | None
    used_to_date: Money  # the funder's share of every charge so far
    used_in_period: Money
    gpu_hours_to_date: Decimal  # GPU-hours of the project's funded charges so far
    gpu_hours_in_period: Decimal
    list_price_in_period: Money  # the charges' list price (funder + org share)


@dataclass(frozen=True)
class CategoryRow:
    category: OrgCategory
    received: int = 0
    approved: int = 0
    rejected: int = 0
    open_at_end: int = 0
    subsidy_approved: Money = field(default_factory=lambda: Money.zero(HKD))
    subsidy_used: Money = field(default_factory=lambda: Money.zero(HKD))


@dataclass(frozen=True)
class Utilisation:
    grant: GrantFact
    used_share: Decimal | None  # used_to_date / cap, percent to one decimal
    gpu_hours_share: Decimal | None  # gpu_hours_to_date / cap_gpu_hours, percent


@dataclass(frozen=True)
class StageTime:
    stage: str
    visits: int
    mean_days: Decimal
    median_days: Decimal
    max_days: Decimal


@dataclass(frozen=True)
class AnnualReport:
    start: datetime
    end: datetime
    categories: tuple[CategoryRow, ...]
    totals: CategoryRow  # ``category`` is meaningless here: the sums of every column
    utilisation: tuple[Utilisation, ...]
    stage_times: tuple[StageTime, ...]
    gpu_hours_approved: Decimal
    gpu_hours_used: Decimal
    list_price_of_funded_use: Money
    applications: tuple[ApplicationFact, ...]


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def percent(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if whole is None or whole == 0:
        return None
    return (Decimal(100) * part / whole).quantize(PERCENT, ROUND_HALF_EVEN)


def _seconds(span: timedelta) -> Decimal:
    return Decimal(span.days) * DAY_S + span.seconds + Decimal(span.microseconds) / 10**6


def _days(seconds: Decimal) -> Decimal:
    return (seconds / DAY_S).quantize(PERCENT, ROUND_HALF_EVEN)


def _category_row(
    category: OrgCategory,
    apps: Sequence[ApplicationFact],
    grants: Sequence[GrantFact],
    start: datetime,
    end: datetime,
) -> CategoryRow:
    mine = [a for a in apps if a.category is category]
    decided = [a for a in mine if _within(a.decided_at, start, end)]
    approved_grants = [g for g in grants if g.category is category]
    return CategoryRow(
        category,
        received=sum(1 for a in mine if _within(a.submitted_at, start, end)),
        approved=sum(1 for a in decided if a.outcome is Outcome.APPROVED),
        rejected=sum(1 for a in decided if a.outcome is Outcome.REJECTED),
        open_at_end=sum(1 for a in mine if _open_at(a, end)),
        subsidy_approved=total(
            (g.cap for g in approved_grants if g.cap and _within(g.approved_at, start, end)), HKD
        ),
        subsidy_used=total((g.used_in_period for g in approved_grants), HKD),
    )


def _open_at(app: ApplicationFact, end: datetime) -> bool:
    submitted = app.submitted_at is not None and app.submitted_at < end
    return submitted and (app.decided_at is None or app.decided_at >= end)


def _in_report(app: ApplicationFact, start: datetime, end: datetime) -> bool:
    """Received or decided in the period, or open at its end."""
    return (_within(app.submitted_at, start, end) or _within(app.decided_at, start, end)
            or _open_at(app, end))  # fmt: skip


def _sum_rows(rows: Iterable[CategoryRow]) -> CategoryRow:
    rows = list(rows)
    return CategoryRow(
        rows[0].category if rows else OrgCategory.UNIVERSITY,
        received=sum(r.received for r in rows),
        approved=sum(r.approved for r in rows),
        rejected=sum(r.rejected for r in rows),
        open_at_end=sum(r.open_at_end for r in rows),
        subsidy_approved=total((r.subsidy_approved for r in rows), HKD),
        subsidy_used=total((r.subsidy_used for r in rows), HKD),
    )


def stage_times(
    apps: Iterable[ApplicationFact], start: datetime, end: datetime
) -> tuple[StageTime, ...]:
    """Time spent per stage, over the visits that ended inside the period (in stage order of
    first appearance)."""
    spans: dict[str, list[Decimal]] = {}
    for app in apps:
        for visit in app.stages:
            if visit.left_at is not None and start <= visit.left_at < end:
                seconds = _seconds(visit.left_at - visit.entered_at)
                spans.setdefault(visit.stage, []).append(seconds)
    return tuple(
        StageTime(
            stage, len(s), _days(statistics.mean(s)), _days(statistics.median(s)), _days(max(s))
        )
        for stage, s in spans.items()
    )


def utilisation(grant: GrantFact) -> Utilisation:
    cap = grant.cap.amount if grant.cap is not None else None
    return Utilisation(
        grant,
        percent(grant.used_to_date.amount, cap),
        percent(grant.gpu_hours_to_date, grant.cap_gpu_hours),
    )


def build_annual_report(
    start: datetime,
    end: datetime,
    apps: Sequence[ApplicationFact],
    grants: Sequence[GrantFact],
    categories: Sequence[OrgCategory] = tuple(OrgCategory),
) -> AnnualReport:
    """The report for ``[start, end)`` from the facts loaded for it."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValidationFailed("a report period is a non-empty, timezone-aware interval")
    rows = tuple(_category_row(c, apps, grants, start, end) for c in categories)
    approved_in_period = [g for g in grants if _within(g.approved_at, start, end)]
    return AnnualReport(
        start, end, rows, _sum_rows(rows),
        tuple(utilisation(g) for g in sorted(grants, key=lambda g: (g.org_name, g.id))),
        stage_times(apps, start, end),
        gpu_hours_approved=sum((g.cap_gpu_hours or Decimal(0) for g in approved_in_period),
                               Decimal(0)),
        gpu_hours_used=sum((g.gpu_hours_in_period for g in grants), Decimal(0)),
        list_price_of_funded_use=total((g.list_price_in_period for g in grants), HKD),
        applications=tuple(sorted((a for a in apps if _in_report(a, start, end)),
                                  key=lambda a: (a.submitted_at or start, a.id))),
    )  # fmt: skip


def by_category(report: AnnualReport) -> Mapping[OrgCategory, CategoryRow]:
    return {row.category: row for row in report.categories}
