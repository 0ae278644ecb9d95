"""The grant page's chart: the funder's cumulative share per day against the HKD cap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
from matplotlib.figure import Figure

from petaport.services.grant_pages import DrawPoint
from petaport.web.charts.figures import LEGEND_FONT, data_uri, hkd_axis
from petaport.web.i18n import Gettext


def drawdown_svg(points: Sequence[DrawPoint], last_day: datetime, cap: Decimal | None,
                 gettext: Gettext) -> str:  # fmt: skip
    """The funder's cumulative share per day (a step line, from the grant's first day) against
    the grant's HKD cap, over the grant's validity. Days are in the centre's zone."""
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    days = np.array([p.day.date() for p in points], dtype="datetime64[D]")
    ax.step(days, [float(p.funded) for p in points], where="post", color="#1f5f99",
            marker="o", markersize=3, label=gettext("Funder's share so far"))  # fmt: skip
    if cap is not None:
        ax.axhline(float(cap), color="#c2514b", linestyle="--", label=gettext("HKD cap"))
        ax.axhline(float(cap) * 0.8, color="#e0a030", linestyle=":", label="80%")
    top = max(float(cap or 0), float(points[-1].funded), 1.0)
    ax.set_ylim(0, top * 1.3)  # room for the legend above the cap line
    span = np.array([points[0].day.date(), last_day.date()], dtype="datetime64[D]")
    ax.set_xlim(span[0], span[1])
    hkd_axis(ax)
    fig.autofmt_xdate()
    ax.legend(loc="upper left", frameon=False, prop=LEGEND_FONT)
    return data_uri(fig)
