"""The subsidy drawdown: which grant pays how much of each charge (design note 011).

Given a rated charge (list price, GPU-seconds, time), the project's grants and what each grant
has paid so far (``Drawn``: HKD funded, GPU-seconds funded), ``split_charge`` decides the
co-pay ``Split``:

- one grant pays a charge: the first *eligible* grant (same project, active and valid at the
  charge's start, funding the attempt's GPU model, room left under both caps), earliest
  ``valid_until`` first, then by id;
- its share is ``rate x amount`` rounded half-even to cents, for the part of the charge within
  the GPU-hour cap (a charge crossing that cap is funded pro rata up to it), and at most what
  is left of the HKD cap; the rest is the org's, at list price;
- a credit (negative charge, e.g. a preemption credit) mirrors the split of the record it
  credits: the same grant gives back the same share of it, never more than it paid.

Invariants (checked by tests/unit/billing/test_copay.py, a hypothesis property over random
charges, grants and caps):
- ``funder + org == amount`` exactly, both whole cents; the funder part has the charge's sign
  and is never larger than the charge;
- a grant's funded HKD never exceeds its HKD cap nor its funded GPU-seconds its GPU-hour cap;
- nothing is funded outside validity, for a suspended or closed grant, for another project or
  for a GPU model the grant does not fund.
Pure: no I/O, no clock; the same inputs give the same splits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from petaport.billing.ledger import NO_COPAY, CoPay
from petaport.billing.metering import HOUR_S, RecordKind
from petaport.billing.prices import ResourceClass
from petaport.billing.rating import Charge
from petaport.domain.money import Money, round_to_cents
from petaport.domain.subsidy import Grant

ZERO = Decimal(0)
MILLI = Decimal("0.001")
CREDIT_SUFFIX = "/credit"


@dataclass(frozen=True, slots=True)
class Drawn:
    """What a grant has paid so far: HKD (net of credits) and GPU-seconds funded."""

    funded: Decimal = ZERO
    gpu_s: Decimal = ZERO

    def plus(self, split: Split) -> Drawn:
        return Drawn(self.funded + split.funder.amount, self.gpu_s + split.funded_gpu_s)


@dataclass(frozen=True, slots=True)
class Split:
    """The co-pay split of one charge. ``grant_id`` None: the org pays all of it."""

    source_id: str
    amount: Money  # list price
    funder: Money  # the funder's share (negative for a credit)
    grant_id: str | None = None
    funder_id: str | None = None
    funded_gpu_s: Decimal = ZERO  # GPU-seconds the grant funded (negative for a credit)

    @property
    def org(self) -> Money:
        return self.amount - self.funder

    def copay(self) -> CoPay:
        """The ledger's split of this one charge."""
        if self.funder_id is None or self.funder.is_zero:
            return NO_COPAY
        return CoPay(self.funder_id, funder_amount=self.funder)


def gpu_seconds(charge: Charge) -> Decimal:
    r = charge.record
    return r.unit_seconds if r.resource is ResourceClass.GPU_HOUR else ZERO


def cap_gpu_s(grant: Grant) -> Decimal | None:
    return None if grant.cap_gpu_hours is None else grant.cap_gpu_hours * HOUR_S


def room(grant: Grant, drawn: Drawn) -> tuple[Decimal | None, Decimal | None]:
    """(HKD, GPU-seconds) the grant may still fund; None: no such cap."""
    hkd = None if grant.cap is None else max(ZERO, grant.cap.amount - drawn.funded)
    cap_s = cap_gpu_s(grant)
    gpu = None if cap_s is None else max(ZERO, cap_s - drawn.gpu_s)
    return hkd, gpu


def exhausted(grant: Grant, drawn: Drawn) -> bool:
    """A cap is reached: no HKD left, or less than a GPU-millisecond of GPU time."""
    hkd, gpu = room(grant, drawn)
    return (hkd is not None and hkd <= 0) or (gpu is not None and gpu < MILLI)


def eligible(grant: Grant, charge: Charge, gpu_model: str | None, drawn: Drawn) -> bool:
    r = charge.record
    return (
        grant.project_id == r.project_id
        and grant.valid_at(r.start)
        and grant.funds_model(gpu_model)
        and not exhausted(grant, drawn)
    )


