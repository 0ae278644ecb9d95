"""Read-only figures across orgs for invoicing and the operator's revenue report.

Sums come from the sealed ledger (postings joined to their entry headers) and from the issued
invoices; they are exact in both databases (``Cents`` sums are whole cents).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from petaport.storage.money_tables import InvoiceRow, JournalEntryRow, PostingRow, UsageRecordRow
from petaport.storage.tables import OrgRow

INCOME_KINDS = ("revenue", "credit_notes")


def cents(value: object) -> Decimal:
    """A SUM of a ``Cents`` column from either database as Decimal cents (None: zero)."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return Decimal(int(value)).scaleb(-2)  # type: ignore[call-overload]


class ReportRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def active_org_ids(self, month: str) -> set[str]:
        """Orgs with usage records or ledger entries in a Hong Kong month."""
        used = select(UsageRecordRow.org_id).where(UsageRecordRow.month == month).distinct()
        posted = (
            select(JournalEntryRow.org_id)
            .where(JournalEntryRow.month == month, JournalEntryRow.org_id.is_not(None))
            .distinct()
        )
        return set(self.s.scalars(used)) | {o for o in self.s.scalars(posted) if o}

    def income_by_org(self, month: str | None = None) -> list[tuple[str, str, str, str, Decimal]]:
        """(month, org id, org category, account kind, debits minus credits) of the income
        accounts (revenue, credit notes), per month and org."""
        q = (
            select(JournalEntryRow.month, OrgRow.id, OrgRow.category, PostingRow.account_kind,
                   func.sum(PostingRow.amount))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .join(OrgRow, OrgRow.id == JournalEntryRow.org_id)
            .where(PostingRow.account_kind.in_(INCOME_KINDS))
            .group_by(JournalEntryRow.month, OrgRow.id, OrgRow.category, PostingRow.account_kind)
        )  # fmt: skip
        if month is not None:
            q = q.where(JournalEntryRow.month == month)
        rows = self.s.execute(q)
        return [(m, org, cat, kind, cents(amount)) for m, org, cat, kind, amount in rows]

    def invoiced_by_category(self, month: str | None = None) -> dict[tuple[str, str], Decimal]:
        """Totals of issued invoices per (month, org category)."""
        q = (
            select(InvoiceRow.month, OrgRow.category, func.sum(InvoiceRow.total))
            .join(OrgRow, OrgRow.id == InvoiceRow.org_id)
            .group_by(InvoiceRow.month, OrgRow.category)
        )
        if month is not None:
            q = q.where(InvoiceRow.month == month)
        return {(m, cat): cents(amount) for m, cat, amount in self.s.execute(q)}
