"""How orgs pay and what they may spend: budgets, plans, top-ups, usage, cost estimates.

Permissions: an org-wide budget (a credit limit or balance) is the centre's to set; a
project budget may also be set by the org's admins. Plans and top-ups are the centre's.
Members read their org's (or project's) budgets, usage and estimates; another tenant's are
"not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.billing.budgets import (
    ALERT_THRESHOLDS,
    Budget,
    BudgetPeriod,
    BudgetState,
    BudgetUnit,
    budget_left,
)
from petaport.billing.estimate import Estimate, estimate
from petaport.billing.ledger import (
    BillingMode,
    org_account,
    top_up_entry,
    trial_credit_entry,
)
from petaport.billing.metering import month_of
from petaport.billing.plans import OrgBilling, Plan, default_billing
from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.jobs import JobSpec
from petaport.domain.money import Money
from petaport.domain.tenancy import Org, Principal, Project, Scope, scope_of
from petaport.services import budgets
from petaport.services.authz import require_centre_admin, require_org_admin
from petaport.services.context import Context
from petaport.services.invoices import check_month
from petaport.services.metering import gpu_models
from petaport.services.pricing import load_book
from petaport.storage.repos.billing import OrgBillingRepo, UsageRepo
from petaport.storage.repos.budgets import BudgetAlert, BudgetRepo, StoredBudget
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
MILLI = Decimal("0.001")


@dataclass(frozen=True)
class BudgetFields:
    org: str  # id or slug
    project: str | None  # id or org-slug/project-slug
    unit: BudgetUnit
    limit: Decimal
    period: BudgetPeriod = BudgetPeriod.NONE
    grace_s: int = 900
    thresholds: tuple[int, ...] = ALERT_THRESHOLDS


@dataclass(frozen=True)
class BudgetView:
    budget: Budget
    spent: Decimal  # in the budget's unit (HKD or GPU-hours), this period
    reserved: Decimal  # projected cost of the running jobs it covers
    remaining: Decimal
    percent_spent: Decimal
    exhausted_since: datetime | None


def _org(tenancy: TenancyRepo, p: Principal, ref: str) -> Org:
    org = tenancy.find_org_by_slug(ref)
    if org is None or not scope_of(p).allows(org.id):
        org = tenancy.get_org(scope_of(p), ref)
    return org


def _project(tenancy: TenancyRepo, p: Principal, org: Org, ref: str) -> Project:
    ref = ref if ref.startswith("prj_") or "/" in ref else f"{org.slug}/{ref}"
    project = tenancy.resolve_project(scope_of(p), ref)
    if project.org_id != org.id:
        raise NotFound(f"project {ref} not found")
    return project


def set_budget(ctx: Context, p: Principal, f: BudgetFields) -> BudgetView:
    """Create or change the budget of an org or project (one per scope and unit)."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        org = _org(tenancy, p, f.org)
        project = None if f.project is None else _project(tenancy, p, org, f.project)
        if project is None:
            require_centre_admin(p)
        else:
            require_org_admin(p, org.id)
        repo = BudgetRepo(s)
        existing = repo.find(org.id, project.id if project else None, f.unit)
        budget = Budget(existing.budget.id if existing else new_id("bud"), org.id,
                        project.id if project else None, f.unit, f.limit, f.period, f.grace_s,
                        f.thresholds)  # fmt: skip
        try:
            with s.begin_nested():
                repo.save(budget, now)
        except IntegrityError as exc:
            raise Conflict("that budget was just created by someone else; try again") from exc
    return get_budget(ctx, p, budget.id)


def delete_budget(ctx: Context, p: Principal, budget_id: str) -> None:
    with ctx.db.transaction() as s:
        repo = BudgetRepo(s)
        b = repo.get(budget_id, scope_of(p)).budget
        if b.project_id is None:
            require_centre_admin(p)
        else:
            require_org_admin(p, b.org_id)
        repo.delete(budget_id)


def _views(ctx: Context, stored: list[StoredBudget]) -> list[BudgetView]:
    if not stored:
        return []
    now = ctx.clock()
    book = load_book(ctx)
    with ctx.db.transaction() as s:
        orgs = frozenset(sb.budget.org_id for sb in stored)
        default_s = ctx.settings.budget_default_reservation_s
        work = JobRepo(s).running_work()
        models = gpu_models(ctx, [])
        running = budgets.running_charges(s, work, orgs, book, now, default_s, models)
        states = {st.budget.id: st for st in budgets.compute_states(s, now, running)}
    return [_view(states.get(sb.budget.id) or BudgetState(sb.budget), sb) for sb in stored]


