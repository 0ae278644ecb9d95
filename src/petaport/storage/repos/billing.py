"""Price book, usage records and metering progress, and how each org pays."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

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
from petaport.domain.jobs import Attempt, Job, QosTier
from petaport.domain.money import Money
from petaport.storage.money_tables import (
    MeteredAttemptRow,
    OrgBillingRow,
    PriceRow,
    PriceVersionRow,
    UsageRecordRow,
)
from petaport.storage.repos.jobs import attempt_from_row, job_from_row
from petaport.storage.repos.ledger import cents_sum
from petaport.storage.tables import AttemptRow, JobRow

USAGE = cast(Table, UsageRecordRow.__table__)


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


def _record_values(c: Charge, now: datetime) -> dict[str, object]:
    r = c.record
    return {
        "source_id": r.source_id, "kind": r.kind.value, "org_id": r.org_id,
        "project_id": r.project_id, "job_id": r.job_id, "attempt_id": r.attempt_id,
        "resource": r.resource.value, "gpu_model": r.gpu_model, "tier": r.tier.value,
        "quantity": r.quantity, "start_at": r.start, "end_at": r.end,
        "billable_s": r.billable_s, "price_version": r.price_version, "month": r.month,
        "unit_price": c.unit_price, "amount": c.amount.amount,
        "gpu_milli_s": gpu_milli_s(r), "metered_at": now,
    }  # fmt: skip


def gpu_milli_s(r: UsageRecord) -> int:
    """GPU-milliseconds of a GPU record (exact: GPU shares are whole thousandths)."""
    if r.resource is not ResourceClass.GPU_HOUR:
        return 0
    value = r.unit_seconds * 1000
    if value != value.to_integral_value():
        raise ValueError(f"{r.source_id}: GPUs must be whole thousandths")
    return int(value)


def charge_from_row(r: UsageRecordRow, currency: str) -> Charge:
    from fractions import Fraction

    record = UsageRecord(
        r.source_id, RecordKind(r.kind), r.org_id, r.project_id, r.job_id, r.attempt_id,
        ResourceClass(r.resource), r.gpu_model, QosTier(r.tier), r.quantity, r.start_at,
        r.end_at, r.billable_s, r.price_version, r.month,
    )  # fmt: skip
    exact = Fraction(r.unit_price * r.quantity) * r.billable_s / 3600
    return Charge(record, r.unit_price, exact, Money(r.amount, currency))


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

    def add(self, charges: Sequence[Charge], now: datetime) -> None:
        if charges:
            self.s.connection().execute(USAGE.insert(), [_record_values(c, now) for c in charges])

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

    def mark(self, attempt_id: str, through: datetime, final: bool) -> None:
        row = self.s.get(MeteredAttemptRow, attempt_id)
        if row is None:
            self.s.add(MeteredAttemptRow(attempt_id=attempt_id, through=through, final=final))
        else:
            row.through, row.final = through, final


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


def attempts_to_meter(
    session: Session, limit: int, after: str | None = None
) -> list[tuple[Job, Attempt]]:
    """Started attempts whose metering is not final yet (running, or ended since the last
    metering run), oldest first, with their jobs."""
    done = select(MeteredAttemptRow.attempt_id).where(MeteredAttemptRow.final.is_(True))
    q = (
        select(AttemptRow, JobRow)
        .join(JobRow, JobRow.id == AttemptRow.job_id)
        .where(AttemptRow.started_at.is_not(None) | AttemptRow.ended_at.is_not(None))
        .where(AttemptRow.id.not_in(done))
        .where(AttemptRow.id > (after or ""))
        .order_by(AttemptRow.id)
        .limit(limit)
    )
    return [(job_from_row(j), attempt_from_row(a)) for a, j in session.execute(q)]
