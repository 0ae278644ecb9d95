"""Reporting periods tile a grant; planned GPU-hours per period; late and overdue reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.progress import (
    Milestone,
    ProgressReport,
    ReportingTerms,
    next_unreported,
    periods,
    planned_gpu_hours,
    status,
)
from petaport.domain.subsidy import Grant

START = datetime(2026, 1, 31, tzinfo=UTC)
GRANT = Grant("grt_1", "sch_1", "hk-gov", "org_1", "prj_1", Decimal("0.7"), START,
              datetime(2026, 8, 15, tzinfo=UTC))  # fmt: skip


def test_quarterly_periods_tile_the_grant_and_never_skip_a_month() -> None:
    found = periods(GRANT, ReportingTerms("grt_1"))
    assert [p.end.date().isoformat() for p in found] == ["2026-04-28", "2026-07-28", "2026-08-15"]
    assert found[0].start == START and all(a.end == b.start for a, b in pairwise(found))


def test_planned_hours_are_those_of_milestones_due_in_the_period() -> None:
    terms = ReportingTerms("grt_1", (
        Milestone("a", "Data", START + timedelta(days=10), Decimal("40")),
        Milestone("b", "Model", START + timedelta(days=80), Decimal("60")),
        Milestone("c", "Paper", START + timedelta(days=100), Decimal("5")),
    ), every_months=3)  # fmt: skip
    first, second, _ = periods(GRANT, terms)
    assert planned_gpu_hours(terms, first) == 100 and planned_gpu_hours(terms, second) == 5


def test_a_missing_report_is_overdue_then_suspends_after_the_grace() -> None:
    terms = ReportingTerms("grt_1", every_months=1, grace_days=10, suspend_when_late=True)
    first = periods(GRANT, terms)[0]
    at_due = status(GRANT, terms, [], first.due_at)
    assert not at_due[0].overdue
    later = status(GRANT, terms, [], first.due_at + timedelta(days=11))
    assert later[0].overdue and later[0].suspend and not later[1].overdue
    mild = ReportingTerms("grt_1", every_months=1, grace_days=10)
    assert not status(GRANT, mild, [], first.due_at + timedelta(days=11))[0].suspend
    filed = ProgressReport("rpt_1", "grt_1", "org_1", first, first.due_at + timedelta(days=1),
                           "usr_1", "done")  # fmt: skip
    assert filed.late
    now = first.due_at + timedelta(days=2)
    assert next_unreported(GRANT, terms, [filed], now) == periods(GRANT, terms)[1]
    second = ProgressReport("rpt_2", "grt_1", "org_1", periods(GRANT, terms)[1], now, "usr_1", "x")
    assert not second.late
    with pytest.raises(Conflict):
        next_unreported(GRANT, terms, [filed, second], now)


def test_bad_terms_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        ReportingTerms("grt_1", every_months=0)
    with pytest.raises(ValidationFailed):
        Milestone("a", "A", datetime(2026, 1, 1), Decimal(1))
