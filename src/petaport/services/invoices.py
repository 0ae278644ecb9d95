"""Invoices: one statement per org and Hong Kong month, drafted live, issued once.

A draft is built by ``billing.invoices.invoice_from_totals`` from the month's stored charges
(usage records), summed per line by the database (``UsageRepo.invoice_totals``: the same lines
``build_invoice`` makes of the charges), and its other income entries (plan fees, the plan
credit, credit notes), which become fee lines. Issuing it (centre admins, after the month
ended) numbers and stores it.

Invariants:
- an issued invoice's total equals the sum of its lines and ``LedgerRepo.income`` of the org
  and month; issuing is refused (409 ``invoice_ledger_mismatch``) when they differ;
- one invoice per org and month (409 ``invoice_issued``), never before the month ended
  (422 ``month_not_ended``), never empty (409 ``nothing_to_invoice``); the database refuses
  any change to a stored invoice;
- a proof-of-concept org's month: its plan fee must be in the ledger (409
  ``plan_fee_missing``); issuing posts ``plan_credit_entry`` (the month's usage, covered by the
  plan) in the same transaction, so the invoice shows usage, the credit and the fee and totals
  the fee.

Who sees what: centre admins everything; an org admin their org's invoices; another tenant's
invoice is not found (404); a member or viewer of the org gets 403.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.billing.invoices import Fee, Invoice, UsageTotal, invoice_from_totals, issue
from petaport.billing.ledger import INCOME, EntryKind, JournalEntry
from petaport.billing.metering import month_bounds, month_of
from petaport.billing.plans import OrgBilling, Plan, plan_credit_entry
from petaport.domain.errors import Conflict, DomainError, Forbidden, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.money import Money, total
from petaport.domain.tenancy import Org, Principal, Scope, scope_of
from petaport.services.authz import can_admin_org, require_centre_admin
from petaport.services.context import Context
from petaport.storage.repos.billing import OrgBillingRepo, UsageRepo
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.invoices import InvoiceRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.reports import ReportRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PROJECT_LIMIT = 10_000
POC_FEE = "Proof-of-concept plan fee"
PLAN_FEE = "Plan fee"
PLAN_CREDIT = "Usage covered by plan"
CREDIT_NOTE = "Credit note"


@dataclass(frozen=True)
class InvoiceView:
    """An invoice with what it is shown with: its id (None for a draft), org and projects."""

    id: str | None
    invoice: Invoice
    org: Org
    project_names: dict[str, str]


@dataclass(frozen=True)
class Refusal:
    org_id: str
    code: str
    detail: str


@dataclass(frozen=True)
class IssueResult:
    issued: tuple[InvoiceView, ...]
    refused: tuple[Refusal, ...]


def check_month(month: str) -> str:
    """``month`` if it is ``YYYY-MM`` of a year Petaport can bill (1970-9998)."""
    found = MONTH_RE.match(month)
    if found is None or not 1970 <= int(found.group(1)) <= 9998:
        raise ValidationFailed(f"{month!r} is not a month (YYYY-MM)", code="bad_month")
    return month


# -- building ------------------------------------------------------------------------------


def _income(entry: JournalEntry) -> Money:
    """What an entry adds to the org's bill: minus its revenue and credit-note postings."""
    currency = entry.postings[0].amount.currency
    return -total((p.amount for p in entry.postings if p.account.kind in INCOME), currency)


def _description(entry: JournalEntry) -> str:
    if entry.kind is EntryKind.PLAN_FEE:
        return POC_FEE if entry.id.startswith("je_fee/poc/") else PLAN_FEE
    if entry.id.startswith("je_plancredit/"):
        return PLAN_CREDIT
    return entry.memo or CREDIT_NOTE


def fee_lines(entries: Sequence[JournalEntry]) -> list[Fee]:
    """Fee lines for the month's income entries other than charges (which are usage lines)."""
    return [
        Fee(_description(e), _income(e))
        for e in entries
        if e.kind is not EntryKind.CHARGE and not _income(e).is_zero
    ]


def _poc_month(billing: OrgBilling | None, month: str, now: datetime) -> bool:
    return billing is not None and billing.plan is Plan.POC and month in billing.fee_months(now)


@dataclass(frozen=True)
class _Month:
    """The stored money of one org and month: usage summed by line, the entries other than
    charges (fees, credits), and the plan credit still to post."""

    usage: list[UsageTotal]
    entries: list[JournalEntry]
    credit: JournalEntry | None
    poc: bool

    def invoice(self, org_id: str, month: str) -> Invoice:
        extra = [self.credit] if self.credit is not None else []
        return invoice_from_totals(org_id, month, self.usage,
                                   fees=fee_lines(self.entries + extra))  # fmt: skip


def _load_month(s: Session, org_id: str, month: str, now: datetime) -> _Month:
    usage = UsageRepo(s).invoice_totals(org_id, month)
    entries = LedgerRepo(s).entries(org_id=org_id, month=month, but=EntryKind.CHARGE)
    billing = OrgBillingRepo(s).find(org_id)
    poc = _poc_month(billing, month, now)
    credit = None
    if poc and billing is not None:
        wanted = plan_credit_entry(billing, month, total(t.amount for t in usage))
        if wanted is not None and all(e.id != wanted.id for e in entries):
            credit = wanted
    return _Month(usage, entries, credit, poc)


def _view(s: Session, invoice_id: str | None, inv: Invoice) -> InvoiceView:
    tenancy = TenancyRepo(s)
    projects = tenancy.list_projects(EVERYTHING, org_id=inv.org_id, after=None,
                                     limit=PROJECT_LIMIT)  # fmt: skip
    return InvoiceView(invoice_id, inv, tenancy.get_org(EVERYTHING, inv.org_id),
                       {p.id: p.name for p in projects})  # fmt: skip