def _view(st: BudgetState, sb: StoredBudget) -> BudgetView:
    b = st.budget
    per = Decimal(3600) if b.unit is BudgetUnit.GPU_HOURS else Decimal(1)
    percent = (st.spent * 100 / b.limit_base) if b.limit_base else Decimal(100)
    q = Decimal("0.01") if b.unit is BudgetUnit.HKD else Decimal("0.001")
    return BudgetView(b, (st.spent / per).quantize(q), (st.reserved / per).quantize(q),
                      (st.remaining / per).quantize(q), percent.quantize(Decimal("0.1")),
                      sb.exhausted_since)  # fmt: skip


def list_budgets(ctx: Context, p: Principal, org: str | None = None) -> list[BudgetView]:
    with ctx.db.transaction() as s:
        stored = BudgetRepo(s).list_budgets(scope_of(p))
        if org is not None:
            org_id = _org(TenancyRepo(s), p, org).id
            stored = [sb for sb in stored if sb.budget.org_id == org_id]
    return _views(ctx, stored)


def get_budget(ctx: Context, p: Principal, budget_id: str) -> BudgetView:
    with ctx.db.transaction() as s:
        stored = BudgetRepo(s).get(budget_id, scope_of(p))
    return _views(ctx, [stored])[0]


def list_alerts(ctx: Context, p: Principal, limit: int = 100) -> list[BudgetAlert]:
    with ctx.db.transaction() as s:
        return BudgetRepo(s).alerts(scope_of(p), limit)


# -- plans and balances ---------------------------------------------------------------


@dataclass(frozen=True)
class PlanFields:
    plan: Plan
    mode: BillingMode = BillingMode.POSTPAID
    trial_days: int | None = None
    trial_credit: Money | None = None
    poc_fee: Money | None = None
    poc_gpu_hours: Decimal | None = None


@dataclass(frozen=True)
class AccountView:
    org_id: str
    billing: OrgBilling
    balance: Money  # prepaid: money left; post-paid: what the org owes (negative)
    month_spend: Money  # the org's share of what was charged this Hong Kong month


def set_plan(ctx: Context, p: Principal, org_ref: str, f: PlanFields) -> AccountView:
    """Put an org on a plan. Its users, jobs, usage and ledger history stay as they are."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        org = _org(TenancyRepo(s), p, org_ref)  # another tenant's org: not found
        require_centre_admin(p)
        billing = _billing_for(org.id, f, now)
        OrgBillingRepo(s).save(billing, now)
        if f.plan is Plan.TRIAL and f.trial_credit is not None:
            entry = trial_credit_entry(org.id, f.trial_credit, now, f"{org.id}/{now:%Y%m%dT%H%M%S}")
            LedgerRepo(s).post([entry], now)
            _raise_balance(s, org.id, f.trial_credit.amount, now)
        if f.plan is Plan.POC and f.poc_gpu_hours is not None:
            _set_allowance(s, org.id, f.poc_gpu_hours, now)
    return account(ctx, p, org.id)


def _billing_for(org_id: str, f: PlanFields, now: datetime) -> OrgBilling:
    if f.plan is Plan.TRIAL:
        if f.trial_days is None or f.trial_days < 1 or f.trial_credit is None:
            raise ValidationFailed("a trial needs trial_days (1 or more) and trial_credit")
        ends = now + timedelta(days=f.trial_days)
        return OrgBilling(org_id, BillingMode.PREPAID, Plan.TRIAL, now, ends)
    if f.plan is Plan.POC:
        return OrgBilling(org_id, f.mode, Plan.POC, now, None, f.poc_fee, f.poc_gpu_hours)
    return OrgBilling(org_id, f.mode, Plan.PAYG, now)


def _raise_balance(s: Session, org_id: str, amount: Decimal, now: datetime) -> None:
    """A prepaid org's balance is its lifetime HKD budget: money in raises its limit."""
    repo = BudgetRepo(s)
    found = repo.find(org_id, None, BudgetUnit.HKD)
    if found is None:
        budget = Budget(new_id("bud"), org_id, None, BudgetUnit.HKD, amount, BudgetPeriod.NONE)
    else:
        old = found.budget
        budget = Budget(old.id, org_id, None, BudgetUnit.HKD, old.limit + amount, old.period,
                        old.grace_s, old.thresholds)  # fmt: skip
    repo.save(budget, now)


def _set_allowance(s: Session, org_id: str, gpu_hours: Decimal, now: datetime) -> None:
    """A proof-of-concept plan's allowance: a monthly GPU-hour budget of the org."""
    repo = BudgetRepo(s)
    found = repo.find(org_id, None, BudgetUnit.GPU_HOURS)
    budget_id = found.budget.id if found else new_id("bud")
    repo.save(Budget(budget_id, org_id, None, BudgetUnit.GPU_HOURS, gpu_hours,
                     BudgetPeriod.MONTHLY), now)  # fmt: skip


