"""The subsidy scheme's core objects: schemes (funder, rates, rubric) and grants (docs/subsidy.md).

A **scheme** belongs to one funder and says what it pays: a default share of the centre's list
price (70%), a maximum the committee may grant in exceptional cases (90%), which org categories
may apply and at which rate each, and the weighted criteria reviewers score.

A **grant** is an approved application put on a project: the funder's rate, caps (HKD of
subsidy and GPU-hours), validity dates, the GPU models it funds and what happens at the cap.

Invariants, checked on construction:
- rates are fractions in [0, 1]; ``default_rate <= max_rate``; a category rate is at most
  ``max_rate``; a grant's rate is at most its scheme's maximum (``check_rate``);
- rubric weights are positive and sum to exactly 1; criterion keys are unique;
- a grant's validity is a non-empty, timezone-aware interval; caps, when given, are positive.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import Money
from petaport.domain.tenancy import OrgCategory

ONE = Decimal(1)


class RateAboveMaximum(ValidationFailed):
    code = "rate_above_maximum"
    title = "Subsidy rate above the scheme's maximum"


class OnCap(enum.StrEnum):
    """What happens to a project's charges once its grant's cap is reached (or it expires)."""

    BILL_ORG = "bill_org"  # further charges go to the org at list price
    STOP = "stop"  # the project's jobs stay pending / are stopped, as for an exhausted budget


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # e.g. a late progress report; charges go to the org meanwhile
    CLOSED = "closed"


def _check_fraction(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= ONE:
        raise ValidationFailed(f"{what} is a fraction between 0 and 1 (e.g. 0.70)")


@dataclass(frozen=True)
class Criterion:
    """One weighted review criterion; ``weight`` is a fraction of the total (0.25 = 25%)."""

    key: str
    label: str
    weight: Decimal

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum():
            raise ValidationFailed(f"criterion key {self.key!r} must be letters, digits or _")
        if not isinstance(self.weight, Decimal) or not 0 < self.weight <= ONE:
            raise ValidationFailed(f"criterion {self.key!r} needs a weight in (0, 1]")


DEFAULT_RUBRIC: tuple[Criterion, ...] = (
    Criterion("alignment", "Alignment with Hong Kong's I&T and AI needs", Decimal("0.25")),
    Criterion("compute", "Reasonableness of the compute requested", Decimal("0.20")),
    Criterion("merit", "Technical merit and feasibility", Decimal("0.20")),
    Criterion("team", "Capability of the team", Decimal("0.15")),
    Criterion("impact", "Expected impact and benefits to Hong Kong", Decimal("0.20")),
)


def check_rubric(rubric: tuple[Criterion, ...]) -> None:
    keys = [c.key for c in rubric]
    if not rubric:
        raise ValidationFailed("a rubric needs at least one criterion")
    if len(set(keys)) != len(keys):
        raise ValidationFailed("criterion keys must be unique")
    if sum((c.weight for c in rubric), Decimal(0)) != ONE:
        raise ValidationFailed("criterion weights must sum to 100%")


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    funder_id: str
    default_rate: Decimal = Decimal("0.70")
    max_rate: Decimal = Decimal("0.90")
    eligible_categories: frozenset[OrgCategory] = frozenset(OrgCategory)
    category_rates: Mapping[OrgCategory, Decimal] = field(default_factory=dict)
    rubric: tuple[Criterion, ...] = DEFAULT_RUBRIC

    def __post_init__(self) -> None:
        _check_fraction(self.default_rate, "the default rate")
        _check_fraction(self.max_rate, "the maximum rate")
        if self.default_rate > self.max_rate:
            raise ValidationFailed("the default rate cannot exceed the maximum rate")
        for category, rate in self.category_rates.items():
            _check_fraction(rate, f"the rate for {category.value}")
            self.check_rate(rate)
        if not self.eligible_categories:
            raise ValidationFailed("a scheme needs at least one eligible org category")
        if not self.funder_id:
            raise ValidationFailed("a scheme needs a funder")
        check_rubric(self.rubric)

    def rate_for(self, category: OrgCategory) -> Decimal:
        """The rate an approved applicant of ``category`` gets unless the committee decides
        otherwise."""
        return self.category_rates.get(category, self.default_rate)

    def eligible(self, category: OrgCategory) -> bool:
        return category in self.eligible_categories

    def check_rate(self, rate: Decimal) -> None:
        _check_fraction(rate, "a subsidy rate")
        if rate > self.max_rate:
            raise RateAboveMaximum(
                f"a subsidy rate of {rate:%} is above this scheme's maximum of {self.max_rate:%}"
            )


@dataclass(frozen=True)
class Grant:
    id: str
    scheme_id: str
    funder_id: str
    org_id: str
    project_id: str
    rate: Decimal
    valid_from: datetime
    valid_until: datetime
    cap: Money | None = None  # the most the funder pays, HKD
    cap_gpu_hours: Decimal | None = None  # the most GPU-hours it funds
    allowed_gpu_models: frozenset[str] = frozenset()  # empty: any GPU model (and CPU work)
    on_cap: OnCap = OnCap.BILL_ORG
    status: GrantStatus = GrantStatus.ACTIVE
    application_id: str | None = None
    conditions: str = ""

    def __post_init__(self) -> None:
        _check_fraction(self.rate, "a subsidy rate")
        if self.valid_from.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValidationFailed("grant validity needs timezone-aware times")
        if self.valid_until <= self.valid_from:
            raise ValidationFailed("a grant must end after it starts")
        if self.cap is not None and self.cap.amount <= 0:
            raise ValidationFailed("a grant's HKD cap must be positive")
        if self.cap_gpu_hours is not None and self.cap_gpu_hours <= 0:
            raise ValidationFailed("a grant's GPU-hour cap must be positive")

    def valid_at(self, at: datetime) -> bool:
        """Active and inside its validity period at ``at`` (caps are not looked at)."""
        return self.status is GrantStatus.ACTIVE and self.valid_from <= at < self.valid_until

    def funds_model(self, gpu_model: str | None) -> bool:
        """Whether work on ``gpu_model`` (None: CPU-only work) is funded by this grant."""
        if not self.allowed_gpu_models:
            return True
        return gpu_model is not None and gpu_model in self.allowed_gpu_models


def new_grant_for(scheme: Scheme, grant: Grant) -> Grant:
    """``grant`` checked against the scheme it comes from (its rate at most the maximum)."""
    if grant.scheme_id != scheme.id or grant.funder_id != scheme.funder_id:
        raise ValidationFailed("a grant belongs to its scheme and the scheme's funder")
    scheme.check_rate(grant.rate)
    return grant
