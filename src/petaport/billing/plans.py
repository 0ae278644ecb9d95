"""Plans: how an org is charged beyond per-second usage.

- PAYG (pay as you go): usage at list price; the org pays in advance (PREPAID: a balance that
  charges draw down) or after (POSTPAID: a monthly invoice, optionally under a credit limit).
- TRIAL: time-boxed free credit. The credit is a prepaid balance given by the centre (a
  PROMOTIONS expense); when the trial ends, or its credit is spent, new jobs wait.
- POC (proof of concept): a fixed monthly fee (e.g. HK$1,800) for a capped GPU-hour allowance.
  Usage is rated at list price as always (so reports show its value) and the month's usage
  charges are then credited back by the plan ("covered by plan"); the allowance is a monthly
  GPU-hour budget, so the org pays the fee and never more than one job's worth over the cap.

Converting an org to another plan only changes this record: the org, its users, jobs, usage
and ledger history stay as they are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from petaport.billing.ledger import (
    CREDIT_NOTES,
    BillingMode,
    EntryKind,
    JournalEntry,
    Posting,
    org_account,
)
from petaport.billing.metering import month_bounds, month_of
from petaport.domain.errors import ValidationFailed
from petaport.domain.money import Money


class Plan(enum.StrEnum):
    PAYG = "payg"
    TRIAL = "trial"
    POC = "poc"


@dataclass(frozen=True)
class OrgBilling:
    org_id: str
    mode: BillingMode
    plan: Plan
    plan_started_at: datetime
    plan_ends_at: datetime | None = None  # a trial's end
    plan_fee: Money | None = None  # a PoC plan's monthly fee
    plan_gpu_hours: Decimal | None = None  # a PoC plan's monthly allowance

    def __post_init__(self) -> None:
        problems = plan_problems(self)
        if problems:
            raise ValidationFailed("; ".join(problems), errors=problems)

    def trial_over(self, now: datetime) -> bool:
        return (
            self.plan is Plan.TRIAL and self.plan_ends_at is not None and now >= self.plan_ends_at
        )

    def fee_months(self, now: datetime) -> tuple[str, ...]:
        """Hong Kong months whose PoC fee is due by ``now`` (from the plan's start month)."""
        if self.plan is not Plan.POC:
            return ()
        out, month = [], month_of(self.plan_started_at)
        while month_bounds(month)[0] <= now:
            out.append(month)
            month = month_of(month_bounds(month)[1])
        return tuple(out)


def plan_problems(b: OrgBilling) -> list[str]:
    out = []
    if b.plan is Plan.TRIAL:
        if b.plan_ends_at is None or b.plan_ends_at <= b.plan_started_at:
            out.append("a trial has an end after its start")
        if b.mode is not BillingMode.PREPAID:
            out.append("a trial is prepaid (its credit is the balance)")
    if b.plan is Plan.POC:
        if b.plan_fee is None or b.plan_fee.amount <= 0:
            out.append("a proof-of-concept plan has a monthly fee above zero")
        if b.plan_gpu_hours is None or b.plan_gpu_hours <= 0:
            out.append("a proof-of-concept plan has a GPU-hour allowance above zero")
    return out


def default_billing(org_id: str, now: datetime) -> OrgBilling:
    """An org nobody configured: pay as you go, invoiced monthly."""
    return OrgBilling(org_id, BillingMode.POSTPAID, Plan.PAYG, now)


def plan_credit_entry(b: OrgBilling, month: str, usage: Money) -> JournalEntry | None:
    """The PoC credit for a month: the month's usage charges, covered by the plan fee."""
    if b.plan is not Plan.POC or usage.amount <= 0:
        return None
    at = month_bounds(month)[1] - timedelta(seconds=1)  # the month's last second: in the month
    legs = (Posting(CREDIT_NOTES, usage), Posting(org_account(b.org_id, b.mode), -usage))
    entry = JournalEntry(f"je_plancredit/{b.org_id}/{month}", EntryKind.CREDIT_NOTE, at,
                         b.org_id, legs, "usage covered by the proof-of-concept plan")  # fmt: skip
    return entry
