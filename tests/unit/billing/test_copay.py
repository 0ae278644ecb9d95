"""The subsidy drawdown core: split tables, caps crossed mid-charge, credits, and the property
that funder part + org part = list price for every charge, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.billing.copay import Drawn, Split, split_all, split_charge, split_credit
from petaport.billing.ledger import BillingMode, Journal, balances, charge_entry
from petaport.billing.metering import RecordKind
from petaport.billing.rating import Charge
from petaport.domain.jobs import JobState, QosTier
from petaport.domain.money import Money
from petaport.domain.subsidy import Grant, GrantStatus, OnCap
from tests.unit.billing.builders import T0, charges, usage

FROM = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2026, 7, 1, tzinfo=UTC)


def grant(
    gid: str = "grt_1", rate: str = "0.70", cap: str | None = None, gpu_hours: str | None = None,
    *, models: frozenset[str] = frozenset(), status: GrantStatus = GrantStatus.ACTIVE,
    project: str = "prj_a", valid: tuple[datetime, datetime] = (FROM, UNTIL),
) -> Grant:  # fmt: skip
    return Grant(gid, "sch_1", "hk-gov", "org_a", project, Decimal(rate), valid[0], valid[1],
                 Money.of(cap) if cap else None, Decimal(gpu_hours) if gpu_hours else None,
                 models, OnCap.BILL_ORG, status)  # fmt: skip


def one_hour(gpus: str = "8", start: datetime = T0 - timedelta(hours=2)) -> Charge:
    """8 H800 GPUs on demand for an hour at HK$25.50: HK$204.00."""
    (c,) = charges(usage(start, 3600, gpus=gpus))
    return c


def split(c: Charge, *grants: Grant, drawn: dict[str, Drawn] | None = None) -> Split:
    return split_charge(c, "H800", grants, drawn or {})


def test_the_funder_pays_the_rate_of_the_list_price_rounded_to_cents() -> None:
    c = one_hour()
    assert c.amount == Money.of("204.00")
    s = split(c, grant(rate="0.70"))
    assert (s.funder, s.org, s.grant_id) == (Money.of("142.80"), Money.of("61.20"), "grt_1")
    assert s.funded_gpu_s == 8 * 3600
    odd = split(one_hour(gpus="0.333"), grant(rate="0.9"))  # 8.4915 -> 7.64235 -> 7.64
    assert (odd.amount, odd.funder, odd.org) == (Money.of("8.49"), Money.of("7.64"),
                                                 Money.of("0.85"))  # fmt: skip


@pytest.mark.parametrize(
    ("why", "g", "model"),
    [
        ("before validity", grant(valid=(T0, UNTIL)), "H800"),
        ("after validity", grant(valid=(FROM, T0 - timedelta(hours=2))), "H800"),
        ("suspended", grant(status=GrantStatus.SUSPENDED), "H800"),
        ("closed", grant(status=GrantStatus.CLOSED), "H800"),
        ("another project", grant(project="prj_b"), "H800"),
        ("a model it does not fund", grant(models=frozenset({"A100"})), "H800"),
        ("CPU work when it funds GPU models only", grant(models=frozenset({"H800"})), None),
        ("the HKD cap used up", grant(cap="100.00"), "H800"),
    ],
)
def test_nothing_is_funded(why: str, g: Grant, model: str | None) -> None:
    drawn = {g.id: Drawn(Decimal("100.00"))}
    s = split_charge(one_hour(), model, [g], drawn)
    assert (s.grant_id, s.funder, s.org) == (None, Money.zero(), Money.of("204.00")), why


def test_a_charge_crossing_the_hkd_cap_funds_up_to_the_cap_and_bills_the_rest() -> None:
    g = grant(cap="1000.00")
    s = split(one_hour(), g, drawn={g.id: Drawn(Decimal("900.00"), Decimal(0))})
    assert (s.funder, s.org) == (Money.of("100.00"), Money.of("104.00"))
    assert s.funded_gpu_s == Decimal("20168.067")  # 28,800 s x 100/142.80, rounded down


def test_a_charge_crossing_the_gpu_hour_cap_is_funded_pro_rata() -> None:
    g = grant(gpu_hours="10")  # 36,000 GPU-s; 34,200 used: 1,800 s of the charge's 28,800
    s = split(one_hour(), g, drawn={g.id: Drawn(Decimal(0), Decimal(34200))})
    assert s.funder == Money.of("8.92")  # 204 x 0.7 x 1/16 = 8.925 -> 8.92 (half to even)
    assert s.org == Money.of("195.08") and s.funded_gpu_s == 1800


def test_the_grant_expiring_first_pays_then_the_next_once_it_is_used_up() -> None:
    late = grant("grt_late", rate="0.5")
    soon = grant("grt_soon", cap="150.00", valid=(FROM, UNTIL - timedelta(days=30)))
    c1, c2 = one_hour(), one_hour(start=T0 - timedelta(hours=1))
    out = split_all([c1, c2], {c1.record.attempt_id: "H800"}, [late, soon], {})
    assert [(s.grant_id, s.funder) for s in out.splits] == [
        ("grt_soon", Money.of("142.80")),
        ("grt_soon", Money.of("7.20")),  # the cap's last HK$7.20; the rest is the org's
    ]
    assert out.drawn["grt_soon"].funded == Decimal("150.00")
    c3 = one_hour(start=T0 - timedelta(hours=3))
    after = split_all([c3], {c3.record.attempt_id: "H800"}, [late, soon], out.drawn)
    assert after.splits[0].grant_id == "grt_late"


def test_a_preemption_credit_gives_back_the_grants_share() -> None:
    u = usage(T0, 5400, tier=QosTier.PREEMPTIBLE, state=JobState.PREEMPTED)
    cs = charges(u)
    assert cs[-1].record.kind is RecordKind.CREDIT
    g = grant(cap="5000.00")
    out = split_all(cs, {u.attempt_id: "H800"}, [g], {})
    usage_split, credit = out.splits[1], out.splits[2]
    assert credit.amount == -usage_split.amount and credit.funder == -usage_split.funder
    assert out.drawn[g.id].funded == out.splits[0].funder.amount
    assert split_credit(cs[-1], None).funder == Money.zero()


def test_each_charge_posts_its_funder_share_to_the_funder_and_the_rest_to_the_org() -> None:
    c = one_hour()
    s = split(c, grant())
    entry = charge_entry(c, "org_a", BillingMode.POSTPAID, s.copay())
    assert entry is not None
    legs = {str(p.account): p.amount for p in entry.postings}
    assert legs == {"org_receivable:org_a": Money.of("61.20"),
                    "funder_receivable:hk-gov": Money.of("142.80"),
                    "revenue:centre": Money.of("-204.00")}  # fmt: skip


money_cents = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Charge], list[Grant], dict[str, Drawn]]:
    rates = st.decimals(min_value=0, max_value=1, places=4)
    grants = []
    for i in range(draw(st.integers(1, 3))):
        cap = draw(st.none() | st.integers(1, 100_000))
        hours = draw(st.none() | st.decimals(min_value="0.001", max_value=200, places=3))
        grants.append(Grant(
            f"grt_{i}", "sch_1", f"funder-{i % 2}", "org_a", "prj_a", draw(rates),
            FROM + timedelta(days=draw(st.integers(0, 40))), UNTIL, Money(Decimal(cap) / 100)
            if cap else None, hours, frozenset(), OnCap.BILL_ORG,
            draw(st.sampled_from(GrantStatus)),
        ))  # fmt: skip
    drawn = {g.id: Drawn(Decimal(draw(st.integers(0, 50_000))) / 100,
                         Decimal(draw(st.integers(0, 360_000)))) for g in grants}  # fmt: skip
    out: list[Charge] = []
    for n in range(draw(st.integers(1, 12))):
        gpus = str(Decimal(draw(st.integers(1, 16_000))) / 1000)
        start = T0 + timedelta(hours=n)
        seconds = draw(st.integers(1, 3600 * 3))
        state = draw(st.sampled_from([JobState.COMPLETED, JobState.PREEMPTED]))
        u = usage(start, seconds, attempt=f"att_{n}", gpus=gpus, cpus=draw(st.integers(0, 4)),
                  tier=draw(st.sampled_from(QosTier)), state=state)  # fmt: skip
        out.extend(charges(u))
    return out, grants, drawn


@settings(max_examples=400, deadline=None)
@given(scenario())
def test_funder_plus_org_is_the_list_price_exactly_and_caps_hold(
    case: tuple[list[Charge], list[Grant], dict[str, Drawn]],
) -> None:
    cs, grants, drawn = case
    out = split_all(cs, {c.record.attempt_id: "H800" for c in cs}, grants, drawn)
    journal = Journal()
    for c, s in zip(cs, out.splits, strict=True):
        assert s.funder + s.org == c.amount and s.org.amount == s.org.amount.quantize(
            Decimal("0.01")
        )
        assert abs(s.funder.amount) <= abs(c.amount.amount)
        assert s.funder.amount * c.amount.amount >= 0
        entry = charge_entry(c, "org_a", BillingMode.PREPAID, s.copay())
        if entry is not None:
            journal.post(entry)
    for g in grants:
        before, after = drawn[g.id], out.drawn.get(g.id, drawn[g.id])
        if g.cap is not None:
            assert after.funded <= max(g.cap.amount, before.funded)
        if g.cap_gpu_hours is not None:
            assert after.gpu_s <= max(g.cap_gpu_hours * 3600, before.gpu_s)
        if g.status is not GrantStatus.ACTIVE:
            assert after == before
    totals = balances(journal.entries)
    assert sum((m.amount for m in totals.values()), Decimal(0)) == 0
    funded = sum((s.funder.amount for s in out.splits), Decimal(0))
    receivable = sum((m.amount for a, m in totals.items() if a.kind.value == "funder_receivable"),
                     Decimal(0))  # fmt: skip
    assert receivable == funded
