"""The committee's decision on an application: approve with terms (which become the grant),
reject with reasons, or request changes (docs/subsidy.md).

``grant_from_terms`` builds the grant an approval creates and checks it against the scheme
(``new_grant_for``): a rate above the scheme's maximum raises ``RateAboveMaximum``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import Money
from petaport.domain.subsidy import Grant, OnCap, Scheme, new_grant_for
from petaport.domain.subsidy_workflow import Application


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"


@dataclass(frozen=True)
class Terms:
    """What the committee approves. ``rate`` None: the scheme's rate for the org's category."""

    gpu_hours: Decimal
    valid_from: datetime
    valid_until: datetime
    cap: Money | None
    rate: Decimal | None = None
    allowed_gpu_models: frozenset[str] = frozenset()
    on_cap: OnCap = OnCap.BILL_ORG
    conditions: str = ""

    def __post_init__(self) -> None:
        if not self.gpu_hours.is_finite() or self.gpu_hours <= 0:
            raise ValidationFailed("approve a positive number of GPU-hours")
        if len(self.conditions) > 20_000:
            raise ValidationFailed("the conditions are at most 20,000 characters")


@dataclass(frozen=True)
class Decision:
    id: str
    application_id: str
    outcome: Outcome
    reasons: str
    decided_by: str
    decided_at: datetime
    version: int
    terms: Terms | None = None
    grant_id: str | None = None


def check_reasons(outcome: Outcome, reasons: str) -> str:
    text = reasons.strip()
    if outcome is not Outcome.APPROVED and not text:
        raise ValidationFailed("give the reasons for this decision; the applicant reads them")
    if len(text) > 20_000:
        raise ValidationFailed("the reasons are at most 20,000 characters")
    return text


def grant_from_terms(grant_id: str, scheme: Scheme, app: Application, terms: Terms) -> Grant:
    """The grant an approval of ``app`` on ``terms`` puts on its project."""
    rate = terms.rate if terms.rate is not None else scheme.rate_for(app.category)
    grant = Grant(
        id=grant_id, scheme_id=scheme.id, funder_id=scheme.funder_id, org_id=app.org_id,
        project_id=app.project_id, rate=rate, valid_from=terms.valid_from,
        valid_until=terms.valid_until, cap=terms.cap, cap_gpu_hours=terms.gpu_hours,
        allowed_gpu_models=terms.allowed_gpu_models, on_cap=terms.on_cap,
        application_id=app.id, conditions=terms.conditions,
    )  # fmt: skip
    return new_grant_for(scheme, grant)
