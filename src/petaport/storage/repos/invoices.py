"""Issued invoices: immutable rows (the database refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from petaport.billing.invoices import Invoice, InvoiceLine, InvoiceStatus
from petaport.domain.errors import NotFound
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money
from petaport.domain.tenancy import Scope
from petaport.storage.money_tables import InvoiceLineRow, InvoiceRow


class InvoiceRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def next_sequence(self, month: str) -> int:
        """The next number in ``month``'s series (the unique number guards a race)."""
        q = select(func.count()).select_from(InvoiceRow).where(InvoiceRow.month == month)
        return int(self.s.scalar(q) or 0) + 1

    def add(self, invoice_id: str, inv: Invoice) -> None:
        if inv.number is None or inv.issued_at is None:
            raise ValueError("only issued invoices are stored")
        self.s.add(InvoiceRow(
            id=invoice_id, org_id=inv.org_id, month=inv.month, number=inv.number,
            status=inv.status.value, currency=inv.currency, total=inv.total.amount,
            subsidy_total=inv.subsidy_total.amount, org_total=inv.org_total.amount,
            issued_at=inv.issued_at,
        ))  # fmt: skip
        self.s.flush()
        for seq, line in enumerate(inv.lines):
            self.s.add(InvoiceLineRow(
                invoice_id=invoice_id, seq=seq, project_id=line.project_id,
                description=line.description, resource=line.resource,
                tier=line.tier.value if line.tier else None, unit_seconds=line.unit_seconds,
                amount=line.amount.amount, subsidy=line.subsidy.amount,
                org_share=line.org_share.amount,
            ))  # fmt: skip
        self.s.flush()

    def _invoice(self, r: InvoiceRow) -> Invoice:
        q = select(InvoiceLineRow).where(InvoiceLineRow.invoice_id == r.id)
        lines = tuple(
            InvoiceLine(
                ln.project_id, ln.description, ln.resource, QosTier(ln.tier) if ln.tier else None,
                ln.unit_seconds, Money(ln.amount, r.currency), Money(ln.subsidy, r.currency),
                Money(ln.org_share, r.currency),
            )
            for ln in self.s.scalars(q.order_by(InvoiceLineRow.seq))
        )  # fmt: skip
        return Invoice(r.org_id, r.month, lines, r.currency, InvoiceStatus(r.status), r.number,
                       r.issued_at)  # fmt: skip

    def list(self, scope: Scope, *, org_id: str | None = None,
             month: str | None = None) -> list[tuple[str, Invoice]]:  # fmt: skip
        q = select(InvoiceRow).order_by(InvoiceRow.month.desc(), InvoiceRow.number)
        if org_id is not None:
            q = q.where(InvoiceRow.org_id == org_id)
        if month is not None:
            q = q.where(InvoiceRow.month == month)
        rows = [r for r in self.s.scalars(q) if scope.allows(r.org_id)]
        return [(r.id, self._invoice(r)) for r in rows]

    def get(self, scope: Scope, invoice_id: str) -> Invoice:
        row = self.s.get(InvoiceRow, invoice_id)
        if row is None or not scope.allows(row.org_id):
            raise NotFound(f"invoice {invoice_id} not found")
        return self._invoice(row)

    def find(self, org_id: str, month: str) -> tuple[str, Invoice] | None:
        q = select(InvoiceRow).where(InvoiceRow.org_id == org_id, InvoiceRow.month == month)
        row = self.s.scalars(q).first()
        return None if row is None else (row.id, self._invoice(row))

    def issued_months(self, org_id: str) -> set[str]:
        q = select(InvoiceRow.month).where(InvoiceRow.org_id == org_id)
        return set(self.s.scalars(q))

    def issued_at_of(self, invoice_id: str) -> datetime | None:
        row = self.s.get(InvoiceRow, invoice_id)
        return None if row is None else row.issued_at
