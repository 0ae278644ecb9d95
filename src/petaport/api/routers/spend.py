"""An organisation's spend: the data of the portal's spend dashboard, for scripts and the CLI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.api.routers.money import Month, OrgPath, alert_public, budget_fields
from petaport.billing.spend import MonthSpend
from petaport.domain.money import HKD
from petaport.schemas import Text
from petaport.schemas.spend import (
    BudgetBarPublic,
    MonthSpendPublic,
    SpendCellPublic,
    SpendDayPublic,
    SpendProjectPublic,
    SpendPublic,
)
from petaport.services import spend

router = APIRouter(tags=["money"])


def month_public(m: MonthSpend) -> MonthSpendPublic:
    days = [
        SpendDayPublic(
            day=day, total=total,
            by_class={c.key: series[i] for c, series in m.by_class.items() if series[i]},
            by_project={p: series[i] for p, series in m.by_project.items() if series[i]},
        )
        for i, (day, total) in enumerate(zip(m.days, m.daily_totals, strict=True))
    ]  # fmt: skip
    cells = [
        SpendCellPublic(project_id=c.project_id, spend_class=c.spend_class.key,
                        resource=c.spend_class.resource.value, gpu_model=c.spend_class.gpu_model,
                        unit_hours=c.unit_hours, amount=c.amount)
        for c in m.cells
    ]  # fmt: skip
    return MonthSpendPublic(month=m.month, total=m.total, days=days, cells=cells)


def bar_public(bar: spend.BudgetBar) -> BudgetBarPublic:
    return BudgetBarPublic(**budget_fields(bar.view), period_label=bar.period_label,
                           alert_level=bar.alert_level,
                           reserved_percent=bar.reserved_percent)  # fmt: skip


@router.get("/orgs/{org}/spend", responses=declare(401, 404, 422))
def org_spend(
    ctx: CtxDep, p: PrincipalDep, org: OrgPath, month: Month | None = None,
    project: Annotated[Text | None, Query(min_length=1, max_length=130,
                                          description="Narrow to one project.")] = None,
) -> SpendPublic:  # fmt: skip
    """Charged usage of a Hong Kong month (default: this one) and the month before, per day,
    resource class or GPU model and project; the project x resource table; the budgets with
    spent, reserved, limit and alert level; recent budget alerts. Members of one project see
    that project only; another tenant's org is 404."""
    r = spend.spend_report(ctx, p, org, month, project)
    return SpendPublic(
        org_id=r.org.id, org_slug=r.org.slug, project_id=r.project.id if r.project else None,
        currency=HKD, month=month_public(r.month), previous=month_public(r.previous),
        ledger_total=r.ledger_total,
        projects=[SpendProjectPublic(id=x.id, slug=x.slug, name=x.name)
                  for x in r.projects.values()],
        budgets=[bar_public(b) for b in r.budgets], alerts=[alert_public(a) for a in r.alerts],
    )  # fmt: skip
