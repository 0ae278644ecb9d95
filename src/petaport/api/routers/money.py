"""Money: the price book and new price versions, budgets and alerts, plans and top-ups, usage,
cost estimates."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.api.routers.jobs import spec_from
from petaport.billing.budgets import BudgetPeriod, BudgetUnit
from petaport.billing.ledger import BillingMode
from petaport.billing.plans import Plan
from petaport.billing.prices import PreemptionCredit, PriceKey, PriceVersion, ResourceClass
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money
from petaport.schemas import Text
from petaport.schemas.money import (
    AccountPublic,
    BudgetAlertPublic,
    BudgetLeftPublic,
    BudgetPublic,
    BudgetSet,
    EstimateCreate,
    EstimateLinePublic,
    EstimatePublic,
    PlanSet,
    PricePublic,
    PriceVersionCreate,
    PriceVersionPublic,
    TopUpCreate,
    UsageLinePublic,
)
from petaport.services import accounts, pricing
from petaport.services.pricing import load_book
from petaport.storage.repos.budgets import BudgetAlert

router = APIRouter(tags=["money"])
OrgRef = Annotated[Text, Query(min_length=1, max_length=64, description="Org id or slug.")]
OrgPath = Annotated[Text, Path(min_length=1, max_length=64, description="Org id or slug.")]
BudgetId = Annotated[Text, Path(min_length=1, max_length=40)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (HK).")]


def budget_fields(v: accounts.BudgetView) -> dict[str, Any]:
    b = v.budget
    return dict(
        id=b.id, org_id=b.org_id, project_id=b.project_id, unit=b.unit.value,
        limit=b.limit, period=b.period.value, grace_s=b.grace_s, thresholds=list(b.thresholds),
        spent=v.spent, reserved=v.reserved, remaining=v.remaining,
        percent_spent=v.percent_spent, exhausted_since=v.exhausted_since,
    )  # fmt: skip


def _budget(v: accounts.BudgetView) -> BudgetPublic:
    return BudgetPublic(**budget_fields(v))


def alert_public(a: BudgetAlert) -> BudgetAlertPublic:
    return BudgetAlertPublic(id=a.id, budget_id=a.budget_id, org_id=a.org_id,
                             project_id=a.project_id, period=a.period, threshold=a.threshold,
                             at=a.at, message=a.message)  # fmt: skip


def version_public(v: PriceVersion) -> PriceVersionPublic:
    return PriceVersionPublic(
        id=v.id, effective_from=v.effective_from, currency=v.currency,
        minimum_billable_s=v.minimum_billable_s, preemption_credit=v.preemption_credit.value,
        prices=[PricePublic(resource=k.resource.value, gpu_model=k.gpu_model,
                            tier=k.tier.value, unit_price=price) for k, price in v.prices],
    )  # fmt: skip


@router.get("/prices", responses=declare(401))
def list_prices(ctx: CtxDep, p: PrincipalDep) -> list[PriceVersionPublic]:
    """The price book: every version with its unit prices (HKD per unit-hour; storage per
    TiB-month). A version is in force from its ``effective_from`` until the next one's."""
    return [version_public(v) for v in load_book(ctx).versions]


@router.post(
    "/prices/versions", status_code=status.HTTP_201_CREATED,
    responses=declare(401, 403, 409, 422),
)  # fmt: skip
def add_price_version(ctx: CtxDep, p: PrincipalDep, body: PriceVersionCreate) -> PriceVersionPublic:
    """Add a price version (centre admins). It takes effect on a whole hour, now or later and
    after every stored version, so no past charge changes (`422 price_version_in_past`,
    `price_version_not_latest`); it must price everything the latest version prices (`422
    price_version_incomplete`); an id or start already used is `409 price_version_exists`."""
    prices = tuple(
        (PriceKey(ResourceClass(x.resource), x.gpu_model, QosTier(x.tier)), x.unit_price)
        for x in body.prices
    )
    start = body.effective_from.astimezone(UTC)
    new = pricing.NewVersion(body.id, start, prices, body.minimum_billable_s,
                             PreemptionCredit(body.preemption_credit))  # fmt: skip
    return version_public(pricing.add_version(ctx, p, new))


@router.get("/budgets", responses=declare(401, 404, 422))
def list_budgets(ctx: CtxDep, p: PrincipalDep, org: OrgRef | None = None) -> list[BudgetPublic]:
    """Budgets the caller may see, with spend this period, reservations and what is left."""
    return [_budget(v) for v in accounts.list_budgets(ctx, p, org)]


@router.put("/budgets", responses=declare(401, 403, 404, 409, 422))
def set_budget(ctx: CtxDep, p: PrincipalDep, body: BudgetSet) -> BudgetPublic:
    """Create or change the budget of an org (centre admins) or a project (also its org's
    admins); one per org/project and unit."""
    fields = accounts.BudgetFields(
        body.org, body.project, BudgetUnit(body.unit), body.limit, BudgetPeriod(body.period),
        body.grace_s, tuple(sorted(set(body.thresholds))),
    )  # fmt: skip
    return _budget(accounts.set_budget(ctx, p, fields))


