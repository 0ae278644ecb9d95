"""``ledger.usage_entries`` sums a batch's legs with plain keys; this checks, over random
batches (usage across a Hong Kong month start, preemption credits, zero charges, one co-pay
for all or a split per charge: by rate or a fixed funder share), that it gives the very entries
the summing it replaced gave (kept here as the reference): the same ids, dates and postings in
the same order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.billing.ledger import (
    NO_COPAY,
    BillingMode,
    CoPay,
    EntryKind,
    JournalEntry,
    Posting,
    _charge_legs,
    usage_entries,
)
from petaport.billing.rating import Charge
from petaport.domain.jobs import JobState, QosTier
from petaport.domain.money import Money

from .builders import T0, charges, usage


def entries_as_before(
    charges: Iterable[Charge], org_id: str, mode: BillingMode, copay: Mapping[str, CoPay]
) -> list[tuple[JournalEntry, tuple[str, ...]]]:
    """``usage_entries`` before plain keys: legs summed under (Account, currency)."""
    months: dict[str, list[Charge]] = {}
    for charge in charges:
        months.setdefault(charge.record.month, []).append(charge)
    out = []
    for group in months.values():
        legs: dict[tuple[object, str], Decimal] = {}
        for charge in group:
            for account, money in _charge_legs(
                charge, org_id, mode, copay.get(charge.source_id, NO_COPAY)
            ):
                legs[account, money.currency] = (
                    legs.get((account, money.currency), Decimal(0)) + money.amount
                )
        if not any(legs.values()):
            continue
        first = min(group, key=lambda c: (c.record.start, c.source_id))
        postings = tuple(Posting(a, Money(v, cur)) for (a, cur), v in legs.items() if v)  # type: ignore[arg-type]
        entry = JournalEntry(
            f"je_usage/{first.source_id}", EntryKind.CHARGE, first.record.start, org_id, postings
        )
        out.append((entry, tuple(c.source_id for c in group)))
    return out


attempts = st.lists(
    st.tuples(
        st.integers(-120, 600),  # start, minutes from T0 (HK February starts at T0 + 4 h)
        st.integers(0, 6 * 3600),
        st.sampled_from(
            [(QosTier.ON_DEMAND, JobState.COMPLETED), (QosTier.PREEMPTIBLE, JobState.PREEMPTED)]
        ),
        st.sampled_from(["0.001", "0.5", "1", "8"]),
    ),
    min_size=1,
    max_size=6,
)
splits = st.sampled_from(["none", "rate", "fixed", "other funder"])


@settings(max_examples=150, deadline=None)
@given(attempts, st.lists(splits, min_size=1), st.sampled_from(list(BillingMode)))
def test_usage_entries_are_those_of_the_summing_they_replaced(
    runs: list[tuple[int, int, tuple[QosTier, JobState], str]], kinds: list[str], mode: BillingMode
) -> None:
    cs = [
        c
        for i, (minutes, seconds, (tier, state), gpus) in enumerate(runs)
        for c in charges(usage(T0 + timedelta(minutes=minutes), seconds, attempt=f"att_{i}",
                               tier=tier, state=state, gpus=gpus))
    ]  # fmt: skip
    copays: dict[str, CoPay] = {}
    for i, c in enumerate(cs):
        kind = kinds[i % len(kinds)]
        if kind == "rate":
            copays[c.source_id] = CoPay("fund_aiss", Decimal("0.7"))
        elif kind == "fixed":  # a grant's share under its cap: here a third, in whole cents
            share = (c.amount.amount / 3).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
            copays[c.source_id] = CoPay("fund_aiss", funder_amount=Money(share))
        elif kind == "other funder":
            copays[c.source_id] = CoPay("fund_hk", Decimal("0.25"))
    assert usage_entries(cs, "org_a", mode, copays) == entries_as_before(cs, "org_a", mode, copays)
    one = CoPay("fund_aiss", Decimal("0.9"))
    assert usage_entries(cs, "org_a", mode, one) == entries_as_before(
        cs, "org_a", mode, {c.source_id: one for c in cs}
    )
