"""The ledger tables: journal entries sealed over their postings (see migration 0003)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, case, func, select
from sqlalchemy.orm import Session

from petaport.billing.ledger import Account, AccountKind, EntryKind, JournalEntry, Posting
from petaport.domain.errors import Conflict
from petaport.domain.money import Money
from petaport.storage.money_tables import JournalEntryRow, PostingRow

ENTRIES = cast(Table, JournalEntryRow.__table__)
POSTINGS = cast(Table, PostingRow.__table__)


def _owner(account: Account) -> str:
    return account.owner or ""


class LedgerRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            q = select(JournalEntryRow.id).where(JournalEntryRow.id.in_(wanted[i : i + 500]))
            found.update(self.s.scalars(q))
        return found

    def post(self, entries: Sequence[JournalEntry], now: datetime) -> int:
        """Append the entries not yet in the journal (a replay is a no-op); returns how many
        were new. An entry id already used by other postings raises Conflict."""
        seen = self.existing_ids(e.id for e in entries)
        new = [e for e in entries if e.id not in seen]
        for entry in entries:
            if entry.id in seen and self.get(entry.id) != entry:
                raise Conflict(f"journal entry {entry.id} exists with other postings")
        return self.append(new, now)

    def append(self, entries: Sequence[JournalEntry], now: datetime) -> int:
        """Append entries known to be new, without looking them up first: e.g. the charges of
        usage records inserted in this transaction (their source ids, hence their entry ids,
        were new). The database still refuses one already there: its postings hit the seal
        (``postings_open``), or its header the primary key."""
        if not entries:
            return 0
        new = entries
        conn = self.s.connection()
        conn.execute(POSTINGS.insert(), [
            {"entry_id": e.id, "seq": i, "account_kind": p.account.kind.value,
             "account_owner": _owner(p.account), "currency": p.amount.currency,
             "amount": p.amount.amount}
            for e in new for i, p in enumerate(e.postings)
        ])  # fmt: skip
        conn.execute(ENTRIES.insert(), [
            {"id": e.id, "kind": e.kind.value, "at": e.at, "month": e.month,
             "org_id": e.org_id, "memo": e.memo, "reverses": e.reverses, "created_at": now}
            for e in new
        ])  # fmt: skip
        return len(new)

    def get(self, entry_id: str) -> JournalEntry | None:
        row = self.s.get(JournalEntryRow, entry_id)
        if row is None:
            return None
        return self._entries([row])[0]

    def _entries(self, rows: Sequence[JournalEntryRow]) -> list[JournalEntry]:
        legs: dict[str, list[Posting]] = {r.id: [] for r in rows}
        ids = list(legs)
        for i in range(0, len(ids), 500):
            q = (
                select(PostingRow)
                .where(PostingRow.entry_id.in_(ids[i : i + 500]))
                .order_by(PostingRow.entry_id, PostingRow.seq)
            )
            for p in self.s.scalars(q):
                account = Account(AccountKind(p.account_kind), p.account_owner or None)
                legs[p.entry_id].append(Posting(account, Money(p.amount, p.currency)))
        return [
            JournalEntry(r.id, EntryKind(r.kind), r.at, r.org_id, tuple(legs[r.id]), r.memo,
                         r.reverses)
            for r in rows
        ]  # fmt: skip

    def entries(self, *, org_id: str | None = None, month: str | None = None,
                kind: EntryKind | None = None,
                but: EntryKind | None = None) -> list[JournalEntry]:  # fmt: skip
        """Entries by org, month and kind (``but``: every kind except that one)."""
        q = select(JournalEntryRow).order_by(JournalEntryRow.at, JournalEntryRow.id)
        if org_id is not None:
            q = q.where(JournalEntryRow.org_id == org_id)
        if month is not None:
            q = q.where(JournalEntryRow.month == month)
        if kind is not None:
            q = q.where(JournalEntryRow.kind == kind.value)
        if but is not None:
            q = q.where(JournalEntryRow.kind != but.value)
        return self._entries(list(self.s.scalars(q)))

    def balance(self, account: Account) -> Decimal:
        """Debits minus credits of ``account`` over its sealed entries."""
        q = (
            select(func.coalesce(func.sum(PostingRow.amount), 0))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .where(PostingRow.account_kind == account.kind.value)
            .where(PostingRow.account_owner == _owner(account))
        )
        return cents_sum(self.s.scalar(q))

    def income(self, org_id: str, month: str) -> Decimal:
        """Net income from an org in a Hong Kong month (what its invoice must total).

        The account filter is inside the SUM, not in WHERE: the entries are found by their
        (org, month) index and their postings by primary key; a WHERE on the account kind
        lets a planner without statistics scan every revenue posting of every org instead."""
        income = case((PostingRow.account_kind.in_(["revenue", "credit_notes"]),
                       PostingRow.amount))  # fmt: skip
        q = (
            select(func.coalesce(func.sum(income), 0))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .where(JournalEntryRow.org_id == org_id, JournalEntryRow.month == month)
        )
        return -cents_sum(self.s.scalar(q))

    def credited(self, account: Account, kinds: Iterable[EntryKind]) -> Decimal:
        """Credits to ``account`` by entries of ``kinds`` (e.g. top-ups into a balance)."""
        q = (
            select(func.coalesce(func.sum(PostingRow.amount), 0))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .where(PostingRow.account_kind == account.kind.value)
            .where(PostingRow.account_owner == _owner(account))
            .where(JournalEntryRow.kind.in_([k.value for k in kinds]))
        )
        return -cents_sum(self.s.scalar(q))


def cents_sum(value: object) -> Decimal:
    """A SUM from either database as Decimal (SQLite sums integer cents)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return Decimal(int(value or 0)).scaleb(-2)  # type: ignore[call-overload]