def top_up(ctx: Context, p: Principal, org_ref: str, amount: Money, reference: str) -> AccountView:
    """Money received into a prepaid org's balance (``reference``: the payment's, unique)."""
    if amount.amount <= 0:
        raise ValidationFailed("a top-up is more than zero")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        org = _org(TenancyRepo(s), p, org_ref)  # another tenant's org: not found
        require_centre_admin(p)
        billing = OrgBillingRepo(s).find(org.id) or default_billing(org.id, now)
        if billing.mode is not BillingMode.PREPAID:
            raise ValidationFailed(f"{org.slug} is post-paid: record a payment, not a top-up")
        ledger = LedgerRepo(s)
        entry = top_up_entry(org.id, amount, now, f"{org.id}/{reference}")
        if ledger.get(entry.id) is not None:
            raise Conflict(f"top-up {reference} was recorded already", code="top_up_exists")
        ledger.post([entry], now)
        _raise_balance(s, org.id, amount.amount, now)
    return account(ctx, p, org.id)


def account(ctx: Context, p: Principal, org_ref: str) -> AccountView:
    now = ctx.clock()
    with ctx.db.transaction() as s:
        org = _org(TenancyRepo(s), p, org_ref)
        billing = OrgBillingRepo(s).find(org.id) or default_billing(org.id, now)
        ledger = LedgerRepo(s)
        balance = -ledger.balance(org_account(org.id, billing.mode))
        funded = DrawdownRepo(s).funded_for_org(org.id, month_of(now))
        month = ledger.income(org.id, month_of(now)) - funded  # the org's share
    return AccountView(org.id, billing, Money(balance), Money(month))


# -- cost before you run --------------------------------------------------------------


@dataclass(frozen=True)
class CostEstimate:
    estimate: Estimate
    budgets_left: tuple[tuple[Budget, Decimal], ...]  # each covering budget, in its unit


def estimate_job(ctx: Context, p: Principal, spec: JobSpec) -> CostEstimate:
    """Price x resources x walltime for a job, and what is left of each covering budget."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        project = tenancy.resolve_project(scope_of(p), spec.project_id)
    book = load_book(ctx)
    walltime = spec.walltime_s or ctx.settings.budget_default_reservation_s
    models = set(gpu_models(ctx, []).values()) - {None}
    model = spec.gpu_model or (next(iter(models)) if len(models) == 1 else None)
    est = estimate(spec, book, now, walltime_s=walltime, gpu_model=model)
    views = list_budgets(ctx, p)
    states = [BudgetState(v.budget, _base(v, v.spent), _base(v, v.reserved)) for v in views]
    left = budget_left(states, project.org_id, project.id)
    return CostEstimate(est, tuple((b, amount.quantize(Decimal("0.001"))) for b, amount in left))


def _base(v: BudgetView, amount: Decimal) -> Decimal:
    return amount * 3600 if v.budget.unit is BudgetUnit.GPU_HOURS else amount


# -- usage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageLine:
    month: str
    org_id: str
    project_id: str
    resource: str
    gpu_model: str | None
    tier: str
    unit_hours: Decimal
    amount: Money


def usage(
    ctx: Context, p: Principal, *, org: str | None = None, project: str | None = None,
    month: str | None = None,
) -> list[UsageLine]:  # fmt: skip
    """Charged usage the caller may see, per month x project x resource x GPU model x tier."""
    if month is not None:
        check_month(month)
    scope = scope_of(p)
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        org_id = _org(tenancy, p, org).id if org is not None else None
        project_ids = None
        if project is not None:
            if org_id is None:
                project_ids = [tenancy.resolve_project(scope, project).id]
            else:
                project_ids = [_project(tenancy, p, _org(tenancy, p, org or ""), project).id]
        charges = UsageRepo(s).charges(org_id=org_id, month=month, project_ids=project_ids)
    groups: dict[tuple[str, str, str, str, str, str], list[Decimal]] = {}
    for c in charges:
        r = c.record
        if not scope.allows(r.org_id, r.project_id):
            continue
        key = (r.month, r.org_id, r.project_id, r.resource.value, r.gpu_model or "", r.tier.value)
        acc = groups.setdefault(key, [Decimal(0), Decimal(0)])
        acc[0] += r.unit_seconds
        acc[1] += c.amount.amount
    return [
        UsageLine(m, o, pr, res, model or None, tier,
                  (acc[0] / 3600).quantize(Decimal("0.001")), Money(acc[1]))
        for (m, o, pr, res, model, tier), acc in sorted(groups.items())
    ]  # fmt: skip
