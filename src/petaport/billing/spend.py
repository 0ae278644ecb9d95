"""Spend of one Hong Kong month from rated usage: per day, per resource class or GPU model,
per project, and a project x resource table.

Pure: the caller loads the month's charges (``Charge``s, already rated and rounded to cents)
and gets exact Decimal sums back. Invariants:
- every figure is a sum of stored charge amounts, so the month's ``total`` equals the sum of
  the month's usage records, and the daily series, the per-project series and the table cells
  each sum to that same total, to the cent;
- a day is a Hong Kong calendar day; a record belongs to the day of its start (records never
  straddle an hour, and a Hong Kong day starts on a whole UTC hour, so none straddles a day);
- credits (negative amounts) count on their day, so a series shows what was charged net.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from petaport.billing.metering import HONG_KONG, month_bounds
from petaport.billing.prices import ResourceClass
from petaport.billing.rating import Charge

ZERO = Decimal("0.00")
CLASS_ORDER = (
    ResourceClass.GPU_HOUR,
    ResourceClass.CPU_CORE_HOUR,
    ResourceClass.MEMORY_GIB_HOUR,
    ResourceClass.STORAGE_TIB_MONTH,
)


@dataclass(frozen=True, order=True)
class SpendClass:
    """What a charge is for: a resource class, and for GPUs the model (None: not known)."""

    resource: ResourceClass
    gpu_model: str | None = None

    @property
    def key(self) -> str:
        """``gpu_hour:H800``, ``gpu_hour`` or ``cpu_core_hour``: stable, for APIs and charts."""
        r = self.resource.value
        return f"{r}:{self.gpu_model}" if self.gpu_model else r


def spend_class(charge: Charge) -> SpendClass:
    r = charge.record
    model = r.gpu_model if r.resource is ResourceClass.GPU_HOUR else None
    return SpendClass(r.resource, model or None)


def _class_rank(c: SpendClass) -> tuple[int, str]:
    return CLASS_ORDER.index(c.resource), c.gpu_model or ""


@dataclass(frozen=True)
class SpendCell:
    """One project's spend on one class in the month, and the unit-hours behind it."""

    project_id: str
    spend_class: SpendClass
    unit_hours: Decimal  # GPU-, core- or GiB-hours (net of credits), to the thousandth
    amount: Decimal


@dataclass(frozen=True)
class MonthSpend:
    month: str  # YYYY-MM, Hong Kong
    days: tuple[date, ...]  # every Hong Kong day of the month
    by_class: Mapping[SpendClass, tuple[Decimal, ...]]  # per day, in ``days`` order
    by_project: Mapping[str, tuple[Decimal, ...]]  # project id -> per day
    cells: tuple[SpendCell, ...]  # project x class, sorted
    total: Decimal

    @property
    def classes(self) -> tuple[SpendClass, ...]:
        return tuple(sorted(self.by_class, key=_class_rank))

    @property
    def daily_totals(self) -> tuple[Decimal, ...]:
        return tuple(
            sum((series[i] for series in self.by_class.values()), ZERO)
            for i in range(len(self.days))
        )

    def project_total(self, project_id: str) -> Decimal:
        return sum((c.amount for c in self.cells if c.project_id == project_id), ZERO)

    def class_total(self, spend_class: SpendClass) -> Decimal:
        return sum((c.amount for c in self.cells if c.spend_class == spend_class), ZERO)


def month_days(month: str) -> tuple[date, ...]:
    """The Hong Kong calendar days of ``month`` (``YYYY-MM``)."""
    start, end = (t.astimezone(HONG_KONG).date() for t in month_bounds(month))
    return tuple(start + timedelta(days=i) for i in range((end - start).days))


def previous_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def month_spend(month: str, charges: Iterable[Charge]) -> MonthSpend:
    """The spend of ``month`` from its charges (charges of other months are ignored)."""
    days = month_days(month)
    index = {d: i for i, d in enumerate(days)}
    by_class: dict[SpendClass, list[Decimal]] = {}
    by_project: dict[str, list[Decimal]] = {}
    cells: dict[tuple[str, SpendClass], list[Decimal]] = {}
    for c in charges:
        r = c.record
        if r.month != month:
            continue
        day = index[r.start.astimezone(HONG_KONG).date()]
        cls = spend_class(c)
        amount = c.amount.amount
        by_class.setdefault(cls, [ZERO] * len(days))[day] += amount
        by_project.setdefault(r.project_id, [ZERO] * len(days))[day] += amount
        cell = cells.setdefault((r.project_id, cls), [Decimal(0), ZERO])
        cell[0] += r.unit_seconds
        cell[1] += amount
    table = tuple(
        SpendCell(project, cls, (acc[0] / 3600).quantize(Decimal("0.001")), acc[1])
        for (project, cls), acc in sorted(cells.items(), key=lambda kv: (kv[0][0],
                                                                         _class_rank(kv[0][1])))
    )  # fmt: skip
    return MonthSpend(
        month, days, {k: tuple(v) for k, v in by_class.items()},
        {k: tuple(v) for k, v in sorted(by_project.items())}, table,
        sum((cell.amount for cell in table), ZERO),
    )  # fmt: skip
