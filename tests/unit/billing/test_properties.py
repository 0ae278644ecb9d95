"""Properties of the money core over random job timelines (at least 10,000 in all).

A timeline is one job: one to four attempts, each started after the previous one ended, each
ending COMPLETED, FAILED (a crash), CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL or PREEMPTED
(then requeued), the last perhaps still running; near the Hong Kong month end, under a price
book whose price changes, minimum and preemption rule are random. For every timeline:

- the billed amount of each attempt and resource equals the run time x the rate in force,
  minimum and credit included, rounded once to cents (an independent oracle), exactly;
- each record lies in one clock hour, one Hong Kong month and one price version;
- metering while the job ran (at a random earlier hour) and again at the end (a replay or a
  crash) yields the same records for the same source ids: nothing billed twice, nothing lost;
- every journal entry balances; posting every entry twice changes nothing; all postings sum
  to zero;
- each invoice total equals the sum of its lines, subsidy plus org share, and the ledger.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.billing.invoices import build_invoice
from petaport.billing.ledger import BillingMode, CoPay, Journal, billed_for, charge_entry
from petaport.billing.metering import (
    HOUR_S,
    NO_MINIMUM,
    AttemptUsage,
    RecordKind,
    UsageRecord,
    meter,
    month_of,
)
from petaport.billing.prices import PreemptionCredit, PriceBook, ResourceClass
from petaport.billing.rating import Charge, rate
from petaport.domain.jobs import JobState, QosTier
from petaport.domain.money import Money, round_to_cents, total

from .builders import T0, version

TIMELINES_PER_EXAMPLE = 50
EXAMPLES = 200  # 200 x 50 = 10,000 timelines
ENDINGS = (
    JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.TIMEOUT,
    JobState.OUT_OF_MEMORY, JobState.NODE_FAIL, JobState.PREEMPTED, JobState.PREEMPTED,
)  # fmt: skip
ORGS = ("org_0", "org_1", "org_2")
COPAYS = (CoPay(), CoPay("fund_aiss", Decimal("0.7")), CoPay("fund_aiss", Decimal("0.9")))
MODES = (BillingMode.PREPAID, BillingMode.POSTPAID, BillingMode.POSTPAID)


def random_book(rng: random.Random) -> PriceBook:
    """A first version long ago and up to two price changes on whole hours around T0."""
    versions = [version("v0", minimum_s=rng.choice((0, 1, 60, 600)),
                        credit=rng.choice(list(PreemptionCredit)))]  # fmt: skip
    hours = sorted(rng.sample(range(-30, 60), rng.randint(0, 2)))
    for i, h in enumerate(hours, start=1):
        scale = rng.choice(("0.5", "1.37", "2"))
        versions.append(version(f"v{i}", T0 + timedelta(hours=h), scale=scale,
                                minimum_s=rng.choice((0, 60, 3600)),
                                credit=rng.choice(list(PreemptionCredit))))  # fmt: skip
    return PriceBook.of(versions)


def duration_s(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.5:
        return rng.randint(0, 900)
    if kind < 0.95:
        return rng.randint(900, 3 * HOUR_S)
    return rng.randint(3 * HOUR_S, 30 * HOUR_S)


def timeline(rng: random.Random, job: str) -> tuple[list[AttemptUsage], datetime]:
    """The attempts of one job, and when it is metered (a last attempt may still run then)."""
    org, tier = rng.choice(ORGS), rng.choice(list(QosTier))
    gpus, model = rng.choice(("0", "0.25", "1", "8")), rng.choice(("H800", "A100"))
    cpus, mem = rng.choice((0, 1, 16)), rng.choice((0, 1000, 65536))
    at = T0 + timedelta(
        seconds=rng.randint(-30 * HOUR_S, 30 * HOUR_S), microseconds=rng.randint(0, 999_999)
    )
    n = rng.randint(1, 4)
    out = []
    for k in range(n):
        end: datetime | None = at + timedelta(
            seconds=duration_s(rng), microseconds=rng.randint(0, 999_999)
        )
        state: JobState | None = rng.choice(ENDINGS)
        if k == n - 1 and rng.random() < 0.15:
            end, state = None, None  # still running when metered
        project = f"{org}/prj_{rng.randint(0, 1)}"
        out.append(AttemptUsage(f"{job}.{k}", job, org, project, tier, at, end, state,
                                Decimal(gpus), model, cpus, mem))  # fmt: skip
        if end is not None:
            at = end + timedelta(seconds=rng.randint(0, 2 * HOUR_S))
    return out, at + timedelta(seconds=duration_s(rng))


def _s(instant: datetime) -> int:
    return int(instant.timestamp() // 1)


def oracle(u: AttemptUsage, book: PriceBook, now: datetime) -> dict[str, Fraction]:
    """Exact amount per resource: the run's seconds x the rate in force, minimum, credit."""
    start = _s(u.started_at)
    end = max(start, _s(u.ended_at)) if u.ended_at else max(start, _s(now) // HOUR_S * HOUR_S)
    last = start if end == start else max(start, (end - 1) // HOUR_S * HOUR_S)
    terms = book.version_at(datetime.fromtimestamp(last, UTC))
    out = {}
    for resource, model, qty in u.quantities():

        def at(
            second: int, resource: ResourceClass = resource, model: str | None = model
        ) -> Fraction:
            """The rate in force at ``second``, straight from the book."""
            v = book.version_at(datetime.fromtimestamp(second, UTC))
            return Fraction(v.get_price(resource, model, u.tier))

        cuts = sorted(
            {start, end}
            | {_s(v.effective_from) for v in book.versions if start < _s(v.effective_from) < end}
        )
        exact = sum((at(a) * (b - a) for a, b in itertools.pairwise(cuts)), Fraction(0))
        if u.ended_at is not None and u.end_state not in NO_MINIMUM:
            exact += at(last) * max(0, terms.minimum_billable_s - (end - start))
        if (
            u.ended_at is not None
            and u.end_state is JobState.PREEMPTED
            and u.tier is QosTier.PREEMPTIBLE
        ):
            if terms.preemption_credit is PreemptionCredit.FULL:
                exact = Fraction(0)
            elif terms.preemption_credit is PreemptionCredit.LAST_PARTIAL_HOUR and end % HOUR_S:
                exact -= at(last) * (end - last)
        out[resource.value] = exact * Fraction(qty) / HOUR_S
    return out


def check_records(
    u: AttemptUsage,
    book: PriceBook,
    now: datetime,
    records: tuple[UsageRecord, ...],
    rng: random.Random,
) -> None:
    for r in records:
        last_second = r.end - timedelta(seconds=1) if r.end > r.start else r.start
        assert r.start.timestamp() // HOUR_S == last_second.timestamp() // HOUR_S
        assert month_of(last_second) == r.month == month_of(r.start)
        assert book.version_at(last_second).id == r.price_version
    # hourly metering while it ran, then a replay at the end: same ids, same records
    final = {r.source_id: r for r in records}
    assert len(final) == len(records)
    end = u.ended_at or now
    mid = u.started_at + (end - u.started_at) * rng.random()
    running = AttemptUsage(u.attempt_id, u.job_id, u.org_id, u.project_id, u.tier, u.started_at,
                           None, None, u.gpus, u.gpu_model, u.cpus, u.memory_mib)  # fmt: skip
    for early in meter(running, book, mid):
        assert final[early.source_id] == early


def check_amounts(
    u: AttemptUsage, book: PriceBook, now: datetime, charges: tuple[Charge, ...]
) -> None:
    by_resource: dict[str, list[Money]] = defaultdict(list)
    for c in charges:
        by_resource[c.record.resource.value].append(c.amount)
        assert abs(Fraction(c.amount.amount) - c.exact) <= Fraction(1, 100)
        assert (c.amount.amount >= 0) == (c.record.kind is RecordKind.USAGE) or c.amount.is_zero
    for resource, exact in oracle(u, book, now).items():
        assert total(by_resource.get(resource, [])) == round_to_cents(exact), (u, resource)


def check_ledger_and_invoices(charges: list[Charge]) -> None:
    journal = Journal()
    copay = dict(zip(ORGS, COPAYS, strict=True))
    mode = dict(zip(ORGS, MODES, strict=True))
    entries = [
        charge_entry(c, c.record.org_id, mode[c.record.org_id], copay[c.record.org_id])
        for c in charges
    ]
    posted = [e for e in entries if e is not None]
    for entry in posted + posted:  # every entry twice: a replay
        journal.post(entry)
    assert len(journal) == len(posted) == len({e.id for e in posted})
    assert total(p.amount for e in journal.entries for p in e.postings) == Money.zero()
    by_org: dict[str, list[object]] = defaultdict(list)
    for e in journal.entries:
        by_org[e.org_id or ""].append(e)
    for org in ORGS:
        months = {c.record.month for c in charges if c.record.org_id == org}
        billed = Money.zero()
        for month in months:
            invoice = build_invoice(org, month, charges, copay=copay[org])
            assert invoice.total == total(line.amount for line in invoice.lines)
            assert invoice.subsidy_total + invoice.org_total == invoice.total
            assert invoice.total == billed_for(by_org[org], org, month)  # type: ignore[arg-type]
            billed += invoice.total
        assert billed == total(c.amount for c in charges if c.record.org_id == org)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_timelines_bill_exactly_and_reconcile(seed: int) -> None:
    rng = random.Random(seed)
    book = random_book(rng)
    all_charges: list[Charge] = []
    for j in range(TIMELINES_PER_EXAMPLE):
        attempts, now = timeline(rng, f"job_{j}")
        for u in attempts:
            records = meter(u, book, now)
            check_records(u, book, now, records, rng)
            charges = rate(records, book)
            check_amounts(u, book, now, charges)
            all_charges.extend(charges)
    check_ledger_and_invoices(all_charges)
