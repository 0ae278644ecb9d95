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


def _usage_key(c: Charge) -> tuple[str, str, str, str]:
    r = c.record
    return (r.project_id, r.resource.value, r.gpu_model or "", r.tier.value)


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
    groups: dict[tuple[str, str, str, str], list[Charge]] = {}
    for c in charges:
        if c.record.org_id == org_id and c.record.month == month:
            groups.setdefault(_usage_key(c), []).append(c)
    shares = subsidies or {}
    lines = [_usage_line(key, groups[key], copay, shares, currency) for key in sorted(groups)]
    lines += [_fee_line(fee) for fee in fees]
    return Invoice(org_id, month, tuple(lines), currency)


def _usage_line(
    key: tuple[str, str, str, str],
    charges: list[Charge],
    copay: CoPay,
    shares: Mapping[str, Money],
    currency: str,
) -> InvoiceLine:
    project_id, resource, model, tier = key
    splits = [_split(c, copay, shares) for c in charges]
    return InvoiceLine(
        project_id, " ".join(p for p in (resource, model, tier) if p), resource, QosTier(tier),
        sum((c.record.unit_seconds for c in charges), Decimal(0)),
        total((c.amount for c in charges), currency), total((f for _, f in splits), currency),
        total((o for o, _ in splits), currency),
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
