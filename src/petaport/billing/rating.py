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
from petaport.billing.prices import PriceBook
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


def exact_value(unit_price: Decimal, record: UsageRecord) -> Fraction:
    """Unit price x quantity x billable seconds / 3600, with no rounding at all."""
    return Fraction(unit_price * record.quantity) * record.billable_s / HOUR_S


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
    running: dict[tuple[str, str], Fraction] = {}
    out = []
    for record in sorted(records, key=canonical_order):
        version = book.get_version(record.price_version)
        price = version.get_price(record.resource, record.gpu_model, record.tier)
        exact = exact_value(price, record)
        key = (record.attempt_id, record.resource.value)
        before = running.get(key, Fraction(0))
        running[key] = after = before + exact
        amount = round_to_cents(after, book.currency) - round_to_cents(before, book.currency)
        out.append(Charge(record, price, exact, amount))
    return tuple(out)
