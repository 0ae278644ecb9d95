"""The annual report: counts by category and period, subsidy approved against used, each grant's
use of its caps, stage times; rendered as a bilingual PDF with charts and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import Money
from petaport.domain.subsidy_report import (
    ApplicationFact,
    GrantFact,
    Outcome,
    StageVisit,
    build_annual_report,
    by_category,
)
from petaport.domain.tenancy import OrgCategory
from petaport.services.subsidy_report_render import report_csv, report_pdf

HKT = timedelta(hours=8)
START = datetime(2026, 1, 1, tzinfo=UTC) - HKT  # 2026 in Hong Kong time
END = datetime(2027, 1, 1, tzinfo=UTC) - HKT
D = timedelta(days=1)


def _app(i: str, category: OrgCategory, submitted: datetime | None, outcome: Outcome,
         decided: datetime | None = None,
         stages: tuple[StageVisit, ...] = ()) -> ApplicationFact:  # fmt: skip
    return ApplicationFact(f"app_{i}", f"Org {i}", category, f"Project {i}", submitted, outcome,
                           decided, stages)  # fmt: skip


def _grant(i: str, category: OrgCategory, approved: datetime, cap: str | None, used: str,
           used_in_period: str, hours: str = "0") -> GrantFact:  # fmt: skip
    return GrantFact(f"grt_{i}", f"Org {i}", category, f"Project {i}", approved, Decimal("0.7"),
                     Money(cap) if cap else None, Decimal("1000"), Money(used),
                     Money(used_in_period), Decimal(hours), Decimal(hours),
                     Money(used_in_period) * 1)  # fmt: skip


APPS = [
    # received in 2026 and approved in 2026
    _app(
        "a",
        OrgCategory.UNIVERSITY,
        START + 10 * D,
        Outcome.APPROVED,
        START + 40 * D,
        (
            StageVisit("screening", START + 10 * D, START + 12 * D),
            StageVisit("review", START + 12 * D, START + 30 * D),
            StageVisit("committee", START + 30 * D, START + 40 * D),
        ),
    ),
    # received in 2026, rejected in 2026
    _app(
        "b",
        OrgCategory.STARTUP,
        START + 20 * D,
        Outcome.REJECTED,
        START + 60 * D,
        (StageVisit("screening", START + 20 * D, START + 24 * D),),
    ),
    # received in 2025, approved in 2026: a decision of 2026, not a receipt
    _app("c", OrgCategory.STARTUP, START - 5 * D, Outcome.APPROVED, START + 3 * D),
    # received late in 2026, still open at the end
    _app("d", OrgCategory.ENTERPRISE, END - 2 * D, Outcome.OPEN),
    # a draft never submitted: not received
    _app("e", OrgCategory.ENTERPRISE, None, Outcome.OPEN),
    # received and decided in 2027: outside
    _app("f", OrgCategory.UNIVERSITY, END + D, Outcome.APPROVED, END + 9 * D),
]
GRANTS = [
    _grant("a", OrgCategory.UNIVERSITY, START + 40 * D, "100000.00", "25000.50", "25000.50", "500"),
    _grant("c", OrgCategory.STARTUP, START + 3 * D, "50000.00", "50000.00", "49000.00", "1000"),
    _grant("old", OrgCategory.STARTUP, START - 100 * D, None, "800.00", "300.00"),
]


def test_counts_by_category_follow_submission_and_decision_dates() -> None:
    report = build_annual_report(START, END, APPS, GRANTS)
    rows = by_category(report)
    uni, startup, ent = (rows[c] for c in (OrgCategory.UNIVERSITY, OrgCategory.STARTUP,
                                           OrgCategory.ENTERPRISE))  # fmt: skip
    assert (uni.received, uni.approved, uni.rejected, uni.open_at_end) == (1, 1, 0, 0)
    assert (startup.received, startup.approved, startup.rejected) == (1, 1, 1)
    assert (ent.received, ent.open_at_end) == (1, 1)
    assert (report.totals.received, report.totals.approved, report.totals.rejected) == (3, 2, 1)
    assert rows[OrgCategory.PUBLIC_BODY].received == 0  # every category is a row
    assert [a.id for a in report.applications] == ["app_c", "app_a", "app_b", "app_d"]


def test_subsidy_approved_counts_caps_approved_in_the_period_and_used_every_grant() -> None:
    report = build_annual_report(START, END, APPS, GRANTS)
    startup = by_category(report)[OrgCategory.STARTUP]
    assert startup.subsidy_approved == Money("50000.00")  # the 2025 grant has no cap counted
    assert startup.subsidy_used == Money("49300.00")
    assert report.totals.subsidy_approved == Money("150000.00")
    assert report.totals.subsidy_used == Money("74300.50")
    assert report.gpu_hours_approved == Decimal("2000")


def test_utilisation_is_use_to_date_against_caps() -> None:
    shares = {u.grant.id: (u.used_share, u.gpu_hours_share)
              for u in build_annual_report(START, END, APPS, GRANTS).utilisation}  # fmt: skip
    assert shares["grt_a"] == (Decimal("25.0"), Decimal("50.0"))
    assert shares["grt_c"] == (Decimal("100.0"), Decimal("100.0"))
    assert shares["grt_old"] == (None, Decimal("0.0"))


def test_stage_times_count_visits_that_ended_in_the_period() -> None:
    times = {s.stage: s for s in build_annual_report(START, END, APPS, GRANTS).stage_times}
    assert times["screening"].visits == 2
    assert times["screening"].mean_days == Decimal("3.0")
    assert times["screening"].max_days == Decimal("4.0")
    assert times["review"].median_days == Decimal("18.0")


def test_a_period_must_be_aware_and_non_empty() -> None:
    with pytest.raises(ValidationFailed):
        build_annual_report(END, START, APPS, GRANTS)


def test_the_pdf_is_bilingual_with_charts_and_the_csv_matches() -> None:
    report = build_annual_report(START, END, APPS, GRANTS)
    pdf = report_pdf(report, "AISS", END)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "annual report" in text and "年度報告" in text
    assert "2026-01-01 – 2026-12-31" in text
    assert "150,000.00" in text and "74,300.50" in text
    for legend in ("Approved (caps) 批准上限", "% of HKD cap used", "longest 最長"):
        assert legend in text  # the charts are drawn (their text is text)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    total = next(r for r in rows if r[:2] == ["applications_by_category", "total"])
    assert total[2:] == ["3", "2", "1", "1", "150000.00", "74300.50"]
    util = {r[1]: r for r in rows if r and r[0] == "utilisation"}
    assert util["grt_a"][8] == "25.0"
