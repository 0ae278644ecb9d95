"""Warnings a grant owes its org before the subsidy stops (pure): 80% and 100% of each cap
(HKD and GPU-hours), 30 and 7 days before it expires, and once it has expired.

``alerts_due`` lists every alert whose condition holds now; the service records each kind
once per grant (a unique key), so a condition that keeps holding warns once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from petaport.billing.copay import Drawn, cap_gpu_s
from petaport.domain.subsidy import Grant, GrantStatus

CAP_PERCENTS = (80, 100)
EXPIRY_DAYS = (30, 7)
CAP_REACHED = frozenset({"hkd_100", "gpu_100"})


@dataclass(frozen=True)
class AlertDue:
    kind: str  # hkd_80, hkd_100, gpu_80, gpu_100, expiry_30d, expiry_7d, expired
    message: str


def _cap_alerts(grant: Grant, drawn: Drawn) -> list[AlertDue]:
    out = []
    gpu_cap = cap_gpu_s(grant)
    for pct in CAP_PERCENTS:
        if grant.cap is not None and drawn.funded * 100 >= pct * grant.cap.amount:
            out.append(AlertDue(f"hkd_{pct}", f"{pct}% of the grant's HKD cap of "
                                f"{grant.cap} is used"))  # fmt: skip
        if gpu_cap is not None and drawn.gpu_s * 100 >= pct * gpu_cap - Decimal("0.1"):
            out.append(AlertDue(f"gpu_{pct}", f"{pct}% of the grant's cap of "
                                f"{grant.cap_gpu_hours:,} GPU-hours is used"))  # fmt: skip
    return out


def alerts_due(grant: Grant, drawn: Drawn, now: datetime) -> list[AlertDue]:
    """The alerts whose condition holds for an active grant at ``now``."""
    if grant.status is not GrantStatus.ACTIVE or now < grant.valid_from:
        return []
    out = _cap_alerts(grant, drawn)
    if now >= grant.valid_until:
        out.append(AlertDue("expired", f"the grant ended on {grant.valid_until:%Y-%m-%d}"))
        return out
    for days in EXPIRY_DAYS:
        if now >= grant.valid_until - timedelta(days=days):
            out.append(AlertDue(f"expiry_{days}d", f"the grant ends in {days} days or less, "
                                f"on {grant.valid_until:%Y-%m-%d}"))  # fmt: skip
    return out
