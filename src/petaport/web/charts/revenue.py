"""The revenue page's chart: net income per month, stacked by org category."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from petaport.domain.tenancy import OrgCategory
from petaport.services.revenue import RevenueRow
from petaport.web.charts.figures import LEGEND_FONT, data_uri, hkd_axis
from petaport.web.i18n import Gettext
from petaport.web.labels import CATEGORIES

COLOURS = {
    OrgCategory.UNIVERSITY: "#1f5f99",
    OrgCategory.RESEARCH_INSTITUTE: "#3a9a6a",
    OrgCategory.STARTUP: "#e0a030",
    OrgCategory.ENTERPRISE: "#8a4fb0",
    OrgCategory.PUBLIC_BODY: "#c2514b",
}


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
    hkd_axis(ax)
    ax.legend(loc="upper left", frameon=False, prop=LEGEND_FONT)
    return data_uri(fig)
