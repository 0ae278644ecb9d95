"""Request and response bodies of the money API. Amounts are decimal strings ("1234.50")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from petaport.schemas import JobCreate, Model, QosName, Text

# Money in a request: a JSON number or a decimal string, at most two decimals, never a float.
Amount = Annotated[
    Decimal, Field(strict=False, ge=0, le=1_000_000_000, max_digits=14, decimal_places=2)
]
Hours = Annotated[
    Decimal, Field(strict=False, ge=0, le=100_000_000, max_digits=14, decimal_places=3)
]
UnitName = Literal["HKD", "gpu_hours"]
PeriodName = Literal["none", "monthly"]


class BudgetSet(Model):
    org: Text = Field(min_length=1, max_length=64, description="Org id or slug.")
    project: Text | None = Field(
        None, min_length=1, max_length=130,
        description="Project id, slug or `org-slug/project-slug`; none: the whole org.",
    )  # fmt: skip
    unit: UnitName = "HKD"
    limit: Hours = Field(description="In HKD, or in GPU-hours.")
    period: PeriodName = Field("none", description="monthly: resets each Hong Kong month.")
    grace_s: int = Field(900, ge=0, le=30 * 86_400, description="Stop running jobs after.")
    thresholds: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: [50, 80, 100], max_length=10
    )


class BudgetPublic(BaseModel):
    id: str
    org_id: str
    project_id: str | None
    unit: UnitName
    limit: Decimal
    period: PeriodName
    grace_s: int
    thresholds: list[int]
    spent: Decimal = Field(description="In the budget's unit, this period.")
    reserved: Decimal = Field(description="Projected cost of the running jobs it covers.")
    remaining: Decimal
    percent_spent: Decimal
    exhausted_since: datetime | None


class BudgetAlertPublic(BaseModel):
    id: str
    budget_id: str
    org_id: str
    project_id: str | None
    period: str
    threshold: int
    at: datetime
    message: str


class PlanSet(Model):
    plan: Literal["payg", "trial", "poc"]
    mode: Literal["prepaid", "postpaid"] = "postpaid"
    trial_days: int | None = Field(None, ge=1, le=366)
    trial_credit: Amount | None = None
    poc_fee: Amount | None = Field(None, description="Monthly fee, e.g. 1800.00.")
    poc_gpu_hours: Hours | None = Field(None, description="Monthly GPU-hour allowance.")


class TopUpCreate(Model):
    amount: Amount
    reference: Text = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                            description="The payment's reference; one top-up each.")  # fmt: skip


class AccountPublic(BaseModel):
    org_id: str
    plan: str
    mode: str
    plan_started_at: datetime
    plan_ends_at: datetime | None
    plan_fee: Decimal | None
    plan_gpu_hours: Decimal | None
    currency: str
    balance: Decimal = Field(description="Prepaid: money left. Post-paid: minus what is owed.")
    month_spend: Decimal = Field(description="Charged this Hong Kong month.")


class UsageLinePublic(BaseModel):
    month: str
    org_id: str
    project_id: str
    resource: str
    gpu_model: str | None
    tier: str
    unit_hours: Decimal
    amount: Decimal


class EstimateCreate(JobCreate):
    """A job as it would be submitted; nothing is stored."""


class EstimateLinePublic(BaseModel):
    resource: str
    gpu_model: str | None
    quantity: Decimal
    amount: Decimal


class BudgetLeftPublic(BaseModel):
    budget_id: str
    unit: UnitName
    left: Decimal


class EstimatePublic(BaseModel):
    walltime_s: int
    walltime_assumed: bool = Field(description="True when the job gives no walltime.")
    currency: str
    total: Decimal
    gpu_hours: Decimal
    lines: list[EstimateLinePublic]
    budgets: list[BudgetLeftPublic]


class PricePublic(BaseModel):
    resource: str
    gpu_model: str | None
    tier: str
    unit_price: Decimal


class PriceVersionPublic(BaseModel):
    id: str
    effective_from: datetime
    currency: str
    minimum_billable_s: int
    preemption_credit: str
    prices: list[PricePublic]


UnitPrice = Annotated[
    Decimal, Field(strict=False, ge=0, le=1_000_000, max_digits=14, decimal_places=4)
]
ResourceName = Literal["gpu_hour", "cpu_core_hour", "memory_gib_hour", "storage_tib_month"]


class PriceCreate(Model):
    resource: ResourceName
    gpu_model: Text | None = Field(
        None, min_length=1, max_length=64, description="GPU prices only; none: every other model."
    )
    tier: QosName
    unit_price: UnitPrice = Field(description="HKD per unit-hour (storage: per TiB-month).")

    @model_validator(mode="after")
    def _model_for_gpus_only(self) -> PriceCreate:
        if self.gpu_model is not None and self.resource != "gpu_hour":
            raise ValueError("only gpu_hour prices name a GPU model")
        return self


class PriceVersionCreate(Model):
    """A new edition of the price list. It takes effect on a whole hour, now or later and after
    every stored version, and prices everything the latest version prices."""

    id: Text = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    effective_from: AwareDatetime = Field(strict=False, description="With its UTC offset.")
    prices: list[PriceCreate] = Field(min_length=1, max_length=1000)
    minimum_billable_s: int = Field(60, ge=0, le=86_400)
    preemption_credit: Literal["none", "last_partial_hour", "full"] = "last_partial_hour"

    @field_validator("effective_from")
    @classmethod
    def _billable_year(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 9000:
            raise ValueError("effective_from must be between the years 2000 and 9000")
        return value
