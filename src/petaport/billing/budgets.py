"""Budgets: what an org or a project may spend, in HKD or GPU-hours, and the gate they make.

A ``Budget`` covers an org (``project_id`` None: all its projects) or one project. Its
``BudgetState`` counts, in *base units* (HKD, or GPU-seconds for a GPU-hour budget, so that
both are exact Decimals):
- ``spent``: rated usage charged in the current period (credits reduce it);
- ``reserved``: the projected cost still to come of the running jobs it covers.

Rules:
- a job may start only if every budget covering it has ``spent + reserved < limit``; on start
  it reserves its projected cost in each. ``admit`` decides a sequence of starts one by one, so
  any number of concurrent submissions overspend a budget by less than one job's reservation;
- ``exhausted_projects`` (for ``Snapshot.exhausted_projects``) lists projects with a covering
  budget that has no room left; they wait with reason BudgetExhausted;
- running jobs are stopped once ``spent >= limit`` has held for the budget's ``grace_s``;
- alerts fire once per threshold (50/80/100% of the limit) when ``spent`` first reaches it;
- a MONTHLY budget counts only usage since the start of the Hong Kong month.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from petaport.billing.metering import HOUR_S, month_bounds, month_of
from petaport.billing.prices import ResourceClass
from petaport.billing.rating import Charge
from petaport.domain.errors import ValidationFailed


class BudgetUnit(enum.StrEnum):
    HKD = "HKD"
    GPU_HOURS = "gpu_hours"


class BudgetPeriod(enum.StrEnum):
    NONE = "none"  # a lifetime amount (a prepaid balance, a trial credit, a grant)
    MONTHLY = "monthly"  # resets at the start of each Hong Kong month


ALERT_THRESHOLDS = (50, 80, 100)


@dataclass(frozen=True)
class Budget:
    id: str
    org_id: str
    project_id: str | None
    unit: BudgetUnit
    limit: Decimal  # in HKD or GPU-hours
    period: BudgetPeriod = BudgetPeriod.NONE
    grace_s: int = 900  # running jobs are stopped this long after exhaustion
    thresholds: tuple[int, ...] = ALERT_THRESHOLDS

    def __post_init__(self) -> None:
        if not isinstance(self.limit, Decimal) or not self.limit.is_finite() or self.limit < 0:
            raise ValidationFailed("a budget limit is a Decimal of 0 or more")
        if self.grace_s < 0 or any(not 0 < t <= 100 for t in self.thresholds):
            raise ValidationFailed("grace is 0 s or more; thresholds are 1-100 percent")

    @property
    def limit_base(self) -> Decimal:
        """The limit in base units: HKD, or GPU-seconds."""
        return self.limit * HOUR_S if self.unit is BudgetUnit.GPU_HOURS else self.limit

    def covers(self, org_id: str, project_id: str) -> bool:
        return self.org_id == org_id and self.project_id in (None, project_id)


@dataclass(frozen=True)
class Projection:
    """What a job is expected to cost: HKD and GPU-seconds (see ``estimate``)."""

    hkd: Decimal
    gpu_s: Decimal

    def in_unit(self, unit: BudgetUnit) -> Decimal:
        return self.hkd if unit is BudgetUnit.HKD else self.gpu_s


@dataclass(frozen=True)
class BudgetState:
    budget: Budget
    spent: Decimal = Decimal(0)  # base units
    reserved: Decimal = Decimal(0)  # base units
    exhausted_since: datetime | None = None

    @property
    def committed(self) -> Decimal:
        return self.spent + self.reserved

    @property
    def remaining(self) -> Decimal:
        """Base units still free for new work (negative when overcommitted)."""
        return self.budget.limit_base - self.committed

    @property
    def has_room(self) -> bool:
        return self.committed < self.budget.limit_base

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.budget.limit_base


def period_start(budget: Budget, now: datetime) -> datetime | None:
    """Start of the budget's current period (None: since ever)."""
    if budget.period is BudgetPeriod.MONTHLY:
        return month_bounds(month_of(now))[0]
    return None