@router.get("/budgets/alerts", responses=declare(401, 422))
def budget_alerts(
    ctx: CtxDep, p: PrincipalDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[BudgetAlertPublic]:
    """Thresholds (50/80/100%) budgets reached, newest first."""
    return [alert_public(a) for a in accounts.list_alerts(ctx, p, limit)]


@router.get("/budgets/{budget_id}", responses=declare(401, 404, 422))
def get_budget(ctx: CtxDep, p: PrincipalDep, budget_id: BudgetId) -> BudgetPublic:
    return _budget(accounts.get_budget(ctx, p, budget_id))


@router.delete(
    "/budgets/{budget_id}", status_code=status.HTTP_204_NO_CONTENT,
    responses=declare(401, 403, 404, 422),
)  # fmt: skip
def delete_budget(ctx: CtxDep, p: PrincipalDep, budget_id: BudgetId) -> Response:
    accounts.delete_budget(ctx, p, budget_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _account(v: accounts.AccountView) -> AccountPublic:
    b = v.billing
    return AccountPublic(
        org_id=v.org_id, plan=b.plan.value, mode=b.mode.value,
        plan_started_at=b.plan_started_at, plan_ends_at=b.plan_ends_at,
        plan_fee=b.plan_fee.amount if b.plan_fee else None, plan_gpu_hours=b.plan_gpu_hours,
        currency=v.balance.currency, balance=v.balance.amount, month_spend=v.month_spend.amount,
    )  # fmt: skip


@router.get("/orgs/{org}/account", responses=declare(401, 404, 422))
def get_account(ctx: CtxDep, p: PrincipalDep, org: OrgPath) -> AccountPublic:
    """An org's plan, how it pays, its balance and this month's spend."""
    return _account(accounts.account(ctx, p, org))


@router.put("/orgs/{org}/plan", responses=declare(401, 403, 404, 422))
def set_plan(ctx: CtxDep, p: PrincipalDep, org: OrgPath, body: PlanSet) -> AccountPublic:
    """Put an org on pay-as-you-go, a trial (free credit for N days) or a proof-of-concept
    plan (monthly fee, GPU-hour allowance). Its users, jobs and history stay (centre admins)."""
    fields = accounts.PlanFields(
        Plan(body.plan), BillingMode(body.mode), body.trial_days,
        Money(body.trial_credit) if body.trial_credit is not None else None,
        Money(body.poc_fee) if body.poc_fee is not None else None, body.poc_gpu_hours,
    )  # fmt: skip
    return _account(accounts.set_plan(ctx, p, org, fields))


@router.post(
    "/orgs/{org}/top-ups", status_code=status.HTTP_201_CREATED,
    responses=declare(401, 403, 404, 409, 422),
)  # fmt: skip
def top_up(ctx: CtxDep, p: PrincipalDep, org: OrgPath, body: TopUpCreate) -> AccountPublic:
    """Record money received into a prepaid org's balance (centre admins)."""
    return _account(accounts.top_up(ctx, p, org, Money(body.amount), body.reference))


@router.get("/usage", responses=declare(401, 404, 422))
def usage(
    ctx: CtxDep,
    p: PrincipalDep,
    org: OrgRef | None = None,
    project: Annotated[Text | None, Query(min_length=1, max_length=130)] = None,
    month: Month | None = None,
) -> list[UsageLinePublic]:
    """Charged usage per Hong Kong month, project, resource, GPU model and tier."""
    return [
        UsageLinePublic(month=u.month, org_id=u.org_id, project_id=u.project_id,
                        resource=u.resource, gpu_model=u.gpu_model, tier=u.tier,
                        unit_hours=u.unit_hours, amount=u.amount.amount)
        for u in accounts.usage(ctx, p, org=org, project=project, month=month)
    ]  # fmt: skip


@router.post("/jobs/estimate", responses=declare(401, 404, 422))
def estimate(ctx: CtxDep, p: PrincipalDep, body: EstimateCreate) -> EstimatePublic:
    """What a job would cost if it ran its whole walltime from now (nothing is stored), and
    what is left of each budget covering its project."""
    spec = spec_from(body)
    result = accounts.estimate_job(ctx, p, spec)
    est = result.estimate
    return EstimatePublic(
        walltime_s=est.walltime_s, walltime_assumed=spec.walltime_s is None,
        currency=est.total.currency, total=est.total.amount,
        gpu_hours=(est.gpu_s / 3600).quantize(accounts.MILLI),
        lines=[EstimateLinePublic(resource=ln.resource.value, gpu_model=ln.gpu_model,
                                  quantity=ln.quantity, amount=ln.amount.amount)
               for ln in est.lines],
        budgets=[BudgetLeftPublic(budget_id=b.id, unit=b.unit.value, left=left)
                 for b, left in result.budgets_left],
    )  # fmt: skip
