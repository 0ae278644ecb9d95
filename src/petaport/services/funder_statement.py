"""A funder's monthly statement (Hong Kong month): per grant and org, the list price of the
charges its grants paid part of, the funder's share, the org's share and the GPU-hours funded.

Invariant: the statement's funder total equals the FUNDER_RECEIVABLE postings of that funder
in the month's journal entries; a statement that would differ is refused (409
``statement_ledger_mismatch``), never shown wrong. Read by centre admins and the committee.
As JSON (API), CSV, and a bilingual PDF (``funder_statement_render``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from petaport.domain.errors import Conflict
from petaport.domain.money import Money, total
from petaport.domain.tenancy import Principal, Scope
from petaport.services.context import Context
from petaport.services.grants import require_committee
from petaport.services.invoices import check_month
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)


@dataclass(frozen=True)
class StatementLine:
    grant_id: str
    org_id: str
    org_name: str
    project_id: str
    project_name: str
    amount: Money  # list price of the charges the grant paid part of
    funder_share: Money
    org_share: Money
    gpu_hours: Decimal  # funded
    charges: int


@dataclass(frozen=True)
class Statement:
    funder_id: str
    month: str
    lines: tuple[StatementLine, ...]
    ledger_total: Money  # FUNDER_RECEIVABLE postings of the month

    @property
    def amount(self) -> Money:
        return total(line.amount for line in self.lines)

    @property
    def funder_total(self) -> Money:
        return total(line.funder_share for line in self.lines)

    @property
    def org_total(self) -> Money:
        return total(line.org_share for line in self.lines)

    @property
    def gpu_hours(self) -> Decimal:
        return sum((line.gpu_hours for line in self.lines), Decimal(0))


def statement(ctx: Context, p: Principal, funder_id: str, month: str) -> Statement:
    require_committee(p)
    check_month(month)
    with ctx.db.transaction() as s:
        repo, tenancy = DrawdownRepo(s), TenancyRepo(s)
        rows = repo.statement_rows(funder_id, month)
        ledger = Money(repo.funder_postings(funder_id, month))
        orgs = {o: tenancy.get_org(EVERYTHING, o).name for o in {r.org_id for r in rows}}
        projects = {
            r.project_id: tenancy.resolve_project(EVERYTHING, r.project_id).name for r in rows
        }
    lines = tuple(
        StatementLine(r.grant_id, r.org_id, orgs[r.org_id], r.project_id,
                      projects[r.project_id], Money(r.amount), Money(r.funder_amount),
                      Money(r.amount - r.funder_amount),
                      (r.funded_gpu_s / 3600).quantize(Decimal("0.001")), r.charges)
        for r in rows
    )  # fmt: skip
    found = Statement(funder_id, month, lines, ledger)
    if found.funder_total != ledger:
        raise Conflict(
            f"the statement would total {found.funder_total} but the ledger holds {ledger} "
            f"for {funder_id} in {month}", code="statement_ledger_mismatch",
        )  # fmt: skip
    return found
