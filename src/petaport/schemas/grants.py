"""Request and response bodies of the grants API: grants with their drawdown, alerts,
progress reports and funder statements. Amounts are decimal strings; rates fractions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from petaport.schemas import Model, Text
from petaport.schemas.money import Amount, Hours

Rate = Annotated[Decimal, Field(strict=False, ge=0, le=1, max_digits=6, decimal_places=4)]
When = Annotated[datetime, Field(strict=False)]


class MilestoneIn(Model):
    key: Text = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    title: Text = Field(min_length=1, max_length=200)
    due: When
    gpu_hours: Hours = Decimal(0)


class GrantCreate(Model):
    scheme_id: Text = Field(min_length=1, max_length=40)
    project: Text = Field(min_length=1, max_length=130,
                          description="Project id or `org-slug/project-slug`.")  # fmt: skip
    rate: Rate | None = Field(None, description="Fraction (0.70); none: the scheme's rate.")
    valid_from: When
    valid_until: When
    cap: Amount | None = Field(None, description="The most the funder pays, HKD.")
    cap_gpu_hours: Hours | None = None
    allowed_gpu_models: list[Annotated[Text, Field(max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Empty: every model and CPU work."
    )
    on_cap: Literal["bill_org", "stop"] = "bill_org"
    conditions: Text = Field("", max_length=5000)
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=50)
    report_every_months: int = Field(3, ge=1, le=24)
    grace_days: int = Field(30, ge=0, le=365)
    suspend_when_late: bool = False


class GrantAction(Model):
    reason: Text = Field("", max_length=2000)


class MilestonePublic(BaseModel):
    key: str
    title: str
    due: datetime
    gpu_hours: Decimal


class GrantAlertPublic(BaseModel):
    id: str
    grant_id: str
    org_id: str
    project_id: str
    kind: str
    at: datetime
    message: str


class GrantPublic(BaseModel):
    id: str
    scheme_id: str
    funder_id: str
    org_id: str
    project_id: str
    application_id: str | None
    rate: Decimal
    status: str
    valid_from: datetime
    valid_until: datetime
    cap: Decimal | None
    cap_gpu_hours: Decimal | None
    allowed_gpu_models: list[str]
    on_cap: str
    conditions: str
    funded: Decimal = Field(description="HKD the funder paid so far.")
    funded_gpu_hours: Decimal
    percent_cap: Decimal | None
    percent_gpu_hours: Decimal | None
    milestones: list[MilestonePublic]
    report_every_months: int
    grace_days: int
    suspend_when_late: bool
    alerts: list[GrantAlertPublic]


class AuditPublic(BaseModel):
    id: str
    at: datetime
    actor_id: str | None
    action: str
    details: dict[str, object]


class ReportCreate(Model):
    summary: Text = Field(min_length=1, max_length=20_000)
    progress: dict[
        Annotated[str, Field(max_length=40)], Annotated[Text, Field(max_length=5000)]
    ] = Field(default_factory=dict, description="Milestone key -> progress text.")


class ReportPublic(BaseModel):
    id: str
    grant_id: str
    period_start: datetime
    period_end: datetime
    due_at: datetime
    filed_at: datetime
    filed_by: str
    summary: str
    progress: dict[str, str]
    planned_gpu_hours: Decimal
    actual_gpu_hours: Decimal
    late: bool


class PeriodPublic(BaseModel):
    period_start: datetime
    period_end: datetime
    due_at: datetime
    overdue: bool
    report: ReportPublic | None


class StatementLinePublic(BaseModel):
    grant_id: str
    org_id: str
    org_name: str
    project_id: str
    project_name: str
    charges: int
    list_price: Decimal
    funder_share: Decimal
    org_share: Decimal
    gpu_hours: Decimal


class StatementPublic(BaseModel):
    funder_id: str
    month: str
    currency: str = "HKD"
    lines: list[StatementLinePublic]
    list_price: Decimal
    funder_total: Decimal
    org_total: Decimal
    gpu_hours: Decimal
    ledger_total: Decimal = Field(description="FUNDER_RECEIVABLE postings of the month.")
