"""The spend dashboard: an organisation's daily spend over two Hong Kong months (by resource
class or GPU model, and by project), a project x resource table, budget bars and alerts.

Everything shown comes from ``services.spend.spend_report`` (its scope rules: org members see
their org, project members their projects, centre admins pick any org; another tenant's org is
the not-found page). The charts are drawn here from its figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from petaport.billing.spend import SpendClass
from petaport.services import spend
from petaport.web import charts, labels
from petaport.web.charts.spend import two_months
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.visitor import Member, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
MonthQuery = Annotated[str, Query(max_length=7)]


def class_label(v: Visitor) -> Callable[[SpendClass], str]:
    def label(c: SpendClass) -> str:
        name = v.gettext(labels.RESOURCES[c.resource])
        return f"{name} {c.gpu_model}" if c.gpu_model else name

    return label


def budget_label(v: Visitor, report: spend.SpendReport) -> Callable[[spend.BudgetBar], str]:
    def label(bar: spend.BudgetBar) -> str:
        b = bar.view.budget
        project = report.projects.get(b.project_id or "")
        scope = project.name if project else v.gettext("Whole organisation")
        return f"{scope} ({v.gettext(labels.BUDGET_UNITS[b.unit])})"

    return label


def _charts(v: Visitor, report: spend.SpendReport) -> dict[str, str | None]:
    prev, cur = report.previous, report.month
    days, boundary = (*prev.days, *cur.days), len(prev.days)
    by_class = two_months(prev, cur, lambda m: m.by_class, class_label(v))
    by_project = two_months(prev, cur, lambda m: m.by_project,
                            lambda pid: report.projects[pid].name if pid in report.projects
                            else pid)  # fmt: skip
    return {
        "by_class": charts.daily_spend_svg(days, by_class, boundary),
        "by_project": charts.daily_spend_svg(days, by_project, boundary),
        "budgets": charts.budgets_svg(report.budgets, budget_label(v, report))
        if report.budgets else None,
    }  # fmt: skip


@router.get("/portal/spend")
def spend_page(request: Request, v: Member, org: Annotated[str, Query(max_length=64)] = "",
               month: MonthQuery = "") -> Response:  # fmt: skip
    ctx = get_ctx(request)
    org_ref = org or spend.default_org(ctx, v.principal).slug
    report = spend.spend_report(ctx, v.principal, org_ref, month or None)
    return portal_of(request).render(
        request, v, "spend/dashboard.html", r=report, charts=_charts(v, report),
        orgs=spend.visible_orgs(ctx, v.principal), hkd=hkd, class_label=class_label(v),
        budget_label=budget_label(v, report),
    )  # fmt: skip
