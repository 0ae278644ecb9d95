"""Small builders for billing tests: a price version, a book, an attempt's usage, a budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from petaport.billing.budgets import Budget, BudgetPeriod, BudgetState, BudgetUnit
from petaport.billing.metering import AttemptUsage, UsageRecord, meter
from petaport.billing.prices import (
    PreemptionCredit,
    PriceBook,
    PriceKey,
    PriceVersion,
    ResourceClass,
    price_version,
)
from petaport.billing.rating import Charge, rate
from petaport.domain.jobs import JobState, QosTier

# 2026-01-31 12:00 UTC is 20:00 in Hong Kong; February starts there at 2026-01-31 16:00 UTC.
T0 = datetime(2026, 1, 31, 12, tzinfo=UTC)
HK_FEB = datetime(2026, 1, 31, 16, tzinfo=UTC)
R, OD, PE = QosTier.RESERVED, QosTier.ON_DEMAND, QosTier.PREEMPTIBLE
GPU, CPU, MEM = ResourceClass.GPU_HOUR, ResourceClass.CPU_CORE_HOUR, ResourceClass.MEMORY_GIB_HOUR

GPU_PRICES = {R: "32.00", OD: "25.50", PE: "12.75"}  # HKD per H800-hour
DEFAULT_GPU = {R: "20.00", OD: "16.00", PE: "8.00"}  # HKD per hour of another GPU model


def prices(scale: str = "1") -> dict[PriceKey, Decimal]:
    """A full price list, every price multiplied by ``scale``."""
    k = Decimal(scale)
    out: dict[PriceKey, Decimal] = {}
    for tier in (R, OD, PE):
        out[PriceKey(GPU, "H800", tier)] = Decimal(GPU_PRICES[tier]) * k
        out[PriceKey(GPU, None, tier)] = Decimal(DEFAULT_GPU[tier]) * k
        out[PriceKey(CPU, None, tier)] = Decimal("0.12") * k
        out[PriceKey(MEM, None, tier)] = Decimal("0.015") * k
    return out


def version(
    vid: str = "pv1",
    at: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    *,
    scale: str = "1",
    minimum_s: int = 60,
    credit: PreemptionCredit = PreemptionCredit.LAST_PARTIAL_HOUR,
) -> PriceVersion:
    return price_version(
        vid, at, prices(scale), minimum_billable_s=minimum_s, preemption_credit=credit
    )


def book(*versions: PriceVersion) -> PriceBook:
    return PriceBook.of(versions or (version(),))


def usage(
    start: datetime = T0,
    seconds: int | None = 3600,
    *,
    attempt: str = "att_1",
    job: str = "job_1",
    org: str = "org_a",
    project: str = "prj_a",
    tier: QosTier = OD,
    state: JobState = JobState.COMPLETED,
    gpus: str = "8",
    model: str | None = "H800",
    cpus: int = 0,
    mem_mib: int = 0,
) -> AttemptUsage:
    """An attempt from ``start`` for ``seconds`` (None: still running)."""
    end = None if seconds is None else start + timedelta(seconds=seconds)
    return AttemptUsage(
        attempt, job, org, project, tier, start, end, None if end is None else state,
        Decimal(gpus), model, cpus, mem_mib,
    )  # fmt: skip


def metered(
    u: AttemptUsage, b: PriceBook | None = None, now: datetime | None = None
) -> tuple[UsageRecord, ...]:
    return meter(u, b or book(), now or T0 + timedelta(days=60))


def charges(u: AttemptUsage, b: PriceBook | None = None) -> tuple[Charge, ...]:
    bk = b or book()
    return rate(metered(u, bk), bk)


def budget_state(
    limit: str,
    *,
    spent: str = "0",
    reserved: str = "0",
    project: str | None = "prj_a",
    org: str = "org_a",
    unit: BudgetUnit = BudgetUnit.HKD,
    period: BudgetPeriod = BudgetPeriod.NONE,
    grace_s: int = 900,
    bid: str | None = None,
) -> BudgetState:
    b = Budget(bid or f"bud_{project or org}", org, project, unit, Decimal(limit), period, grace_s)
    return BudgetState(b, Decimal(spent), Decimal(reserved))
