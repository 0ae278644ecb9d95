"""Rating: price usage records exactly, rounding to cents in one stated place.

A record's exact value is ``unit price x quantity x billable seconds / 3600`` (a Fraction, no
rounding). Records are rated per attempt and resource in a canonical order (usage by start,
then credits), keeping the exact running total ``C``; a record's amount is
``cents(C after it) - cents(C before it)`` with ``round_to_cents`` (half to even).

Consequences, checked by the property tests:
- the amounts of an attempt's resource sum to ``cents(sum of its pieces x rate)`` exactly: the
  bill equals the run time times the rate, rounded once, however the run was cut;
- each record's amount is at most one cent from its exact value, and is the same on every
  re-rating (it depends only on the records before it, which never change);
- usage amounts are never negative, credit amounts never positive.

``rate`` must be given *all* records of each attempt it rates (the output of ``meter``), not
only the new ones: the running total starts at the attempt's first record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from petaport.billing.metering import HOUR_S, RecordKind, UsageRecord
from petaport.billing.prices import PriceBook, ResourceClass
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money, round_to_cents


@dataclass(frozen=True, slots=True)
class Charge:
    """A rated usage record: its unit price (per unit-hour), exact value and billed amount."""

    record: UsageRecord
    unit_price: Decimal
    exact: Fraction
    amount: Money

    @property
    def source_id(self) -> str:
        return self.record.source_id


NOTHING = Fraction(0)


def exact_value(unit_price: Decimal, record: UsageRecord) -> Fraction:
    """Unit price x quantity x billable seconds / 3600, with no rounding at all."""
    numerator, denominator = (unit_price * record.quantity).as_integer_ratio()
    return Fraction(numerator * record.billable_s, denominator * HOUR_S)


def canonical_order(record: UsageRecord) -> tuple[str, str, bool, float, str]:
    """Attempt, resource, usage before credit, then time: the order ratings accumulate in."""
    return (
        record.attempt_id,
        record.resource.value,
        record.kind is RecordKind.CREDIT,
        record.start.timestamp(),
        record.source_id,
    )


def rate(records: Iterable[UsageRecord], book: PriceBook) -> tuple[Charge, ...]:
    """Charges for ``records`` (all records of each attempt), in canonical order."""
    currency = book.currency
    zero = Money.zero(currency)
    # (attempt, resource) -> (exact running total, that total rounded to cents)
    running: dict[tuple[str, ResourceClass], tuple[Fraction, Money]] = {}
    prices: dict[tuple[str, ResourceClass, str | None, QosTier], Decimal] = {}
    out = []
    for record in sorted(records, key=canonical_order):
        which = (record.price_version, record.resource, record.gpu_model, record.tier)
        price = prices.get(which)
        if price is None:
            version = book.get_version(record.price_version)
            price = prices[which] = version.get_price(*which[1:])
        exact = exact_value(price, record)
        key = (record.attempt_id, record.resource)
        before, billed = running.get(key) or (NOTHING, zero)
        after = before + exact
        billed_after = round_to_cents(after, currency)
        running[key] = (after, billed_after)
        out.append(Charge(record, price, exact, billed_after - billed))
    return tuple(out)
