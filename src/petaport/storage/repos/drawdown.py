"""The co-pay drawdown as stored: the funder's share of each charge per grant (one row per
usage record's source id, never changed), and the sums the service needs from it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from petaport.billing.copay import Drawn, Split
from petaport.billing.rating import Charge
from petaport.domain.money import Money
from petaport.storage.drawdown_tables import DrawdownRow
from petaport.storage.money_tables import JournalEntryRow, PostingRow, UsageRecordRow
from petaport.storage.repos.ledger import cents_sum

DRAWDOWN = cast(Table, DrawdownRow.__table__)
CHUNK = 500


@dataclass(frozen=True)
class StatementRow:
    """One grant and org in a funder's month: list price, funder share, GPU-hours funded."""

    grant_id: str
    org_id: str
    project_id: str
    amount: Decimal
    funder_amount: Decimal
    funded_gpu_s: Decimal
    charges: int


def _ms(value: object) -> Decimal:
    return Decimal(int(cast(int, value) or 0)) / 1000


class DrawdownRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, pairs: Sequence[tuple[Charge, Split]], now: datetime) -> None:
        """Store the funded splits of ``pairs`` (their usage records are stored already)."""
        rows = [
            {"source_id": c.source_id, "grant_id": sp.grant_id, "funder_id": sp.funder_id,
             "org_id": c.record.org_id, "project_id": c.record.project_id,
             "month": c.record.month, "start_at": c.record.start, "amount": c.amount.amount,
             "funder_amount": sp.funder.amount,
             "funded_gpu_ms": int(sp.funded_gpu_s * 1000), "created_at": now}
            for c, sp in pairs
            if sp.grant_id is not None
        ]  # fmt: skip
        if rows:
            self.s.connection().execute(DRAWDOWN.insert(), rows)

    def drawn(self, grant_ids: Iterable[str]) -> dict[str, Drawn]:
        """Grant id -> HKD and GPU-seconds funded so far."""
        ids = list(grant_ids)
        q = (
            select(DrawdownRow.grant_id, func.sum(DrawdownRow.funder_amount),
                   func.sum(DrawdownRow.funded_gpu_ms))
            .where(DrawdownRow.grant_id.in_(ids))
            .group_by(DrawdownRow.grant_id)
        )  # fmt: skip
        return {g: Drawn(cents_sum(a), _ms(ms)) for g, a, ms in self.s.execute(q)} if ids else {}

    def history(self, grant_id: str) -> list[tuple[datetime, Decimal, Decimal]]:
        """A grant's funded charges in time order: (usage start, funder share, GPU-seconds)."""
        d = DrawdownRow
        q = (
            select(d.start_at, d.funder_amount, d.funded_gpu_ms)
            .where(d.grant_id == grant_id)
            .order_by(d.start_at, d.source_id)
        )
        return [(at, Decimal(a), _ms(ms)) for at, a, ms in self.s.execute(q)]

    def splits(self, source_ids: Sequence[str]) -> dict[str, Split]:
        """The stored splits of ``source_ids`` (those a grant paid)."""
        out: dict[str, Split] = {}
        for i in range(0, len(source_ids), CHUNK):
            q = select(DrawdownRow).where(DrawdownRow.source_id.in_(source_ids[i : i + CHUNK]))
            for r in self.s.scalars(q):
                out[r.source_id] = Split(r.source_id, Money(r.amount), Money(r.funder_amount),
                                         r.grant_id, r.funder_id,
                                         Decimal(r.funded_gpu_ms) / 1000)  # fmt: skip
        return out

    def subsidies(self, org_id: str, month: str) -> dict[str, Money]:
        """Source id -> funder share, of an org's month (for its invoice)."""
        q = select(DrawdownRow.source_id, DrawdownRow.funder_amount).where(
            DrawdownRow.org_id == org_id, DrawdownRow.month == month
        )
        return {sid: Money(amount) for sid, amount in self.s.execute(q)}

    def funded_by_project(self, since: datetime | None) -> dict[tuple[str, str], Decimal]:
        """(org id, project id) -> HKD funders paid for usage since ``since``."""
        q = select(DrawdownRow.org_id, DrawdownRow.project_id,
                   func.sum(DrawdownRow.funder_amount)).group_by(
            DrawdownRow.org_id, DrawdownRow.project_id)  # fmt: skip
        if since is not None:
            q = q.where(DrawdownRow.start_at >= since)
        return {(o, p): cents_sum(a) for o, p, a in self.s.execute(q)}

    def funded_for_org(self, org_id: str, month: str) -> Decimal:
        q = select(func.sum(DrawdownRow.funder_amount)).where(
            DrawdownRow.org_id == org_id, DrawdownRow.month == month
        )
        return cents_sum(self.s.scalar(q))

    def statement_rows(self, funder_id: str, month: str) -> list[StatementRow]:
        """A funder's month per grant, org and project."""
        d = DrawdownRow
        q = (
            select(d.grant_id, d.org_id, d.project_id, func.sum(d.amount),
                   func.sum(d.funder_amount), func.sum(d.funded_gpu_ms), func.count())
            .where(d.funder_id == funder_id, d.month == month)
            .group_by(d.grant_id, d.org_id, d.project_id)
            .order_by(d.org_id, d.grant_id)
        )  # fmt: skip
        return [
            StatementRow(g, o, p, cents_sum(a), cents_sum(f), _ms(ms), int(n))
            for g, o, p, a, f, ms, n in self.s.execute(q)
        ]

    def funder_postings(
        self, funder_id: str | None, month: str, org_id: str | None = None
    ) -> Decimal:
        """The net of FUNDER_RECEIVABLE postings of ``funder_id`` in journal entries of
        ``month`` (and of ``org_id``): what its statement (or an invoice's subsidy) must total."""
        q = (
            select(func.sum(PostingRow.amount))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .where(PostingRow.account_kind == "funder_receivable",
                   JournalEntryRow.month == month)
        )  # fmt: skip
        if funder_id is not None:
            q = q.where(PostingRow.account_owner == funder_id)
        if org_id is not None:
            q = q.where(JournalEntryRow.org_id == org_id)
        return cents_sum(self.s.scalar(q))

    def gpu_seconds(self, project_id: str, start: datetime, end: datetime) -> Decimal:
        """GPU-seconds metered for a project's usage starting in [start, end)."""
        u = UsageRecordRow
        q = select(func.sum(u.gpu_milli_s)).where(
            u.project_id == project_id, u.start_at >= start, u.start_at < end
        )
        return _ms(self.s.scalar(q))
