"""The operator's money views: revenue per month and org category, and the stored price book.

Revenue comes from the ledger, not from invoices: ``revenue`` is what usage and fees credited
to REVENUE, ``credit_notes`` what credit notes and plan credits took back, ``net`` the
difference (the sum of the org invoices of the month, once they are issued). ``invoiced`` is
the total of the invoices issued so far, so a month still open shows how much is not yet
invoiced. Centre admins only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from petaport.billing.prices import PriceVersion
from petaport.domain.tenancy import OrgCategory, Principal
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.services.invoices import check_month
from petaport.storage.repos.billing import PriceRepo
from petaport.storage.repos.reports import ReportRepo

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RevenueRow:
    month: str
    category: OrgCategory
    orgs: int  # orgs with income in the month
    revenue: Decimal
    credit_notes: Decimal
    invoiced: Decimal

    @property
    def net(self) -> Decimal:
        return self.revenue - self.credit_notes


@dataclass
class _Sums:
    orgs: set[str]
    revenue: Decimal = ZERO
    credit_notes: Decimal = ZERO


def revenue_report(ctx: Context, p: Principal, month: str | None = None) -> list[RevenueRow]:
    """Rows per (month, org category), newest month first, categories in a fixed order."""
    require_centre_admin(p)
    if month is not None:
        check_month(month)
    with ctx.db.transaction() as s:
        repo = ReportRepo(s)
        income = repo.income_by_org(month)
        invoiced = repo.invoiced_by_category(month)
    sums: dict[tuple[str, str], _Sums] = defaultdict(lambda: _Sums(set()))
    for m, org_id, category, kind, debits in income:
        row = sums[(m, category)]
        row.orgs.add(org_id)
        if kind == "revenue":
            row.revenue -= debits  # revenue is credited: its debits are negative
        else:
            row.credit_notes += debits
    keys = set(sums) | set(invoiced)
    order = list(OrgCategory)
    return [
        RevenueRow(m, OrgCategory(cat), len(sums[(m, cat)].orgs), sums[(m, cat)].revenue,
                   sums[(m, cat)].credit_notes, invoiced.get((m, cat), ZERO))
        for m, cat in sorted(keys, key=lambda k: (_neg_month(k[0]), order.index(OrgCategory(k[1]))))
    ]  # fmt: skip


def _neg_month(month: str) -> int:
    year, mon = month.split("-")
    return -(int(year) * 12 + int(mon))


def price_versions(ctx: Context, p: Principal) -> list[PriceVersion]:
    """Every stored price version, oldest first (centre admins)."""
    require_centre_admin(p)
    with ctx.db.transaction() as s:
        return PriceRepo(s).versions()
