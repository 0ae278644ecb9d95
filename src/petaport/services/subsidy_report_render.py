"""The subsidy scheme's annual report as documents: a bilingual PDF with charts, and CSV.

The PDF is WeasyPrint over ``services/templates/subsidy_report.html`` (Noto Sans CJK, as the
invoices), with matplotlib charts embedded as ``data:`` SVG images: applications by category,
subsidy approved against used, each grant's use of its cap, and time per workflow stage. Nothing is
fetched: any URL but a ``data:`` one is refused. The CSV holds every table of the report in one
file, one section per table (a ``section`` column first), amounts as plain decimals.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.figure import Figure

from petaport.billing.metering import HONG_KONG
from petaport.domain.subsidy_report import AnnualReport, CategoryRow
from petaport.domain.tenancy import OrgCategory

TEMPLATES = Path(__file__).parent / "templates"
CATEGORY_NAMES = {
    OrgCategory.UNIVERSITY: ("University", "大學"),
    OrgCategory.RESEARCH_INSTITUTE: ("Research institute", "研究機構"),
    OrgCategory.STARTUP: ("Start-up", "初創企業"),
    OrgCategory.ENTERPRISE: ("Enterprise", "企業"),
    OrgCategory.PUBLIC_BODY: ("Public body", "公營機構"),
}
FONT = {"family": ["Noto Sans CJK TC", "DejaVu Sans"], "size": 8}
BLUE, GREEN, GREY = "#1f5f99", "#3a9a6a", "#9a9a9a"


def _svg(fig: Figure) -> Markup:
    """The figure as an ``<img>`` of a ``data:`` SVG (separate documents: no clash of the ids
    matplotlib gives its elements, as there would be between inline SVGs)."""
    out = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: WeasyPrint sets it in Noto
        fig.savefig(out, format="svg", metadata={"Date": None})
    uri = "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    return Markup('<img alt="" src="{}">').format(uri)


def _figure(height: float = 2.6) -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.8, height))
    ax = fig.add_subplot()
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _category_labels(rows: Sequence[CategoryRow]) -> list[str]:
    return ["\n".join(CATEGORY_NAMES[r.category]) for r in rows]


def applications_chart(report: AnnualReport) -> Markup:
    rows = report.categories
    fig, ax = _figure()
    xs = range(len(rows))
    for offset, key, colour, label in ((-0.27, "received", GREY, "Received 收到"),
                                       (0.0, "approved", GREEN, "Approved 批准"),
                                       (0.27, "rejected", "#c2514b", "Rejected 拒絕")):  # fmt: skip
        ax.bar([x + offset for x in xs], [getattr(r, key) for r in rows], 0.27, color=colour,
               label=label)  # fmt: skip
    ax.set_xticks(list(xs), _category_labels(rows), fontdict=FONT)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, prop=FONT)
    fig.tight_layout()
    return _svg(fig)


def subsidy_chart(report: AnnualReport) -> Markup:
    rows = report.categories
    fig, ax = _figure()
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [float(r.subsidy_approved.amount) for r in rows], 0.4,
           color=BLUE, label="Approved (caps) 批准上限")  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [float(r.subsidy_used.amount) for r in rows], 0.4,
           color=GREEN, label="Used 已使用")  # fmt: skip
    ax.set_xticks(list(xs), _category_labels(rows), fontdict=FONT)
    ax.set_ylabel("HKD")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.legend(frameon=False, prop=FONT)
    fig.tight_layout()
    return _svg(fig)


def utilisation_chart(report: AnnualReport) -> Markup | None:
    shown = [u for u in report.utilisation if u.used_share is not None]
    if not shown:
        return None
    fig, ax = _figure(0.4 + 0.3 * len(shown))
    names = [f"{u.grant.org_name} · {u.grant.project_name}" for u in shown]
    ax.barh(names, [float(u.used_share or 0) for u in shown], color=BLUE)
    ax.axvline(100, color="#c2514b", linewidth=0.8)
    ax.set_xlabel("% of HKD cap used 已用資助上限百分比", fontdict=FONT)
    ax.tick_params(labelsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    return _svg(fig)


def stages_chart(report: AnnualReport) -> Markup | None:
    if not report.stage_times:
        return None
    fig, ax = _figure()
    stages = [s.stage for s in report.stage_times]
    ax.bar(stages, [float(s.mean_days) for s in report.stage_times], color=BLUE,
           label="mean 平均")  # fmt: skip
    ax.plot(stages, [float(s.max_days) for s in report.stage_times], "o", color="#c2514b",
            label="longest 最長")  # fmt: skip
    ax.set_ylabel("days 日", fontdict=FONT)
    ax.tick_params(labelsize=7)
    ax.legend(frameon=False, prop=FONT)
    fig.tight_layout()
    return _svg(fig)


def _hk_date(moment: datetime) -> str:
    return f"{moment.astimezone(HONG_KONG):%Y-%m-%d}"


def period_text(report: AnnualReport) -> str:
    last = report.end - timedelta(seconds=1)
    return f"{_hk_date(report.start)} – {_hk_date(last)}"


def report_html(report: AnnualReport, scheme_name: str, generated_at: datetime) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    values: dict[str, Any] = {
        "r": report, "scheme": scheme_name, "period": period_text(report),
        "generated": generated_at.astimezone(HONG_KONG).strftime("%Y-%m-%d %H:%M HKT"),
        "names": CATEGORY_NAMES, "hk_date": _hk_date,
        "charts": {"applications": applications_chart(report), "subsidy": subsidy_chart(report),
                   "utilisation": utilisation_chart(report), "stages": stages_chart(report)},
    }  # fmt: skip
    return env.get_template("subsidy_report.html").render(**values)


def report_pdf(report: AnnualReport, scheme_name: str, generated_at: datetime) -> bytes:
    from weasyprint import HTML, URLFetcher  # heavy (pango, fonts): loaded on first use

    html = report_html(report, scheme_name, generated_at)
    # Charts are data: URIs; any other URL is refused (the report fetches nothing).
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def report_csv(report: AnnualReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(("section", "key", "received", "approved", "rejected", "open_at_end",
                "subsidy_approved_hkd", "subsidy_used_hkd"))  # fmt: skip
    for row in (*report.categories, report.totals):
        key = row.category.value if row is not report.totals else "total"
        w.writerow(("applications_by_category", key, row.received, row.approved,
                    row.rejected, row.open_at_end, row.subsidy_approved.amount,
                    row.subsidy_used.amount))  # fmt: skip
    w.writerow(())
    w.writerow(("section", "grant", "org", "category", "project", "rate", "cap_hkd",
                "used_to_date_hkd", "used_share_pct", "cap_gpu_hours", "gpu_hours_to_date",
                "gpu_hours_share_pct", "used_in_period_hkd", "gpu_hours_in_period"))  # fmt: skip
    for u in report.utilisation:
        g = u.grant
        w.writerow(("utilisation", g.id, g.org_name, g.category.value, g.project_name, g.rate,
                    g.cap.amount if g.cap else "", g.used_to_date.amount,
                    "" if u.used_share is None else u.used_share, g.cap_gpu_hours or "",
                    g.gpu_hours_to_date, "" if u.gpu_hours_share is None else u.gpu_hours_share,
                    g.used_in_period.amount, g.gpu_hours_in_period))  # fmt: skip
    w.writerow(())
    w.writerow(("section", "stage", "visits", "mean_days", "median_days", "max_days"))
    for s in report.stage_times:
        w.writerow(("stage_times", s.stage, s.visits, s.mean_days, s.median_days, s.max_days))
    return out.getvalue()
