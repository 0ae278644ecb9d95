"""The ledger: balanced entries by construction, idempotent posting, co-pay split, reversals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from petaport.billing.ledger import (
    CASH,
    CREDIT_NOTES,
    PROMOTIONS,
    REVENUE,
    Account,
    AccountKind,
    BillingMode,
    CoPay,
    EntryKind,
    Journal,
    JournalEntry,
    Posting,
    balances,
    billed_for,
    charge_entry,
    org_account,
    plan_fee_entry,
    reversal,
    top_up_entry,
    trial_credit_entry,
    usage_entries,
)
from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.jobs import JobState, QosTier
from petaport.domain.money import Money

from .builders import T0, charges, usage

PREPAID = org_account("org_a", BillingMode.PREPAID)
RECEIVABLE = org_account("org_a", BillingMode.POSTPAID)
FUNDER = Account(AccountKind.FUNDER_RECEIVABLE, "fund_aiss")


def test_an_unbalanced_entry_cannot_exist() -> None:
    with pytest.raises(ValidationFailed, match="balance"):
        JournalEntry("je_x", EntryKind.TOP_UP, T0, "org_a",
                     (Posting(CASH, Money.of(10)), Posting(PREPAID, Money.of(-9))))  # fmt: skip
    with pytest.raises(ValidationFailed, match="two or more"):
        JournalEntry("je_x", EntryKind.TOP_UP, T0, "org_a", (Posting(CASH, Money.zero()),))


def test_a_charge_debits_the_org_and_credits_revenue() -> None:
    (c,) = charges(usage(T0, 3600, gpus="1"))
    entry = charge_entry(c, "org_a", BillingMode.POSTPAID)
    assert entry is not None and entry.id == f"je_charge/{c.source_id}"
    assert {(p.account, p.amount) for p in entry.postings} == {
        (RECEIVABLE, Money.of("25.50")),
        (REVENUE, Money.of("-25.50")),
    }


@pytest.mark.parametrize(
    ("rate", "amount", "org", "funder"),
    [
        ("0.7", "25.50", "7.65", "17.85"),
        ("0.9", "0.05", "0.01", "0.04"),  # 0.045 -> 0.04 (half-even); the org pays the rest
        ("0", "25.50", "25.50", "0.00"),
    ],
)
def test_the_co_pay_split_is_exact(rate: str, amount: str, org: str, funder: str) -> None:
    split = CoPay("fund_aiss", Decimal(rate)).split(Money.of(amount))
    assert split == (Money.of(org), Money.of(funder))


def test_a_co_paid_charge_debits_the_funder_its_share() -> None:
    (c,) = charges(usage(T0, 3600, gpus="1"))
    entry = charge_entry(c, "org_a", BillingMode.PREPAID, CoPay("fund_aiss", Decimal("0.7")))
    assert entry is not None
    assert balances([entry]) == {
        PREPAID: Money.of("7.65"),
        FUNDER: Money.of("17.85"),
        REVENUE: Money.of("-25.50"),
    }


def test_a_co_pay_needs_a_funder_and_a_rate_between_0_and_1() -> None:
    with pytest.raises(ValidationFailed):
        CoPay(None, Decimal("0.7"))
    with pytest.raises(ValidationFailed):
        CoPay("fund_aiss", Decimal("1.1"))


def test_top_up_then_charges_draw_down_the_prepaid_balance() -> None:
    journal = Journal([top_up_entry("org_a", Money.of(1000), T0, "pay_1")])
    for c in charges(usage(T0, 7200, gpus="1")):
        entry = charge_entry(c, "org_a", BillingMode.PREPAID)
        assert entry is not None and journal.post(entry)
    assert balances(journal.entries)[PREPAID] == Money.of("-949.00")  # 1000 - 2 x 25.50


def test_posting_a_replayed_entry_is_a_no_op_and_a_clashing_one_conflicts() -> None:
    journal = Journal()
    assert journal.post(top_up_entry("org_a", Money.of(10), T0, "pay_1"))
    assert not journal.post(top_up_entry("org_a", Money.of(10), T0, "pay_1"))
    with pytest.raises(Conflict):
        journal.post(top_up_entry("org_a", Money.of(11), T0, "pay_1"))
    assert len(journal) == 1


def test_a_reversal_is_a_new_entry_through_credit_notes() -> None:
    (c,) = charges(usage(T0, 3600, gpus="1"))
    entry = charge_entry(c, "org_a", BillingMode.POSTPAID)
    assert entry is not None
    undo = reversal(entry, T0 + timedelta(days=1), "disputed")
    assert undo.reverses == entry.id and undo.kind is EntryKind.CREDIT_NOTE
    net = balances([entry, undo])
    assert net[RECEIVABLE] == Money.zero()
    assert (net[REVENUE], net[CREDIT_NOTES]) == (Money.of("-25.50"), Money.of("25.50"))


def test_trial_credit_and_plan_fee_entries() -> None:
    trial = trial_credit_entry("org_a", Money.of(500), T0, "trial")
    fee = plan_fee_entry("org_a", BillingMode.POSTPAID, Money.of(1800), T0, "poc/2026-01")
    net = balances([trial, fee])
    assert (net[PROMOTIONS], net[PREPAID]) == (Money.of(500), Money.of(-500))
    assert billed_for([trial, fee], "org_a", "2026-01") == Money.of(1800)


def test_accounts_of_an_org_need_their_owner() -> None:
    with pytest.raises(ValidationFailed):
        Account(AccountKind.ORG_PREPAID)
    with pytest.raises(ValidationFailed):
        Account(AccountKind.REVENUE, "org_a")


@pytest.mark.parametrize("copay", [CoPay(), CoPay("fund_aiss", Decimal("0.7"))])
@pytest.mark.parametrize("mode", [BillingMode.PREPAID, BillingMode.POSTPAID])
def test_usage_entries_post_what_one_entry_per_charge_would(
    copay: CoPay, mode: BillingMode
) -> None:
    """Across a Hong Kong month start, with a preemption credit and a zero charge: one entry
    per month, each account moved by exactly the sum of the per-charge entries."""
    cs = [
        *charges(usage(T0, 7 * 3600 + 17, gpus="3")),  # 20:00 HK, into February
        *charges(usage(T0 + timedelta(minutes=5), 1801, attempt="att_2", job="job_2",
                       tier=QosTier.PREEMPTIBLE, state=JobState.PREEMPTED, gpus="1")),
        *charges(usage(T0, 1, attempt="att_3", job="job_3", gpus="0.001", model=None)),
    ]  # fmt: skip
    assert any(c.amount.is_zero for c in cs) and any(c.amount.amount < 0 for c in cs)
    posted = usage_entries(cs, "org_a", mode, copay)
    singles = [e for c in cs if (e := charge_entry(c, "org_a", mode, copay)) is not None]
    assert balances(e for e, _ in posted) == balances(singles)
    assert sorted(e.month for e, _ in posted) == ["2026-01", "2026-02"]
    covered = [sid for _, sids in posted for sid in sids]
    assert sorted(covered) == sorted(c.source_id for c in cs)  # each charge once
    for entry, sids in posted:
        first = min((c for c in cs if c.source_id in sids),
                    key=lambda c: (c.record.start, c.source_id))  # fmt: skip
        assert entry.id == f"je_usage/{first.source_id}" and entry.at == first.record.start
        assert {c.record.month for c in cs if c.source_id in sids} == {entry.month}
        assert entry.kind is EntryKind.CHARGE and entry.org_id == "org_a"
    assert billed_for([e for e, _ in posted], "org_a", "2026-01") == billed_for(
        singles, "org_a", "2026-01"
    )


def test_usage_entries_of_nothing_but_zero_charges_are_none() -> None:
    zero = [c for c in charges(usage(T0, 1, gpus="0.001", model=None)) if c.amount.is_zero]
    assert zero and usage_entries(zero, "org_a", BillingMode.POSTPAID) == []
