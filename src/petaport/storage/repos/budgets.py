"""Budgets, their exhaustion times and the alerts they raised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.billing.budgets import Budget, BudgetPeriod, BudgetUnit
from petaport.domain.errors import NotFound
from petaport.domain.tenancy import Scope
from petaport.storage.money_tables import BudgetAlertRow, BudgetRow


@dataclass(frozen=True)
class StoredBudget:
    budget: Budget
    exhausted_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BudgetAlert:
    id: str
    budget_id: str
    org_id: str
    project_id: str | None
    period: str
    threshold: int
    at: datetime
    message: str


def scope_key(org_id: str, project_id: str | None, unit: BudgetUnit) -> str:
    return f"{org_id}/{project_id or '*'}/{unit.value}"


def _from_row(r: BudgetRow) -> StoredBudget:
    budget = Budget(r.id, r.org_id, r.project_id, BudgetUnit(r.unit), r.limit_amount,
                    BudgetPeriod(r.period), r.grace_s, tuple(r.thresholds))  # fmt: skip
    return StoredBudget(budget, r.exhausted_since, r.created_at, r.updated_at)


class BudgetRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def list_budgets(self, scope: Scope | None = None) -> list[StoredBudget]:
        q = select(BudgetRow).order_by(BudgetRow.org_id, BudgetRow.project_id, BudgetRow.unit)
        rows = [_from_row(r) for r in self.s.scalars(q)]
        if scope is None or scope.everything:
            return rows
        return [b for b in rows if scope.allows(b.budget.org_id, b.budget.project_id)]

    def get(self, budget_id: str, scope: Scope | None = None) -> StoredBudget:
        row = self.s.get(BudgetRow, budget_id)
        found = None if row is None else _from_row(row)
        b = found.budget if found else None
        if (
            found is None
            or b is None
            or (scope is not None and not scope.allows(b.org_id, b.project_id))
        ):
            raise NotFound(f"budget {budget_id} not found")
        return found

    def find(self, org_id: str, project_id: str | None, unit: BudgetUnit) -> StoredBudget | None:
        key = scope_key(org_id, project_id, unit)
        row = self.s.scalars(select(BudgetRow).where(BudgetRow.scope_key == key)).first()
        return None if row is None else _from_row(row)

    def save(self, b: Budget, now: datetime) -> None:
        row = self.s.get(BudgetRow, b.id)
        if row is None:
            row = BudgetRow(id=b.id, scope_key=scope_key(b.org_id, b.project_id, b.unit),
                            org_id=b.org_id, project_id=b.project_id, created_at=now,
                            exhausted_since=None)  # fmt: skip
            self.s.add(row)
        row.unit, row.limit_amount, row.period = b.unit.value, b.limit, b.period.value
        row.grace_s, row.thresholds, row.updated_at = b.grace_s, list(b.thresholds), now
        self.s.flush()

    def delete(self, budget_id: str) -> None:
        self.s.execute(delete(BudgetRow).where(BudgetRow.id == budget_id))

    def set_exhausted(self, changes: dict[str, datetime | None]) -> None:
        for budget_id, since in changes.items():
            row = self.s.get(BudgetRow, budget_id)
            if row is not None:
                row.exhausted_since = since

    def add_alert(self, alert: BudgetAlert) -> bool:
        """Record an alert once per budget, period and threshold; False if it was there."""
        try:
            with self.s.begin_nested():
                self.s.add(BudgetAlertRow(
                    id=alert.id, budget_id=alert.budget_id, org_id=alert.org_id,
                    project_id=alert.project_id, period=alert.period,
                    threshold=alert.threshold, at=alert.at, message=alert.message,
                ))  # fmt: skip
        except IntegrityError:
            return False
        return True

    def fired(self, budget_ids: Sequence[str], period: str) -> set[tuple[str, int]]:
        q = select(BudgetAlertRow.budget_id, BudgetAlertRow.threshold).where(
            BudgetAlertRow.budget_id.in_(list(budget_ids)), BudgetAlertRow.period == period
        )
        return {(b, t) for b, t in self.s.execute(q)}

    def alerts(self, scope: Scope | None = None, limit: int = 100) -> list[BudgetAlert]:
        q = select(BudgetAlertRow).order_by(BudgetAlertRow.at.desc()).limit(limit * 4)
        out = [
            BudgetAlert(r.id, r.budget_id, r.org_id, r.project_id, r.period, r.threshold, r.at,
                        r.message)
            for r in self.s.scalars(q)
        ]  # fmt: skip
        if scope is not None and not scope.everything:
            out = [a for a in out if scope.allows(a.org_id, a.project_id)]
        return out[:limit]
