"""Wire schemas of the subsidy workflow: schemes, calls, the calculator, applications, review,
decisions, the stage clock and the audit trail. Rates are fractions ("0.70"); amounts and
hours are decimal strings, never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from petaport.schemas import Model, OrgCategoryName, Text

Rate = Annotated[Decimal, Field(strict=False, ge=0, le=1, max_digits=8, decimal_places=6)]
Hours = Annotated[
    Decimal, Field(strict=False, ge=0, le=100_000_000, max_digits=14, decimal_places=3)
]
Amount = Annotated[
    Decimal, Field(strict=False, gt=0, le=10_000_000_000, max_digits=16, decimal_places=2)
]
Big = Annotated[Decimal, Field(strict=False, gt=0, le=Decimal("1e20"))]
When = Annotated[datetime, Field(strict=False)]
StateName = Literal["draft", "submitted", "review", "committee", "changes_requested",
                    "approved", "rejected", "ineligible"]  # fmt: skip
StageName = Literal["draft", "screening", "review", "committee", "changes_requested", "decided"]
PrecisionName = Literal["fp32", "tf32", "bf16", "fp16", "fp8"]
ModeName = Literal["training", "fine_tuning", "inference"]
OutcomeName = Literal["approved", "rejected", "changes_requested"]


class CriterionIn(Model):
    key: Text = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: Text = Field(min_length=1, max_length=200)
    weight: Rate


class SchemeCreate(Model):
    name: Text = Field(min_length=1, max_length=200)
    funder: Text = Field(min_length=1, max_length=64)
    default_rate: Rate = Decimal("0.70")
    max_rate: Rate = Decimal("0.90")
    eligible_categories: list[OrgCategoryName] | None = Field(
        None, description="Null: every category."
    )
    category_rates: dict[OrgCategoryName, Rate] = Field(default_factory=dict)
    rubric: list[CriterionIn] | None = Field(None, description="Null: the default rubric.")


class CriterionPublic(BaseModel):
    key: str
    label: str
    weight: Decimal


class SchemePublic(BaseModel):
    id: str
    name: str
    funder: str
    default_rate: Decimal
    max_rate: Decimal
    eligible_categories: list[str]
    category_rates: dict[str, Decimal]
    rubric: list[CriterionPublic]


class CallCreate(Model):
    scheme: Text = Field(min_length=1, max_length=200, description="Scheme id or name.")
    name: Text = Field(min_length=1, max_length=200)
    opens_at: When
    closes_at: When


class CallUpdate(Model):
    name: Text = Field(min_length=1, max_length=200)
    opens_at: When
    closes_at: When


class CallPublic(BaseModel):
    id: str
    scheme_id: str
    name: str
    opens_at: datetime
    closes_at: datetime
    open: bool


class CalculatorInput(Model):
    parameters: Big = Field(description="Model parameters N, e.g. 7e9.")
    gpu_model: Text = Field(min_length=1, max_length=32)
    precision: PrecisionName = "bf16"
    mode: ModeName = "training"
    fine_tuning: Literal["full", "lora"] = "full"
    mfu: Rate = Field(Decimal("0.40"), description="Assumed model FLOPs utilisation.")
    tokens: Big | None = Field(None, description="Tokens D per epoch.")
    samples: Big | None = Field(None, description="Dataset size in samples (instead of tokens).")
    tokens_per_sample: Big | None = None
    epochs: Big = Decimal(1)
    batch_size: int | None = Field(None, ge=1, le=100_000_000)


class CalculatorPublic(BaseModel):
    flops: Decimal
    peak_flops_per_s: Decimal
    tokens: Decimal
    gpu_hours: Decimal
    steps: int | None
    formula: str
    assumptions: list[str]


class MilestoneIn(Model):
    title: Text = Field(min_length=1, max_length=200)
    due_on: Annotated[date, Field(strict=False)]
    planned_gpu_hours: Hours


class ProposalIn(Model):
    title: Text = Field(min_length=1, max_length=200)
    description: Text = Field("", max_length=20_000)
    gpu_model: Text = Field("H800", min_length=1, max_length=32)
    gpu_hours: Hours = Decimal(0)
    duration_months: int = Field(6, ge=1, le=60)
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=50)
    declarations: list[Text] = Field(default_factory=list, max_length=20)
    calculation: dict[str, Any] = Field(default_factory=dict)


class ApplicationCreate(ProposalIn):
    call_id: Text = Field(min_length=1, max_length=64)
    project: Text = Field(min_length=1, max_length=130, description="Id or org-slug/proj-slug.")


class MilestonePublic(BaseModel):
    title: str
    due_on: date
    planned_gpu_hours: Decimal


class ScreeningPublic(BaseModel):
    eligible: bool
    reason: str
    at: datetime


class AttachmentPublic(BaseModel):
    id: str
    filename: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class VersionPublic(BaseModel):
    version: int
    submitted_at: datetime
    snapshot: dict[str, Any]


class TermsPublic(BaseModel):
    gpu_hours: Decimal
    valid_from: datetime
    valid_until: datetime
    cap: Decimal | None
    rate: Decimal | None
    allowed_gpu_models: list[str]
    on_cap: str
    conditions: str


class DecisionPublic(BaseModel):
    id: str
    application_id: str
    outcome: OutcomeName
    reasons: str
    version: int
    decided_at: datetime
    terms: TermsPublic | None
    grant_id: str | None
    application_state: StateName | None = None


class StageClockPublic(BaseModel):
    current: StageName
    seconds: dict[str, int]
    in_current_s: int
    target_s: int | None
    overdue: bool


class ApplicationPublic(BaseModel):
    id: str
    call_id: str
    call_name: str
    scheme_id: str
    scheme_name: str
    org_id: str
    org_name: str
    project_id: str
    project: str
    category: str
    title: str
    description: str
    gpu_model: str
    gpu_hours: Decimal
    duration_months: int
    milestones: list[MilestonePublic]
    declarations: list[str]
    calculation: dict[str, Any]
    state: StateName
    version: int
    changes_reason: str
    screening: ScreeningPublic | None
    attachments: list[AttachmentPublic]
    versions: list[VersionPublic]
    decisions: list[DecisionPublic]
    stage_clock: StageClockPublic
    can_edit: bool
    created_at: datetime
    updated_at: datetime


class ScreeningCreate(Model):
    eligible: bool
    reason: Text = Field("", max_length=5000)


class AssignmentCreate(Model):
    reviewer: Text = Field(min_length=1, max_length=64, description="Username or user id.")


class AssignmentPublic(BaseModel):
    id: str
    application_id: str
    reviewer_id: str
    reviewer: str | None = None
    assigned_at: datetime
    coi: Literal["none", "conflicted"] | None
    coi_statement: str
    coi_at: datetime | None
    scored: bool | None = None
    application_title: str | None = None
    application_state: StateName | None = None


class CoiCreate(Model):
    coi: Literal["none", "conflicted"]
    statement: Text = Field("", max_length=5000)


class ScoreIn(Model):
    criterion: Text = Field(min_length=1, max_length=40)
    score: int = Field(ge=0, le=10)
    comment: Text = Field("", max_length=5000)


class ScoresCreate(Model):
    scores: list[ScoreIn] = Field(min_length=1, max_length=30)


class ReviewPublic(BaseModel):
    assignment_id: str
    reviewer_id: str
    version: int
    scores: list[ScoreIn]
    total: Decimal = Field(description="Σ weight × score, on the 0-10 scale, exact.")
    submitted_at: datetime


class ReviewsPublic(BaseModel):
    application_id: str
    version: int
    rubric: list[CriterionPublic]
    reviewers: list[AssignmentPublic]
    reviews: list[ReviewPublic]
    mean_total: Decimal | None
    complete: bool


class TermsIn(Model):
    gpu_hours: Hours
    valid_from: When
    valid_until: When
    cap: Amount | None = Field(None, description="The most the funder pays, HKD.")
    rate: Rate | None = Field(None, description="Null: the scheme's rate for the category.")
    allowed_gpu_models: list[Text] = Field(default_factory=list, max_length=20)
    on_cap: Literal["bill_org", "stop"] = "bill_org"
    conditions: Text = Field("", max_length=20_000)


class DecisionCreate(Model):
    outcome: OutcomeName
    reasons: Text = Field("", max_length=20_000)
    terms: TermsIn | None = None


class StagePublic(BaseModel):
    application_id: str
    title: str
    org_id: str
    state: StateName
    clock: StageClockPublic


class AuditPublic(BaseModel):
    id: str
    at: datetime
    actor_id: str | None
    action: str
    subject_kind: str
    subject_id: str
    application_id: str | None
    grant_id: str | None
    details: dict[str, Any]


class ReviewerPublic(BaseModel):
    id: str
    username: str
    display_name: str
