"""The ledger: a double-entry, append-only journal of every money movement.

A ``JournalEntry`` holds ``Posting``s (positive: debit, negative: credit) that sum to zero:
its constructor raises otherwise, so an unbalanced entry cannot exist. Corrections are new
entries (a ``reversal`` posts to CREDIT_NOTES, a contra-revenue account); nothing is edited.
Entry ids derive from their source (``je_charge/<usage source id>``), so ``post`` of a replayed
entry is a no-op and the same source can never be billed twice.

Accounts and their normal balances:
- ORG_PREPAID (per org, liability, credit balance): money an org paid ahead, spent by charges;
- ORG_RECEIVABLE (per org, asset, debit balance): what a post-paid org owes;
- FUNDER_RECEIVABLE (per funder, asset): the funder's share of co-paid charges;
- REVENUE (credit balance), CREDIT_NOTES (contra-revenue, debit balance);
- PROMOTIONS (expense): free trial credit given away; CASH (asset): money received.

The co-pay hook: ``CoPay`` splits each charge into an org share and a funder share, both whole
cents, summing to the charge exactly. ``NO_COPAY`` (funder share 0) until the subsidy issue.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from petaport.billing.metering import month_of
from petaport.billing.rating import Charge
from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.money import HKD, Money, round_to_cents, total


class AccountKind(enum.StrEnum):
    ORG_PREPAID = "org_prepaid"
    ORG_RECEIVABLE = "org_receivable"
    FUNDER_RECEIVABLE = "funder_receivable"
    REVENUE = "revenue"
    CREDIT_NOTES = "credit_notes"
    PROMOTIONS = "promotions"
    CASH = "cash"


OWNED = frozenset({AccountKind.ORG_PREPAID, AccountKind.ORG_RECEIVABLE})
INCOME = frozenset({AccountKind.REVENUE, AccountKind.CREDIT_NOTES})


class BillingMode(enum.StrEnum):
    PREPAID = "prepaid"  # charges draw down a balance topped up in advance
    POSTPAID = "postpaid"  # charges accrue as a receivable, invoiced monthly (credit limit)


class EntryKind(enum.StrEnum):
    CHARGE = "charge"
    TOP_UP = "top_up"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    TRIAL_CREDIT = "trial_credit"
    PLAN_FEE = "plan_fee"


@dataclass(frozen=True)
class Account:
    kind: AccountKind
    owner: str | None = None  # the org id (or funder id); None for the centre's own accounts

    def __post_init__(self) -> None:
        needs_owner = self.kind in OWNED or self.kind is AccountKind.FUNDER_RECEIVABLE
        if needs_owner != (self.owner is not None):
            raise ValidationFailed(
                f"account {self.kind} {'needs' if needs_owner else 'has no'} owner"
            )

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner or 'centre'}"


REVENUE = Account(AccountKind.REVENUE)
CREDIT_NOTES = Account(AccountKind.CREDIT_NOTES)
PROMOTIONS = Account(AccountKind.PROMOTIONS)
CASH = Account(AccountKind.CASH)


@lru_cache(maxsize=4096)  # pure, and an Account is immutable: one per org and mode
def org_account(org_id: str, mode: BillingMode) -> Account:
    kind = AccountKind.ORG_PREPAID if mode is BillingMode.PREPAID else AccountKind.ORG_RECEIVABLE
    return Account(kind, org_id)


@dataclass(frozen=True)
class Posting:
    account: Account
    amount: Money  # positive: debit; negative: credit


@dataclass(frozen=True)
class JournalEntry:
    id: str
    kind: EntryKind
    at: datetime  # when the money moved (for a charge: the start of the usage it bills)
    org_id: str | None
    postings: tuple[Posting, ...]
    memo: str = ""
    reverses: str | None = None
    month: str = field(init=False)  # Hong Kong month of ``at``

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValidationFailed("journal entries need timezone-aware times")
        if len(self.postings) < 2 or any(p.amount.is_zero for p in self.postings):
            raise ValidationFailed("a journal entry has two or more non-zero postings")
        currency = self.postings[0].amount.currency
        if not total((p.amount for p in self.postings), currency).is_zero:
            raise ValidationFailed(f"journal entry {self.id} does not balance")
        object.__setattr__(self, "month", month_of(self.at))


def _entry(
    entry_id: str, kind: EntryKind, at: datetime, org_id: str | None, *legs: tuple[Account, Money]
) -> JournalEntry:
    postings = tuple(Posting(a, m) for a, m in legs if not m.is_zero)
    return JournalEntry(entry_id, kind, at, org_id, postings)


@dataclass(frozen=True)
class CoPay:
    """Split of each charge: ``funder_rate`` of it (rounded half-even to cents) to the funder,
    or, when ``funder_amount`` is given, exactly that amount (the share the subsidy drawdown,
    ``billing.copay``, decided for one charge under its grant's caps)."""

    funder_id: str | None = None
    funder_rate: Decimal = Decimal(0)
    funder_amount: Money | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.funder_rate <= Decimal(1):
            raise ValidationFailed("a funder rate is between 0 and 1")
        fixed = self.funder_amount is not None and not self.funder_amount.is_zero
        if (self.funder_rate or fixed) and self.funder_id is None:
            raise ValidationFailed("a funder share needs a funder")

    def split(self, amount: Money) -> tuple[Money, Money]:
        """(org share, funder share): whole cents each, summing to ``amount`` exactly."""
        if self.funder_amount is not None:
            funder = self.funder_amount
            if abs(funder.amount) > abs(amount.amount) or funder.amount * amount.amount < 0:
                raise ValidationFailed("a funder share has the charge's sign and is within it")
            return amount - funder, funder
        if not self.funder_rate:
            return amount, Money.zero(amount.currency)
        funder = round_to_cents(amount.amount * self.funder_rate, amount.currency)
        return amount - funder, funder


NO_COPAY = CoPay()
ZERO = Decimal(0)


def _charge_legs(
    charge: Charge, org_id: str, mode: BillingMode, copay: CoPay
) -> list[tuple[Account, Money]]:
    amount = charge.amount
    org_share, funder_share = copay.split(amount)
    income = REVENUE if amount.amount > 0 else CREDIT_NOTES
    legs = [(org_account(org_id, mode), org_share), (income, -amount)]
    if copay.funder_id:
        legs.append((Account(AccountKind.FUNDER_RECEIVABLE, copay.funder_id), funder_share))
    return legs


def charge_entry(
    charge: Charge, org_id: str, mode: BillingMode, copay: CoPay = NO_COPAY
) -> JournalEntry | None:
    """The entry for one rated record (None for a zero amount). A credit record (negative)
    debits CREDIT_NOTES instead of reducing REVENUE."""
    if charge.amount.is_zero:
        return None
    return _entry(f"je_charge/{charge.source_id}", EntryKind.CHARGE, charge.record.start,
                  org_id, *_charge_legs(charge, org_id, mode, copay))  # fmt: skip


def usage_entries(
    charges: Iterable[Charge],
    org_id: str,
    mode: BillingMode,
    copay: CoPay | Mapping[str, CoPay] = NO_COPAY,
) -> list[tuple[JournalEntry, tuple[str, ...]]]:
    """The charges of one org posted together: one entry per Hong Kong month, each account
    getting the sum of the legs ``charge_entry`` gives each charge (so balances, revenue,
    credit notes and funder shares are the same, cent for cent). The entry is dated at its
    earliest record's start (in its month) and named after that record's source id (unique,
    as source ids are): ``je_usage/<source id>``. Returns each entry with the source ids it
    covers; a month whose charges sum to nothing on every account gets none. ``copay`` is one
    split for every charge, or each charge's by source id (absent: ``NO_COPAY``)."""
    months: dict[str, list[Charge]] = {}
    for charge in charges:
        months.setdefault(charge.record.month, []).append(charge)
    out = []
    for group in months.values():
        legs = _summed_legs(group, org_account(org_id, mode), copay)
        if not any(legs.values()):
            continue
        first = min(group, key=lambda c: (c.record.start, c.source_id))
        entry = _entry(f"je_usage/{first.source_id}", EntryKind.CHARGE, first.record.start,
                       org_id, *((a, Money(v, cur)) for (a, cur), v in legs.items()))  # fmt: skip
        out.append((entry, tuple(c.source_id for c in group)))
    return out


def _summed_legs(
    group: Iterable[Charge], org: Account, copay: CoPay | Mapping[str, CoPay]
) -> dict[tuple[Account, str], Decimal]:
    """Each account's sum of the legs ``_charge_legs`` gives each charge, in the order the
    accounts first appear there (whole cents: sums stay exact). Keyed by plain strings while
    summing: hashing an ``Account`` per leg was most of the time of a large batch."""
    sums: dict[tuple[str, str, str], Decimal] = {}  # (kind, owner, currency) -> cents
    for charge in group:
        split = copay.get(charge.source_id, NO_COPAY) if isinstance(copay, Mapping) else copay
        amount = charge.amount
        cur = amount.currency
        if split is NO_COPAY:
            org_share, funder_share = amount.amount, ZERO
        else:
            org_money, funder_money = split.split(amount)
            org_share, funder_share = org_money.amount, funder_money.amount
        income = "revenue" if amount.amount > 0 else "credit_notes"
        for key, value in ((("org", "", cur), org_share), ((income, "", cur), -amount.amount)):
            sums[key] = sums.get(key, ZERO) + value
        if split.funder_id:
            key = ("funder", split.funder_id, cur)
            sums[key] = sums.get(key, ZERO) + funder_share
    accounts = {"org": org, "revenue": REVENUE, "credit_notes": CREDIT_NOTES}
    return {
        (accounts[kind] if kind in accounts else
         Account(AccountKind.FUNDER_RECEIVABLE, owner), cur): value
        for (kind, owner, cur), value in sums.items()
    }  # fmt: skip


def top_up_entry(org_id: str, amount: Money, at: datetime, source_id: str) -> JournalEntry:
    """Money received into an org's prepaid balance (``source_id``: the payment reference)."""
    return _entry(f"je_topup/{source_id}", EntryKind.TOP_UP, at, org_id,
                  (CASH, amount), (org_account(org_id, BillingMode.PREPAID), -amount))  # fmt: skip


def payment_entry(org_id: str, amount: Money, at: datetime, source_id: str) -> JournalEntry:
    """A post-paid org pays (part of) what it owes."""
    return _entry(f"je_payment/{source_id}", EntryKind.PAYMENT, at, org_id,
                  (CASH, amount), (org_account(org_id, BillingMode.POSTPAID), -amount))  # fmt: skip


def trial_credit_entry(org_id: str, amount: Money, at: datetime, source_id: str) -> JournalEntry:
    """Free credit given to a trial org: an expense of the centre, prepaid balance of the org."""
    prepaid = org_account(org_id, BillingMode.PREPAID)
    return _entry(f"je_trial/{source_id}", EntryKind.TRIAL_CREDIT, at, org_id,
                  (PROMOTIONS, amount), (prepaid, -amount))  # fmt: skip


def plan_fee_entry(
    org_id: str, mode: BillingMode, amount: Money, at: datetime, source_id: str
) -> JournalEntry:
    """A fixed plan fee (e.g. the proof-of-concept plan's monthly HK$1,800)."""
    return _entry(f"je_fee/{source_id}", EntryKind.PLAN_FEE, at, org_id,
                  (org_account(org_id, mode), amount), (REVENUE, -amount))  # fmt: skip


def reversal(entry: JournalEntry, at: datetime, memo: str) -> JournalEntry:
    """A credit note undoing ``entry``: every posting negated, REVENUE replaced by CREDIT_NOTES."""
    legs = [
        (CREDIT_NOTES if p.account == REVENUE else p.account, -p.amount) for p in entry.postings
    ]
    out = _entry(f"je_reversal/{entry.id}", EntryKind.CREDIT_NOTE, at, entry.org_id, *legs)
    return JournalEntry(out.id, out.kind, out.at, out.org_id, out.postings, memo, entry.id)


class Journal:
    """An append-only journal in memory (the model of the ledger table and its unique ids).

    ``post`` of an entry already there is a no-op (a replay); another entry with the same id
    raises Conflict. Nothing is ever removed or changed.
    """

    def __init__(self, entries: Iterable[JournalEntry] = ()) -> None:
        self._entries: dict[str, JournalEntry] = {}
        for entry in entries:
            self.post(entry)

    def post(self, entry: JournalEntry) -> bool:
        """Append ``entry``; True if it was new."""
        existing = self._entries.get(entry.id)
        if existing is None:
            self._entries[entry.id] = entry
            return True
        if existing != entry:
            raise Conflict(f"journal entry {entry.id} exists with other postings")
        return False

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        return tuple(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def balances(entries: Iterable[JournalEntry], currency: str = HKD) -> dict[Account, Money]:
    """Net balance (debits minus credits) of every account touched by ``entries``."""
    out: dict[Account, Money] = {}
    for entry in entries:
        for p in entry.postings:
            out[p.account] = out.get(p.account, Money.zero(currency)) + p.amount
    return out


def billed_for(entries: Iterable[JournalEntry], org_id: str, month: str) -> Money:
    """Net income from ``org_id`` in a Hong Kong month: minus REVENUE and CREDIT_NOTES postings.
    An invoice's total must equal this."""
    return -total(
        p.amount
        for e in entries
        if e.org_id == org_id and e.month == month
        for p in e.postings
        if p.account.kind in INCOME
    )
