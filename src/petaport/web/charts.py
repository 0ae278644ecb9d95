"""Charts for portal pages: matplotlib figures as SVG ``data:`` URIs.

An SVG image (``<img src="data:image/svg+xml;base64,…">``) needs no extra request and is
allowed by the portal's Content-Security-Policy (``img-src 'self' data:``), which would block
the inline styles of an ``<svg>`` element pasted into the page. Figures are built with the
object API (no pyplot state), so rendering is safe in concurrent requests; the SVG has no
timestamp, so the same figures give the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
from matplotlib.figure import Figure

from petaport.domain.tenancy import OrgCategory
from petaport.services.grant_pages import DrawPoint
from petaport.services.revenue import RevenueRow
from petaport.web.i18n import Gettext
from petaport.web.labels import CATEGORIES

COLOURS = {
    OrgCategory.UNIVERSITY: "#1f5f99",
    OrgCategory.RESEARCH_INSTITUTE: "#3a9a6a",
    OrgCategory.STARTUP: "#e0a030",
    OrgCategory.ENTERPRISE: "#8a4fb0",
    OrgCategory.PUBLIC_BODY: "#c2514b",
}
LEGEND_FONT = {"family": ["Noto Sans CJK TC", "DejaVu Sans"], "size": "small"}


def revenue_svg(rows: Sequence[RevenueRow], gettext: Gettext) -> str:
    """Net income per month (oldest left), stacked by org category, as a data URI."""
    months = sorted({r.month for r in rows})
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    bottom = [0.0] * len(months)
    for category in OrgCategory:
        heights = [float(sum((r.net for r in rows if r.month == m and r.category is category),
                             start=0)) for m in months]  # fmt: skip
        if any(heights):
            ax.bar(months, heights, bottom=bottom, color=COLOURS[category],
                   label=gettext(CATEGORIES[category]))  # fmt: skip
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("HKD")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", frameon=False, prop=LEGEND_FONT)
    return _data_uri(fig)


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
    ax.set_ylabel("HKD")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    ax.legend(loc="upper left", frameon=False, prop=LEGEND_FONT)
    return _data_uri(fig)


def _data_uri(fig: Figure) -> str:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")