def payer(
    grants: Sequence[Grant], charge: Charge, gpu_model: str | None, drawn: Mapping[str, Drawn]
) -> Grant | None:
    """The grant that pays ``charge``: eligible, earliest to expire, then by id."""
    found = [g for g in grants if eligible(g, charge, gpu_model, drawn.get(g.id, Drawn()))]
    return min(found, key=lambda g: (g.valid_until, g.id), default=None)


def split_charge(
    charge: Charge, gpu_model: str | None, grants: Sequence[Grant], drawn: Mapping[str, Drawn]
) -> Split:
    """The split of a usage charge (``gpu_model``: of the attempt, for all its resources)."""
    amount = charge.amount
    zero = Money.zero(amount.currency)
    grant = payer(grants, charge, gpu_model, drawn) if amount.amount >= 0 else None
    if grant is None:
        return Split(charge.source_id, amount, zero)
    hkd_left, gpu_left = room(grant, drawn.get(grant.id, Drawn()))
    gpu_s = gpu_seconds(charge)
    share = Fraction(1)
    if gpu_left is not None and gpu_s > gpu_left:
        share = Fraction(gpu_left) / Fraction(gpu_s)  # crossing the GPU-hour cap: pro rata
    wanted = round_to_cents(Fraction(amount.amount) * Fraction(grant.rate) * share)
    funder = wanted if hkd_left is None or wanted.amount <= hkd_left else Money(hkd_left)
    funded_s = Fraction(gpu_s) * share
    if funder != wanted:  # the HKD cap bites: the funded GPU time shrinks with the money
        funded_s = funded_s * Fraction(funder.amount) / Fraction(wanted.amount)
    return Split(charge.source_id, amount, funder, grant.id, grant.funder_id,
                 _milli_down(funded_s))  # fmt: skip


def split_credit(charge: Charge, original: Split | None) -> Split:
    """A credit gives back the share of the record it credits (``original``), pro rata to
    how much of that record it credits, never more than the grant paid for it."""
    amount = charge.amount
    zero = Money.zero(amount.currency)
    if original is None or original.grant_id is None or original.amount.amount <= 0:
        return Split(charge.source_id, amount, zero)
    part = min(Fraction(1), Fraction(-amount.amount) / Fraction(original.amount.amount))
    back = round_to_cents(Fraction(original.funder.amount) * part)
    back = min(back, original.funder, -amount)
    gpu_back = _milli_down(Fraction(original.funded_gpu_s) * part)
    return Split(charge.source_id, amount, -back, original.grant_id, original.funder_id,
                 -gpu_back)  # fmt: skip


def _milli_down(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(MILLI, rounding=ROUND_DOWN)


def original_id(charge: Charge) -> str | None:
    """The source id a credit record mirrors (None for a usage record)."""
    if charge.record.kind is not RecordKind.CREDIT:
        return None
    return charge.source_id.removesuffix(CREDIT_SUFFIX)


@dataclass(frozen=True)
class Drawdown:
    splits: tuple[Split, ...]
    drawn: Mapping[str, Drawn]  # grant id -> drawn after these charges


def split_all(
    charges: Iterable[Charge],
    models: Mapping[str, str | None],
    grants: Sequence[Grant],
    drawn: Mapping[str, Drawn],
    originals: Mapping[str, Split] | None = None,
) -> Drawdown:
    """Split ``charges`` in the order given, each seeing the drawdown of those before it.
    ``models``: attempt id -> GPU model; ``originals``: earlier splits that credits mirror."""
    state = dict(drawn)
    known = dict(originals or {})
    out = []
    for charge in charges:
        source = original_id(charge)
        if source is not None:
            split = split_credit(charge, known.get(source))
        else:
            split = split_charge(charge, models.get(charge.record.attempt_id), grants, state)
        if split.grant_id is not None:
            state[split.grant_id] = state.get(split.grant_id, Drawn()).plus(split)
        known[charge.source_id] = split
        out.append(split)
    return Drawdown(tuple(out), state)
