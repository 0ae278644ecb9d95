"""The grant pages' pure helpers: the drawdown per day in Hong Kong time (cumulative, from the
grant's first day at nothing) and the bar colour at 80% and 100% of a cap."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from petaport.services.grant_pages import daily
from petaport.web.routes.grants import level

HK = ZoneInfo("Asia/Hong_Kong")
START = datetime(2026, 3, 1, 1, tzinfo=UTC)  # 09:00 on 1 March in Hong Kong


def test_daily_sums_each_hong_kong_day_cumulatively() -> None:
    history = [
        (datetime(2026, 3, 2, 15, tzinfo=UTC), Decimal("10.00"), Decimal(3600)),  # 23:00 HK 2nd
        (datetime(2026, 3, 2, 16, tzinfo=UTC), Decimal("5.50"), Decimal(1800)),  # 00:00 HK 3rd
        (datetime(2026, 3, 2, 20, tzinfo=UTC), Decimal("-1.25"), Decimal(0)),  # a credit, 3rd
        (datetime(2026, 3, 9, 2, tzinfo=UTC), Decimal("0.01"), Decimal(36)),
    ]
    points = daily(history, START, HK)
    assert [(f"{p.day:%m-%d}", p.funded, p.gpu_hours) for p in points] == [
        ("03-01", Decimal(0), Decimal(0)),
        ("03-02", Decimal("10.00"), Decimal("1.000")),
        ("03-03", Decimal("14.25"), Decimal("1.500")),
        ("03-09", Decimal("14.26"), Decimal("1.510")),
    ]
    assert all(p.day.tzinfo == HK and p.day.hour == 0 for p in points)


def test_nothing_paid_is_one_point_at_nothing() -> None:
    (only,) = daily([], START, HK)
    assert (only.day, only.funded) == (datetime(2026, 3, 1, tzinfo=HK), Decimal(0))


@pytest.mark.parametrize(
    ("percent", "expected"),
    [(None, "ok"), ("0", "ok"), ("79.9", "ok"), ("80.0", "warn"), ("99.9", "warn"),
     ("100.0", "full"), ("120.0", "full")],
)  # fmt: skip
def test_bar_colour_turns_amber_at_80_and_red_at_the_cap(percent: str | None,
                                                          expected: str) -> None:  # fmt: skip
    assert level(None if percent is None else Decimal(percent)) == expected
