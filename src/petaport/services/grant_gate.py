"""Grants in the budget gate: what the org pays, and grants that stop work at their cap.

- HKD budgets and prepaid balances count the org's share of each charge: ``org_shares``
  takes what funders paid (the stored drawdown) off the list-price spend per project.
  Reservations of running jobs stay at list price (an upper bound of the org's share: the
  grant may run out while the job runs).
- A grant whose terms say ``stop`` at the cap becomes, once a cap is reached or its validity
  has ended, a zero HKD budget of its project (``grant/<id>``), exhausted since that moment:
  the project's new jobs wait ``GrantExhausted`` and running ones are stopped after the grace,
  exactly as for an exhausted budget. Closing the grant (the committee) lifts the stop; the
  org then pays list price.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.billing.budgets import Budget, BudgetState, BudgetUnit
from petaport.billing.copay import Drawn, exhausted
from petaport.domain.jobs import PendingReason
from petaport.domain.subsidy import Grant, GrantStatus, OnCap
from petaport.storage.repos.budgets import StoredBudget
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.grant_alerts import GrantAlertRepo
from petaport.storage.repos.subsidy import GrantRepo

PREFIX = "grant/"
STOP_GRACE_S = 900
ZERO = Decimal(0)


def org_shares(
    s: Session, rows: list[tuple[str, str, Decimal, Decimal]], since: datetime | None
) -> list[tuple[str, str, Decimal, Decimal]]:
    """``UsageRepo.spend_by_project`` rows with the funders' share taken off the HKD."""
    funded = DrawdownRepo(s).funded_by_project(since)
    if not funded:
        return rows
    return [(o, p, hkd - funded.get((o, p), ZERO), gpu_s) for o, p, hkd, gpu_s in rows]


def stopped_since(grant: Grant, drawn: Drawn, capped_at: datetime | None, now: datetime
                  ) -> datetime | None:  # fmt: skip
    """When a ``stop`` grant began to stop its project's work (None: it does not)."""
    if grant.on_cap is not OnCap.STOP or grant.status is not GrantStatus.ACTIVE:
        return None
    if now >= grant.valid_until:
        return grant.valid_until
    if exhausted(grant, drawn):
        return capped_at or now
    return None


def grant_budgets(s: Session, now: datetime) -> list[StoredBudget]:
    """A zero budget of the project for each ``stop`` grant that is used up or has ended."""
    grants = [
        g for g in GrantRepo(s).list_grants()
        if g.on_cap is OnCap.STOP and g.status is GrantStatus.ACTIVE and g.valid_from <= now
    ]  # fmt: skip
    if not grants:
        return []
    drawn = DrawdownRepo(s).drawn(g.id for g in grants)
    capped = GrantAlertRepo(s).capped_at([g.id for g in grants])
    out = []
    for g in grants:
        since = stopped_since(g, drawn.get(g.id, Drawn()), capped.get(g.id), now)
        if since is not None:
            budget = Budget(PREFIX + g.id, g.org_id, g.project_id, BudgetUnit.HKD, ZERO,
                            grace_s=STOP_GRACE_S, thresholds=())  # fmt: skip
            out.append(StoredBudget(budget, since, since, since))
    return out


def grant_projects(states: Iterable[BudgetState]) -> frozenset[str]:
    """Projects a stopping grant holds (their jobs wait GrantExhausted)."""
    return frozenset(
        st.budget.project_id
        for st in states
        if st.budget.id.startswith(PREFIX) and st.budget.project_id is not None
    )


def relabel(
    waits: dict[str, PendingReason], projects: frozenset[str], project_of: dict[str, str]
) -> dict[str, PendingReason]:
    """BudgetExhausted waits of a stopping grant's projects say GrantExhausted instead."""
    return {
        job_id: PendingReason.GRANT_EXHAUSTED
        if reason is PendingReason.BUDGET_EXHAUSTED and project_of.get(job_id) in projects
        else reason
        for job_id, reason in waits.items()
    }


def stop_reason(project_id: str, projects: Sequence[str] | frozenset[str]) -> str:
    if project_id in projects:
        return "stopped: its subsidy grant's cap is reached or the grant has ended"
    return "stopped: its budget is exhausted and the grace period is over"