# -- reading -------------------------------------------------------------------------------


def billing_scope(p: Principal) -> Scope:
    """The orgs whose invoices ``p`` may read: all for centre admins, else those it admins."""
    if p.is_centre_admin:
        return EVERYTHING
    return Scope(org_ids=frozenset(o for o in p.org_ids() if can_admin_org(p, o)))


def _require_billing(p: Principal, org_id: str) -> None:
    if not can_admin_org(p, org_id):
        raise Forbidden("only an org admin of this organisation may see its invoices")


def list_invoices(ctx: Context, p: Principal, *, org_id: str | None = None,
                  month: str | None = None) -> list[InvoiceView]:  # fmt: skip
    """Issued invoices the caller may read, newest month first."""
    if month is not None:
        check_month(month)
    with ctx.db.transaction() as s:
        found = InvoiceRepo(s).list(billing_scope(p), org_id=org_id, month=month)
        return [_view(s, invoice_id, inv) for invoice_id, inv in found]


def get_invoice(ctx: Context, p: Principal, invoice_id: str) -> InvoiceView:
    with ctx.db.transaction() as s:
        inv = InvoiceRepo(s).get(scope_of(p), invoice_id)  # another tenant's: not found
        _require_billing(p, inv.org_id)
        return _view(s, invoice_id, inv)


def draft_invoice(ctx: Context, p: Principal, org_id: str, month: str | None = None
                  ) -> InvoiceView:  # fmt: skip
    """The month's invoice (default: this Hong Kong month): the issued one if there is one,
    else a draft built live, with the plan credit that issuing would post."""
    now = ctx.clock()
    month = check_month(month) if month is not None else month_of(now)
    with ctx.db.transaction() as s:
        org = TenancyRepo(s).get_org(scope_of(p), org_id)
        _require_billing(p, org.id)
        issued = InvoiceRepo(s).find(org.id, month)
        if issued is not None:
            return _view(s, *issued)
        return _view(s, None, _load_month(s, org.id, month, now).invoice(org.id, month))


# -- issuing -------------------------------------------------------------------------------


def _issue_in(s: Session, org_id: str, month: str, now: datetime) -> InvoiceView:
    repo, ledger = InvoiceRepo(s), LedgerRepo(s)
    if repo.find(org_id, month) is not None:
        raise Conflict(f"the invoice of {month} is issued already", code="invoice_issued")
    stored = _load_month(s, org_id, month, now)
    if stored.poc and not any(e.kind is EntryKind.PLAN_FEE for e in stored.entries):
        raise Conflict(f"the plan fee of {month} is not in the ledger yet; post it first",
                       code="plan_fee_missing")  # fmt: skip
    draft = stored.invoice(org_id, month)
    if not draft.lines:
        raise Conflict(f"nothing to invoice in {month}", code="nothing_to_invoice")
    if stored.credit is not None:
        ledger.post([stored.credit], now)
    income = ledger.income(org_id, month)
    if draft.total.amount != income:
        raise Conflict(
            f"the invoice of {month} would total {draft.total} but the ledger holds "
            f"{draft.currency} {income:,} of income; some usage is not posted (or posted twice)",
            code="invoice_ledger_mismatch",
        )
    funded = DrawdownRepo(s).funder_postings(None, month, org_id)
    if draft.subsidy_total.amount != funded:
        raise Conflict(
            f"the invoice of {month} would show {draft.subsidy_total} of subsidy but funders "
            f"were posted {draft.currency} {funded:,}", code="invoice_ledger_mismatch",
        )  # fmt: skip
    issued = issue(draft, repo.next_sequence(month), now)
    invoice_id = new_id("inv")
    try:
        with s.begin_nested():
            repo.add(invoice_id, issued)
    except IntegrityError as exc:
        raise Conflict("another invoice was issued at the same moment; try again",
                       code="invoice_issued") from exc  # fmt: skip
    return _view(s, invoice_id, issued)


def _check_ended(month: str, now: datetime) -> None:
    if now < month_bounds(month)[1]:
        raise ValidationFailed(f"{month} has not ended yet (Hong Kong time)",
                               code="month_not_ended")  # fmt: skip


def issue_invoice(ctx: Context, p: Principal, org_ref: str, month: str) -> InvoiceView:
    """Issue one org's invoice of ``month`` (centre admins); ``org_ref``: id or slug."""
    require_centre_admin(p)
    now = ctx.clock()
    _check_ended(check_month(month), now)
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        org = tenancy.find_org_by_slug(org_ref) or tenancy.get_org(EVERYTHING, org_ref)
        return _issue_in(s, org.id, month, now)


def issue_month(ctx: Context, p: Principal, month: str) -> IssueResult:
    """Issue the invoices of every org with usage or entries in ``month`` and no invoice yet;
    each in its own transaction. Orgs that cannot be invoiced are listed with the reason."""
    require_centre_admin(p)
    now = ctx.clock()
    _check_ended(check_month(month), now)
    with ctx.db.transaction() as s:
        issued_orgs = {inv.org_id for _, inv in InvoiceRepo(s).list(EVERYTHING, month=month)}
        pending = sorted(ReportRepo(s).active_org_ids(month) - issued_orgs)
    done, refused = [], []
    for org_id in pending:
        try:
            with ctx.db.transaction() as s:
                done.append(_issue_in(s, org_id, month, now))
        except (Conflict, ValidationFailed) as exc:
            refused.append(_refusal(org_id, exc))
    return IssueResult(tuple(done), tuple(refused))


def _refusal(org_id: str, exc: DomainError) -> Refusal:
    return Refusal(org_id, exc.code, exc.detail)
