"""Invoices: one statement per org and Hong Kong month, built from its rated usage.

Lines are grouped by project x resource (x GPU model) x QoS tier, plus fixed fees (plans).
Each line shows its amount, the subsidy (the funder's share from the same ``CoPay`` split the
ledger uses: zero until the subsidy issue) and the org's share.

Invariants:
- ``total == sum of line amounts``, ``subsidy_total + org_total == total``, exactly; and
  ``total`` equals ``ledger.billed_for`` the org and month when the ledger was posted from the
  same charges and fees (the property tests check this);
- an issued invoice is immutable: it has a number (``INV-YYYYMM-NNNNNN``) and an issue time,
  issuing it again raises, and it may only be issued once its month has ended.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from petaport.billing.ledger import NO_COPAY, CoPay
from petaport.billing.metering import month_bounds
from petaport.billing.rating import Charge
from petaport.domain.errors import IllegalTransition, ValidationFailed
from petaport.domain.jobs import QosTier
from petaport.domain.money import HKD, Money, total


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"


@dataclass(frozen=True)
class Fee:
    """A fixed amount on an invoice (a plan fee), already posted to the ledger."""

    description: str
    amount: Money
    project_id: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    project_id: str | None
    description: str  # e.g. "gpu_hour H800 on-demand" or the fee's description
    resource: str | None
    tier: QosTier | None
    unit_seconds: Decimal  # quantity x seconds (0 for fees); unit-hours = this / 3600
    amount: Money
    subsidy: Money
    org_share: Money


@dataclass(frozen=True)
class Invoice:
    org_id: str
    month: str  # YYYY-MM, Hong Kong time
    lines: tuple[InvoiceLine, ...]
    currency: str = HKD
    status: InvoiceStatus = InvoiceStatus.DRAFT
    number: str | None = None
    issued_at: datetime | None = None

    @property
    def total(self) -> Money:
        return total((line.amount for line in self.lines), self.currency)

    @property
    def subsidy_total(self) -> Money:
        return total((line.subsidy for line in self.lines), self.currency)

    @property
    def org_total(self) -> Money:
        return total((line.org_share for line in self.lines), self.currency)


def invoice_number(month: str, sequence: int) -> str:
    if sequence < 1:
        raise ValidationFailed("invoice sequence numbers start at 1")
    return f"INV-{month.replace('-', '')}-{sequence:06d}"


@dataclass(frozen=True)
class UsageTotal:
    """The charges of one usage line summed: a project x resource x GPU model ('' for none)
    x tier, with their unit-seconds, amount and funder share (the sum of each charge's
    ``CoPay`` split, so that it is what the ledger posted to the funder)."""

    project_id: str
    resource: str
    gpu_model: str
    tier: str
    unit_seconds: Decimal
    amount: Money
    subsidy: Money

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.project_id, self.resource, self.gpu_model, self.tier)


def usage_totals(
    charges: Iterable[Charge],
    copay: CoPay = NO_COPAY,
    currency: str = HKD,
    subsidies: Mapping[str, Money] | None = None,
) -> list[UsageTotal]:
    """The charges grouped into usage lines (in no particular order). A charge's funder share
    is its stored one in ``subsidies`` (source id -> share), else ``copay``'s."""
    shares = subsidies or {}
    groups: dict[tuple[str, str, str, str], list[Charge]] = {}
    for c in charges:
        r = c.record
        groups.setdefault((r.project_id, r.resource.value, r.gpu_model or "", r.tier.value),
                          []).append(c)  # fmt: skip
    out = []
    for key, group in groups.items():
        funder = total((_split(c, copay, shares)[1] for c in group), currency)
        out.append(UsageTotal(*key, sum((c.record.unit_seconds for c in group), Decimal(0)),
                              total((c.amount for c in group), currency), funder))  # fmt: skip
    return out


def build_invoice(
    org_id: str,
    month: str,
    charges: Iterable[Charge],
    *,
    copay: CoPay = NO_COPAY,
    subsidies: Mapping[str, Money] | None = None,
    fees: Iterable[Fee] = (),
    currency: str = HKD,
) -> Invoice:
    """A draft invoice from the org's charges in ``month`` (others are ignored) and fees.
    ``subsidies`` (source id -> funder share, from the stored drawdown) overrides ``copay``
    for the charges it names; the others are split by ``copay``."""
    mine = (c for c in charges if c.record.org_id == org_id and c.record.month == month)
    totals = usage_totals(mine, copay, currency, subsidies)
    return invoice_from_totals(org_id, month, totals, fees=fees, currency=currency)


def invoice_from_totals(
    org_id: str,
    month: str,
    totals: Iterable[UsageTotal],
    *,
    fees: Iterable[Fee] = (),
    currency: str = HKD,
) -> Invoice:
    """A draft invoice from the usage lines already summed (e.g. by the database) and fees:
    the same invoice ``build_invoice`` makes of the charges they sum."""
    lines = [_usage_line(t) for t in sorted(totals, key=lambda t: t.key)]
    lines += [_fee_line(fee) for fee in fees]
    return Invoice(org_id, month, tuple(lines), currency)


def _usage_line(t: UsageTotal) -> InvoiceLine:
    return InvoiceLine(
        t.project_id, " ".join(p for p in (t.resource, t.gpu_model, t.tier) if p), t.resource,
        QosTier(t.tier), t.unit_seconds, t.amount, t.subsidy, t.amount - t.subsidy,
    )  # fmt: skip


def _split(c: Charge, copay: CoPay, shares: Mapping[str, Money]) -> tuple[Money, Money]:
    """(org share, subsidy) of one charge: its stored funder share, else ``copay``'s."""
    share = shares.get(c.source_id)
    return copay.split(c.amount) if share is None else (c.amount - share, share)


def _fee_line(fee: Fee) -> InvoiceLine:
    """Fees are not subsidised: the org pays all of a plan fee."""
    zero = Money.zero(fee.amount.currency)
    return InvoiceLine(fee.project_id, fee.description, None, None, Decimal(0), fee.amount,
                       zero, fee.amount)  # fmt: skip


def issue(invoice: Invoice, sequence: int, now: datetime) -> Invoice:
    """The issued, numbered invoice. Only a draft, only once its month has ended."""
    if invoice.status is InvoiceStatus.ISSUED:
        raise IllegalTransition(f"invoice {invoice.number} is issued and cannot change")
    if now < month_bounds(invoice.month)[1]:
        raise ValidationFailed(f"the month {invoice.month} has not ended yet")
    number = invoice_number(invoice.month, sequence)
    return replace(invoice, status=InvoiceStatus.ISSUED, number=number, issued_at=now)
