"""billing.spend: a month's charges summed per Hong Kong day, class and project, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.billing.metering import AttemptUsage, meter
from petaport.billing.prices import ResourceClass
from petaport.billing.rating import Charge, rate
from petaport.billing.spend import SpendClass, month_days, month_spend, previous_month
from petaport.domain.jobs import JobState, QosTier
from tests.unit.billing.builders import book, usage

FEB_END = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)  # 23:30 in Hong Kong


def charges(*attempts: AttemptUsage) -> list[Charge]:
    return rate([r for a in attempts for r in meter(a, book(), datetime(2027, 1, 1, tzinfo=UTC))],
                book())  # fmt: skip


def test_months_and_days_are_hong_kong_ones() -> None:
    assert len(month_days("2026-02")) == 28 and month_days("2024-02")[-1] == date(2024, 2, 29)
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"


def test_a_run_over_midnight_is_split_between_days_and_months() -> None:
    cs = charges(usage(FEB_END, 3600, cpus=2))  # 23:30-00:30 HK: half in each month
    feb, mar = month_spend("2026-02", cs), month_spend("2026-03", cs)
    h800 = SpendClass(ResourceClass.GPU_HOUR, "H800")
    assert feb.by_class[h800][-1] == Decimal("102.00")  # 8 GPUs x 0.5 h x 25.50
    assert mar.by_class[h800][0] == Decimal("102.00") and sum(mar.by_class[h800]) == 102
    assert feb.total + mar.total == sum(c.amount.amount for c in cs)
    assert [c.spend_class.key for c in mar.cells] == ["gpu_hour:H800", "cpu_core_hour"]
    assert mar.cells[0].unit_hours == Decimal("4.000")


def test_credits_count_on_their_day() -> None:
    run = usage(datetime(2026, 3, 3, 2, tzinfo=UTC), 5400, tier=QosTier.PREEMPTIBLE,
                state=JobState.PREEMPTED)  # fmt: skip
    m = month_spend("2026-03", charges(run))
    assert m.total == Decimal("102.00")  # 8 x 1 h x 12.75; the last half hour is credited
    assert m.daily_totals[2] == m.total and m.project_total("prj_a") == m.total


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60 * 24 * 3), st.integers(1, 50_000),
                          st.sampled_from(["prj_a", "prj_b"]), st.sampled_from(["H800", None])),
                min_size=1, max_size=8))  # fmt: skip
def test_every_breakdown_sums_to_the_charges_of_the_month(
    runs: list[tuple[int, int, str, str | None]],
) -> None:
    start = datetime(2026, 2, 27, tzinfo=UTC)
    cs = charges(*(usage(start + timedelta(minutes=m),
                         s, attempt=f"att_{i}", project=p, model=g, cpus=1)
                   for i, (m, s, p, g) in enumerate(runs)))  # fmt: skip
    for month in ("2026-02", "2026-03"):
        ms = month_spend(month, cs)
        expected = sum((c.amount.amount for c in cs if c.record.month == month), Decimal(0))
        assert ms.total == expected == sum(ms.daily_totals)
        assert sum(sum(s) for s in ms.by_project.values()) == expected
        assert sum(ms.class_total(c) for c in ms.classes) == expected
