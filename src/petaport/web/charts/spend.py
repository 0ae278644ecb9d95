"""The spend dashboard's charts: daily spend over two Hong Kong months, stacked by resource
class or GPU model (or by project); budgets as horizontal bars against their limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from matplotlib.figure import Figure

from petaport.billing.spend import MonthSpend
from petaport.services.spend import BudgetBar
from petaport.web.charts.figures import LEGEND_FONT, colour, data_uri, hkd_axis

Stack = tuple[str, Sequence[Decimal]]  # a legend label and one amount per day
LEVEL_COLOURS = {None: "#3a9a6a", 50: "#e0a030", 80: "#d9772b", 100: "#c2514b"}
TICK_DAYS = (1, 8, 15, 22)
K = TypeVar("K")


def two_months(
    previous: MonthSpend, current: MonthSpend,
    series: Callable[[MonthSpend], Mapping[K, tuple[Decimal, ...]]], label: Callable[[K], str],
) -> list[Stack]:  # fmt: skip
    """One stack per key over the days of both months (zeros where a month lacks the key)."""
    before, now = series(previous), series(current)
    keys = list(before) + [k for k in now if k not in before]
    zeros_before, zeros_now = (Decimal(0),) * len(previous.days), (Decimal(0),) * len(current.days)
    return [(label(k), (*before.get(k, zeros_before), *now.get(k, zeros_now))) for k in keys]


def _ticks(days: Sequence[date]) -> tuple[list[int], list[str]]:
    at = [i for i, d in enumerate(days) if d.day in TICK_DAYS]
    return at, [days[i].strftime("%m-%d") for i in at]


def daily_spend_svg(days: Sequence[date], stacks: Sequence[Stack], boundary: int) -> str:
    """Daily spend (HKD) as stacked bars, a dashed line where the second month starts."""
    fig = Figure(figsize=(9, 3.4))
    ax = fig.add_subplot()
    x = list(range(len(days)))
    bottom = [0.0] * len(days)
    for i, (label, amounts) in enumerate(stacks):
        heights = [float(a) for a in amounts]
        ax.bar(x, heights, bottom=bottom, width=0.85, color=colour(i), label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.axvline(boundary - 0.5, color="#555555", linestyle="--", linewidth=0.8)
    ax.set_xticks(*_ticks(days))
    ax.set_xlim(-0.6, len(days) - 0.4)
    hkd_axis(ax)
    if stacks:
        ax.legend(loc="upper left", frameon=False, prop=LEGEND_FONT)
    return data_uri(fig)


def budgets_svg(bars: Sequence[BudgetBar], label: Callable[[BudgetBar], str]) -> str:
    """Each budget's spent and reserved share of its limit, with the 50/80/100% marks."""
    fig = Figure(figsize=(9, 0.6 + 0.55 * len(bars)))
    ax = fig.add_subplot()
    y = list(range(len(bars)))[::-1]
    spent = [float(min(b.view.percent_spent, Decimal(150))) for b in bars]
    reserved = [float(min(b.reserved_percent, Decimal(150))) for b in bars]
    ax.barh(y, spent, color=[LEVEL_COLOURS[b.alert_level] for b in bars], height=0.55)
    ax.barh(y, reserved, left=spent, color="#9bbfe0", height=0.55, hatch="//")
    for mark in (50, 80, 100):
        ax.axvline(mark, color="#555555", linestyle=":" if mark < 100 else "-", linewidth=0.8)
    ax.set_yticks(y, [label(b) for b in bars], family=LEGEND_FONT["family"])
    ax.set_xlim(0, max([110.0, *(s + r for s, r in zip(spent, reserved, strict=True))]))
    ax.xaxis.set_major_formatter("{x:.0f}%")
    return data_uri(fig)