def spend_of(charge: Charge, unit: BudgetUnit) -> Decimal:
    """What a charge spends of a budget in ``unit`` (base units; negative for a credit)."""
    if unit is BudgetUnit.HKD:
        return charge.amount.amount
    record = charge.record
    return record.unit_seconds if record.resource is ResourceClass.GPU_HOUR else Decimal(0)


def spent(budget: Budget, charges: Iterable[Charge], now: datetime) -> Decimal:
    """Spend of ``budget`` in its current period, from the charges of its org."""
    since = period_start(budget, now)
    return sum(
        (
            spend_of(c, budget.unit)
            for c in charges
            if budget.covers(c.record.org_id, c.record.project_id)
            and (since is None or c.record.start >= since)
        ),
        Decimal(0),
    )


def crossed(before: BudgetState, after: BudgetState) -> tuple[int, ...]:
    """Alert thresholds (percent) that ``spent`` reached between two states."""
    limit = after.budget.limit_base
    return tuple(
        t
        for t in after.budget.thresholds
        if before.spent * 100 < t * limit <= after.spent * 100
        or (limit == 0 and before.spent <= 0 < after.spent)
    )


def observe(state: BudgetState, now: datetime) -> BudgetState:
    """Record when the budget became exhausted (or clear it when it is no longer)."""
    if state.exhausted and state.exhausted_since is None:
        return replace(state, exhausted_since=now)
    if not state.exhausted and state.exhausted_since is not None:
        return replace(state, exhausted_since=None)
    return state


@dataclass(frozen=True)
class AdmissionRequest:
    job_id: str
    org_id: str
    project_id: str
    projected: Projection


@dataclass(frozen=True)
class Admission:
    admitted: tuple[str, ...]
    refused: tuple[str, ...]  # wait with reason BudgetExhausted
    states: tuple[BudgetState, ...]  # with the admitted jobs' reservations added


def admit(states: Sequence[BudgetState], requests: Sequence[AdmissionRequest]) -> Admission:
    """Decide ``requests`` in order: each starts if all its budgets have room, then reserves."""
    current = list(states)
    admitted: list[str] = []
    refused: list[str] = []
    for req in requests:
        idx = [i for i, s in enumerate(current) if s.budget.covers(req.org_id, req.project_id)]
        if not all(current[i].has_room for i in idx):
            refused.append(req.job_id)
            continue
        for i in idx:
            cost = req.projected.in_unit(current[i].budget.unit)
            current[i] = replace(current[i], reserved=current[i].reserved + cost)
        admitted.append(req.job_id)
    return Admission(tuple(admitted), tuple(refused), tuple(current))


def exhausted_projects(
    states: Iterable[BudgetState], projects: Iterable[tuple[str, str]]
) -> frozenset[str]:
    """Project ids (of ``(org id, project id)`` pairs) that a budget without room covers."""
    full = [s.budget for s in states if not s.has_room]
    return frozenset(p for org, p in projects if any(b.covers(org, p) for b in full))


@dataclass(frozen=True)
class RunningCost:
    job_id: str
    org_id: str
    project_id: str


def stops_due(
    states: Iterable[BudgetState], running: Iterable[RunningCost], now: datetime
) -> tuple[str, ...]:
    """Running jobs to stop: a covering budget has been exhausted for its grace period."""
    overdue = [
        s.budget
        for s in states
        if s.exhausted
        and s.exhausted_since is not None
        and now - s.exhausted_since >= timedelta(seconds=s.budget.grace_s)
    ]
    return tuple(
        r.job_id for r in running if any(b.covers(r.org_id, r.project_id) for b in overdue)
    )


def budget_left(
    states: Iterable[BudgetState], org_id: str, project_id: str
) -> tuple[tuple[Budget, Decimal], ...]:
    """Each budget covering the project and what is left of it, in the budget's own unit."""
    out = []
    for s in states:
        if s.budget.covers(org_id, project_id):
            left = s.remaining / HOUR_S if s.budget.unit is BudgetUnit.GPU_HOURS else s.remaining
            out.append((s.budget, left))
    return tuple(out)
