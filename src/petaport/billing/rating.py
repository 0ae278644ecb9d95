"""Rating: price usage records exactly, rounding to cents in one stated place.

A record's exact value is ``unit price x quantity x billable seconds / 3600`` (a rational
number, no rounding). Records are rated per attempt and resource in a canonical order (usage by
start, then credits), keeping the exact running total ``C``; a record's amount is
``cents(C after it) - cents(C before it)``, rounded half to even as ``round_to_cents`` does.

The running total is kept as an integer numerator over an integer denominator (``price x
quantity`` as an integer ratio, times the seconds, over 3,600): exact rational arithmetic with
plain ``int``s, the same value a ``Fraction`` would hold, without normalising it at every step
(a Fraction per record was a third of the core's time at a million records). The rounding is
the integer form of ``round_to_cents``; ``Charge.exact`` gives the exact value as a Fraction.

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

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from petaport.billing.metering import HOUR_S, RecordKind, UsageRecord
from petaport.billing.prices import PriceBook, ResourceClass
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money


@dataclass(frozen=True, slots=True)
class Charge:
    """A rated usage record: its unit price (per unit-hour) and billed amount."""

    record: UsageRecord
    unit_price: Decimal
    amount: Money

    @property
    def source_id(self) -> str:
        return self.record.source_id

    @property
    def exact(self) -> Fraction:
        """The record's value before any rounding."""
        return exact_value(self.unit_price, self.record)


def exact_value(unit_price: Decimal, record: UsageRecord) -> Fraction:
    """Unit price x quantity x billable seconds / 3600, with no rounding at all."""
    numerator, denominator = (unit_price * record.quantity).as_integer_ratio()
    return Fraction(numerator * record.billable_s, denominator * HOUR_S)


def half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) rounded to an integer, half to even: the
    rule of ``round_to_cents``, on integers."""
    quotient, rest = divmod(numerator, denominator)
    if 2 * rest > denominator or (2 * rest == denominator and quotient % 2):
        quotient += 1
    return quotient


@lru_cache(maxsize=65536)  # Money is immutable; whole-hour pieces repeat the same amounts
def _money(cents: int, currency: str) -> Money:
    return Money(Decimal(cents).scaleb(-2), currency)


def canonical_order(record: UsageRecord) -> tuple[str, str, bool, float, str]:
    """Attempt, resource, usage before credit, then time: the order ratings accumulate in."""
    return (
        record.attempt_id,
        record.resource.value,
        record.kind is RecordKind.CREDIT,
        record.start.timestamp(),
        record.source_id,
    )


class _Running:
    """The exact running total of one attempt's resource, ``numerator / denominator`` HKD,
    and the cents billed so far (that total rounded)."""

    __slots__ = ("billed", "denominator", "numerator")

    def __init__(self) -> None:
        self.numerator, self.denominator, self.billed = 0, 1, 0

    def add(self, numerator: int, denominator: int) -> int:
        """Add ``numerator / denominator`` HKD; returns the cents this adds to the bill."""
        if denominator == self.denominator:
            self.numerator += numerator
        else:
            common = math.lcm(self.denominator, denominator)
            self.numerator = (self.numerator * (common // self.denominator)
                              + numerator * (common // denominator))  # fmt: skip
            self.denominator = common
        before, self.billed = self.billed, half_even(self.numerator * 100, self.denominator)
        return self.billed - before


def rate(records: Iterable[UsageRecord], book: PriceBook) -> tuple[Charge, ...]:
    """Charges for ``records`` (all records of each attempt), in canonical order."""
    currency = book.currency
    running: dict[tuple[str, ResourceClass], _Running] = {}
    prices: dict[tuple[str, ResourceClass, str | None, QosTier], Decimal] = {}
    ratios: dict[tuple[Decimal, Decimal], tuple[int, int]] = {}  # price x quantity, as n / d
    out = []
    for record in sorted(records, key=canonical_order):
        which = (record.price_version, record.resource, record.gpu_model, record.tier)
        price = prices.get(which)
        if price is None:
            version = book.get_version(record.price_version)
            price = prices[which] = version.get_price(*which[1:])
        ratio = ratios.get((price, record.quantity))
        if ratio is None:
            ratio = ratios[price, record.quantity] = (price * record.quantity).as_integer_ratio()
        key = (record.attempt_id, record.resource)
        total = running.get(key)
        if total is None:
            total = running[key] = _Running()
        cents = total.add(ratio[0] * record.billable_s, ratio[1] * HOUR_S)
        out.append(Charge(record, price, _money(cents, currency)))
    return tuple(out)
