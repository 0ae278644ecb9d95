"""Price book, usage records and metering progress, and how each org pays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from petaport.billing.invoices import UsageTotal
from petaport.billing.ledger import BillingMode
from petaport.billing.metering import RecordKind, UsageRecord
from petaport.billing.plans import OrgBilling, Plan
from petaport.billing.prices import (
    PreemptionCredit,
    PriceBook,
    PriceKey,
    PriceVersion,
    ResourceClass,
)
from petaport.billing.rating import Charge
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money
from petaport.storage.drawdown_tables import DrawdownRow
from petaport.storage.money_tables import (
    MeteredAttemptRow,
    OrgBillingRow,
    PriceRow,
    PriceVersionRow,
    UsageRecordRow,
)
from petaport.storage.repos.ledger import cents_sum
from petaport.storage.repos.usage_rows import COLUMNS, insert_usage, record_row

USAGE = cast(Table, UsageRecordRow.__table__)
METERED = cast(Table, MeteredAttemptRow.__table__)


class PriceRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def versions(self) -> list[PriceVersion]:
        prices: dict[str, list[tuple[PriceKey, Decimal]]] = {}
        for p in self.s.scalars(select(PriceRow)):
            key = PriceKey(ResourceClass(p.resource), p.gpu_model or None, QosTier(p.tier))
            prices.setdefault(p.version_id, []).append((key, p.unit_price))
        q = select(PriceVersionRow).order_by(PriceVersionRow.effective_from)
        return [
            PriceVersion(v.id, v.effective_from, tuple(prices.get(v.id, ())),
                         v.minimum_billable_s, PreemptionCredit(v.preemption_credit), v.currency)
            for v in self.s.scalars(q)
        ]  # fmt: skip

    def book(self) -> PriceBook | None:
        versions = self.versions()
        return PriceBook.of(versions) if versions else None

    def add_version(self, v: PriceVersion, now: datetime) -> None:
        self.s.add(
            PriceVersionRow(
                id=v.id, effective_from=v.effective_from, currency=v.currency,
                minimum_billable_s=v.minimum_billable_s,
                preemption_credit=v.preemption_credit.value, created_at=now,
            )
        )  # fmt: skip
        self.s.flush()
        for key, price in v.prices:
            self.s.add(PriceRow(version_id=v.id, resource=key.resource.value,
                                gpu_model=key.gpu_model or "", tier=key.tier.value,
                                unit_price=price))  # fmt: skip
        self.s.flush()


def _record_values(c: Charge, now: datetime, entry_id: str | None) -> dict[str, object]:
    return dict(zip(COLUMNS, record_row(c, now, entry_id), strict=True))


def charge_from_row(r: UsageRecordRow, currency: str) -> Charge:
    record = UsageRecord(
        r.source_id, RecordKind(r.kind), r.org_id, r.project_id, r.job_id, r.attempt_id,
        ResourceClass(r.resource), r.gpu_model, QosTier(r.tier), r.quantity, r.start_at,
        r.end_at, r.billable_s, r.price_version, r.month,
    )  # fmt: skip
    return Charge(record, r.unit_price, Money(r.amount, currency))


class UsageRepo:
    """Rated usage records, one per source id, never changed."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def known_source_ids(self, attempt_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(attempt_ids), 500):
            q = select(UsageRecordRow.source_id).where(
                UsageRecordRow.attempt_id.in_(attempt_ids[i : i + 500])
            )
            found.update(self.s.scalars(q))
        return found

    def add(
        self, charges: Sequence[Charge], now: datetime, entries: Mapping[str, str] | None = None
    ) -> None:
        """Store rated records (new source ids only: the primary key refuses a known one);
        ``entries``: source id -> id of the journal entry that posts it."""
        insert_usage(self.s.connection(), charges, now, entries or {})

    def charges(
        self,
        *,
        org_id: str | None = None,
        month: str | None = None,
        project_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        currency: str = "HKD",
    ) -> list[Charge]:
        q = select(UsageRecordRow).order_by(UsageRecordRow.start_at, UsageRecordRow.source_id)
        if org_id is not None:
            q = q.where(UsageRecordRow.org_id == org_id)
        if month is not None:
            q = q.where(UsageRecordRow.month == month)
        if project_ids is not None:
            q = q.where(UsageRecordRow.project_id.in_(list(project_ids)))
        if since is not None:
            q = q.where(UsageRecordRow.start_at >= since)
        return [charge_from_row(r, currency) for r in self.s.scalars(q)]

    def invoice_totals(self, org_id: str, month: str, currency: str = "HKD") -> list[UsageTotal]:
        """The month's usage lines of an org, summed by the database: one row per line and
        quantity (integer seconds and cents sum exactly in both databases; quantity x seconds
        is multiplied here, exactly). A line's subsidy is the sum of its records' funder
        shares stored when they were metered (``subsidy_drawdown``; none: zero)."""
        u, d = UsageRecordRow, DrawdownRow
        q = (
            select(u.project_id, u.resource, u.gpu_model, u.tier, u.quantity,
                   func.sum(u.billable_s), func.sum(u.amount), func.sum(d.funder_amount))
            .outerjoin(d, d.source_id == u.source_id)
            .where(u.org_id == org_id, u.month == month)
            .group_by(u.project_id, u.resource, u.gpu_model, u.tier, u.quantity)
        )  # fmt: skip
        sums: dict[tuple[str, str, str, str], tuple[Decimal, Decimal, Decimal]] = {}
        for project, resource, model, tier, quantity, seconds, amount, funded in self.s.execute(q):
            key = (project, resource, model or "", tier)
            units, cents, subsidy = sums.get(key, (Decimal(0), Decimal(0), Decimal(0)))
            sums[key] = (units + quantity * int(seconds), cents + cents_sum(amount),
                         subsidy + cents_sum(funded))  # fmt: skip
        return [UsageTotal(*key, units, Money(cents, currency), Money(subsidy, currency))
                for key, (units, cents, subsidy) in sums.items()]  # fmt: skip

    def spend_by_project(
        self, since: datetime | None = None
    ) -> list[tuple[str, str, Decimal, Decimal]]:
        """(org id, project id, HKD charged, GPU-seconds) per project, since ``since``."""
        q = select(
            UsageRecordRow.org_id, UsageRecordRow.project_id, func.sum(UsageRecordRow.amount),
            func.sum(UsageRecordRow.gpu_milli_s),
        ).group_by(UsageRecordRow.org_id, UsageRecordRow.project_id)  # fmt: skip
        if since is not None:
            q = q.where(UsageRecordRow.start_at >= since)
        out = []
        for org, project, amount, gpus in self.s.execute(q):
            out.append((org, project, cents_sum(amount), Decimal(int(gpus or 0)) / 1000))
        return out

    def charged_by_attempt(self, attempt_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        """Attempt id -> (HKD charged, GPU-seconds charged) so far."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for i in range(0, len(attempt_ids), 500):
            q = (
                select(
                    UsageRecordRow.attempt_id,
                    func.sum(UsageRecordRow.amount),
                    func.sum(UsageRecordRow.gpu_milli_s),
                )
                .where(UsageRecordRow.attempt_id.in_(attempt_ids[i : i + 500]))
                .group_by(UsageRecordRow.attempt_id)
            )
            for attempt, amount, gpu_ms in self.s.execute(q):
                out[attempt] = (cents_sum(amount), Decimal(int(gpu_ms or 0)) / 1000)
        return out


class MeteringRepo:
    """Which attempts still need metering, and how far each got."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def final_ids(self, attempt_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(attempt_ids), 500):
            q = select(MeteredAttemptRow.attempt_id).where(
                MeteredAttemptRow.attempt_id.in_(attempt_ids[i : i + 500]),
                MeteredAttemptRow.final.is_(True),
            )
            found.update(self.s.scalars(q))
        return found

    def mark_many(self, attempt_ids: Sequence[str], through: datetime, final: set[str]) -> None:
        """Record that ``attempt_ids`` are metered through ``through`` (those in ``final``:
        for good), with one query and at most one INSERT and one UPDATE statement."""
        known: set[str] = set()
        for i in range(0, len(attempt_ids), 500):
            q = select(METERED.c.attempt_id).where(
                METERED.c.attempt_id.in_(attempt_ids[i : i + 500])
            )
            known.update(self.s.scalars(q))
        conn = self.s.connection()
        rows = [{"aid": a, "through": through, "final": a in final} for a in attempt_ids]
        new = [{"attempt_id": r["aid"], "through": through, "final": r["final"]}
               for r in rows if r["aid"] not in known]  # fmt: skip
        if new:
            conn.execute(METERED.insert(), new)
        old = [r for r in rows if r["aid"] in known]
        if old:
            conn.execute(
                METERED.update()
                .where(METERED.c.attempt_id == bindparam("aid"))
                .values(through=bindparam("through"), final=bindparam("final")),
                old,
            )


class OrgBillingRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def find(self, org_id: str) -> OrgBilling | None:
        r = self.s.get(OrgBillingRow, org_id)
        if r is None:
            return None
        fee = None if r.plan_fee is None else Money(r.plan_fee)
        return OrgBilling(r.org_id, BillingMode(r.mode), Plan(r.plan), r.plan_started_at,
                          r.plan_ends_at, fee, r.plan_gpu_hours)  # fmt: skip

    def all(self) -> dict[str, OrgBilling]:
        ids = list(self.s.scalars(select(OrgBillingRow.org_id)))
        return {i: b for i in ids if (b := self.find(i)) is not None}

    def save(self, b: OrgBilling, now: datetime) -> None:
        row = self.s.get(OrgBillingRow, b.org_id)
        if row is None:
            row = OrgBillingRow(org_id=b.org_id)
            self.s.add(row)
        row.mode, row.plan = b.mode.value, b.plan.value
        row.plan_started_at, row.plan_ends_at = b.plan_started_at, b.plan_ends_at
        row.plan_fee = None if b.plan_fee is None else b.plan_fee.amount
        row.plan_gpu_hours = b.plan_gpu_hours
        row.updated_at = now
        self.s.flush()
