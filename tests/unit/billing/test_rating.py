"""``rating.rate`` keeps its running totals as integer ratios; this checks it against the
Fraction arithmetic it replaced (kept here as the reference), over random records: prices with
up to four decimals and three price versions, GPU shares in thousandths, memory in MiB / 1024,
seconds from 0 to 30 hours, credits (negative seconds), several attempts and resources mixed.
Every charge must come out in the same order with the same amount, to the cent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.billing.metering import RecordKind, UsageRecord, month_of
from petaport.billing.prices import PriceBook, PriceKey, ResourceClass, price_version
from petaport.billing.rating import canonical_order, exact_value, half_even, rate
from petaport.domain.money import Money, round_to_cents

from .builders import CPU, GPU, MEM, OD, PE, R

T = datetime(2026, 3, 1, tzinfo=UTC)
TIERS = (R, OD, PE)


def fraction_rate(records: Iterable[UsageRecord], book: PriceBook) -> list[tuple[str, Money]]:
    """The rating rule with Fractions and ``round_to_cents`` (the implementation before
    integer ratios): (source id, amount) in canonical order."""
    running: dict[tuple[str, ResourceClass], tuple[Fraction, Money]] = {}
    out = []
    for record in sorted(records, key=canonical_order):
        price = book.get_version(record.price_version).get_price(
            record.resource, record.gpu_model, record.tier
        )
        key = (record.attempt_id, record.resource)
        before, billed = running.get(key) or (Fraction(0), Money.zero(book.currency))
        after = before + exact_value(price, record)
        billed_after = round_to_cents(after, book.currency)
        running[key] = (after, billed_after)
        out.append((record.source_id, billed_after - billed))
    return out


prices = st.decimals(min_value=0, max_value=Decimal("99.9999"), places=4)
quantities = st.one_of(
    st.integers(1, 64_000).map(lambda k: Decimal(k) / 1000),  # GPUs in thousandths
    st.integers(1, 4_096_000).map(lambda k: Decimal(k) / 1024),  # memory GiB from MiB
    st.integers(1, 256).map(Decimal),  # CPU cores
)


@st.composite
def books(draw: st.DrawFn) -> PriceBook:
    versions = []
    for i in range(draw(st.integers(1, 3))):
        table = {
            PriceKey(res, None, tier): draw(prices) for res in (GPU, CPU, MEM) for tier in TIERS
        }
        versions.append(price_version(f"v{i}", T + timedelta(hours=i), table))
    return PriceBook.of(versions)


@st.composite
def records(draw: st.DrawFn, book: PriceBook) -> list[UsageRecord]:
    out = []
    for n in range(draw(st.integers(1, 60))):
        attempt, resource = f"att_{draw(st.integers(0, 3))}", draw(st.sampled_from((GPU, CPU, MEM)))
        start = T + timedelta(seconds=draw(st.integers(0, 4 * 3600)))
        credit = draw(st.booleans()) and n > 0
        seconds = draw(st.integers(0, 30 * 3600)) * (-1 if credit else 1)
        version = draw(st.sampled_from(book.versions)).id
        out.append(UsageRecord(
            f"{attempt}/{resource}/{n}", RecordKind.CREDIT if credit else RecordKind.USAGE,
            "org_a", "prj_a", "job_a", attempt, resource, None, draw(st.sampled_from(TIERS)),
            draw(quantities), start, start + timedelta(seconds=abs(seconds)), seconds, version,
            month_of(start),
        ))  # fmt: skip
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_integer_rating_equals_fraction_rating(data: st.DataObject) -> None:
    book = data.draw(books())
    recs = data.draw(records(book))
    charges = rate(recs, book)
    assert [(c.source_id, c.amount) for c in charges] == fraction_rate(recs, book)
    for c in charges:  # the exact value is still there, a cent or less from the amount
        assert abs(Fraction(c.amount.amount) - c.exact) <= Fraction(1, 100)


@given(st.integers(-(10**24), 10**24), st.integers(1, 10**20), st.booleans())
def test_half_even_is_round_to_cents(numerator: int, denominator: int, tie: bool) -> None:
    if tie:  # exactly half a cent over a whole number of cents
        numerator, denominator = numerator * 2 + 1, 200
    cents = half_even(numerator * 100, denominator)
    assert Money(Decimal(cents).scaleb(-2)) == round_to_cents(Fraction(numerator, denominator))


def test_half_even_ties_go_to_even() -> None:
    assert [half_even(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert half_even(2_500_001, 1_000_000) == 3
