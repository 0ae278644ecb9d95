"""The spend dashboard of one organisation: a Hong Kong month's charges (and the month
before), per day, resource class or GPU model and project; its budgets as bars with their
alert state; its recent budget alerts.

Who sees what follows the scope rules of the other money reads: an org's members see the
whole org, members of one project see that project's charges and budgets only, centre admins
any org; another tenant's org is "not found". Figures come from the stored, rated usage
records (``billing.spend`` sums them exactly); ``ledger_total`` is the org's income in the
ledger for the month (usage plus plan fees, less credit notes), shown to org-wide viewers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from petaport.billing.budgets import Budget, BudgetPeriod
from petaport.billing.metering import month_of
from petaport.billing.spend import MonthSpend, month_spend, previous_month
from petaport.domain.errors import NotFound
from petaport.domain.tenancy import Org, Principal, Project, scope_of
from petaport.services import accounts
from petaport.services.context import Context
from petaport.services.invoices import check_month
from petaport.storage.repos.billing import UsageRepo
from petaport.storage.repos.budgets import BudgetAlert
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.tenancy import TenancyRepo

ALERTS_SHOWN = 10
PROJECT_LIMIT = 500
ZERO1 = Decimal("0.0")


@dataclass(frozen=True)
class BudgetBar:
    """A budget as a bar: spent and reserved against the limit, in the budget's unit."""

    view: accounts.BudgetView
    period_label: str  # "2026-11" for a monthly budget, "lifetime" otherwise
    alert_level: int | None  # the highest threshold (50, 80, 100) spent has reached

    @property
    def reserved_percent(self) -> Decimal:
        limit = self.view.budget.limit
        return (self.view.reserved * 100 / limit).quantize(Decimal("0.1")) if limit else ZERO1


@dataclass(frozen=True)
class SpendReport:
    org: Org
    project: Project | None  # the report is narrowed to this project
    projects: dict[str, Project]  # the projects the caller may see
    month: MonthSpend
    previous: MonthSpend
    budgets: list[BudgetBar]
    alerts: list[BudgetAlert]  # newest first
    ledger_total: Decimal | None  # None: the caller sees only some projects


def alert_level(view: accounts.BudgetView) -> int | None:
    b = view.budget
    reached = [t for t in b.thresholds if view.spent * 100 >= t * b.limit]
    return max(reached) if reached else None


def budget_bar(view: accounts.BudgetView, month: str) -> BudgetBar:
    monthly = view.budget.period is BudgetPeriod.MONTHLY
    return BudgetBar(view, month if monthly else "lifetime", alert_level(view))


def _org(tenancy: TenancyRepo, p: Principal, ref: str) -> Org:
    """An org by id or slug; NotFound (naming only what was asked for) outside the scope."""
    found = tenancy.find_org_by_slug(ref)
    try:
        return tenancy.get_org(scope_of(p), found.id if found is not None else ref)
    except NotFound:
        raise NotFound(f"organisation {ref} not found") from None


def _project(tenancy: TenancyRepo, p: Principal, org: Org, ref: str) -> Project:
    ref = ref if ref.startswith("prj_") or "/" in ref else f"{org.slug}/{ref}"
    project = tenancy.resolve_project(scope_of(p), ref)
    if project.org_id != org.id:
        raise NotFound(f"project {ref} not found")
    return project


@dataclass(frozen=True)
class _Loaded:
    org: Org
    project: Project | None
    projects: dict[str, Project]
    months: list[MonthSpend]
    ledger_total: Decimal | None


def _load(ctx: Context, p: Principal, org_ref: str, project_ref: str | None,
          months: tuple[str, str]) -> _Loaded:  # fmt: skip
    scope = scope_of(p)
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        org = _org(tenancy, p, org_ref)
        project = _project(tenancy, p, org, project_ref) if project_ref else None
        projects = tenancy.list_projects(scope, org_id=org.id, after=None, limit=PROJECT_LIMIT)
        only = [project.id] if project else None
        usage, spends = UsageRepo(s), []
        for m in months:
            charges = usage.charges(org_id=org.id, month=m, project_ids=only)
            seen = [c for c in charges if scope.allows(org.id, c.record.project_id)]
            spends.append(month_spend(m, seen))
        org_wide = scope.allows(org.id) and project is None
        ledger = LedgerRepo(s).income(org.id, months[0]) if org_wide else None
    return _Loaded(org, project, {x.id: x for x in projects}, spends, ledger)


def _covers(b: Budget, project: Project | None) -> bool:
    return project is None or b.project_id in (None, project.id)


def spend_report(ctx: Context, p: Principal, org_ref: str, month: str | None = None,
                 project: str | None = None) -> SpendReport:  # fmt: skip
    """The dashboard of ``org_ref`` (id or slug) for ``month`` (default: this HK month),
    narrowed to one ``project`` (id, slug or ``org-slug/project-slug``) if given."""
    this_month = month_of(ctx.clock())
    month = check_month(month) if month else this_month
    got = _load(ctx, p, org_ref, project, (month, previous_month(month)))
    views = [v for v in accounts.list_budgets(ctx, p, got.org.id) if _covers(v.budget, got.project)]
    shown = {v.budget.id for v in views}
    alerts = [a for a in accounts.list_alerts(ctx, p, limit=100) if a.budget_id in shown]
    return SpendReport(got.org, got.project, got.projects, got.months[0], got.months[1],
                       [budget_bar(v, this_month) for v in views], alerts[:ALERTS_SHOWN],
                       got.ledger_total)  # fmt: skip


def default_org(ctx: Context, p: Principal) -> Org:
    """The org a dashboard opens on: the caller's first (centre admins: the first of all)."""
    with ctx.db.transaction() as s:
        orgs = TenancyRepo(s).list_orgs(scope_of(p), after=None, limit=1)
    if not orgs:
        raise NotFound("you are not a member of any organisation")
    return orgs[0]


def visible_orgs(ctx: Context, p: Principal) -> list[Org]:
    """The orgs whose dashboard the caller may open (centre admins: all of them)."""
    with ctx.db.transaction() as s:
        return TenancyRepo(s).list_orgs(scope_of(p), after=None, limit=PROJECT_LIMIT)
