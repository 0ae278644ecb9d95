"""Wire schemas of the catalogue, access grants, risk assessments and AI Lab templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from petaport.schemas import Model, Text

EntryKindName = Literal["model", "dataset"]
SensitivityName = Literal["public", "restricted", "resident_only"]
GrantStatusName = Literal["requested", "approved", "rejected"]
RiskLevelName = Literal["low", "medium", "high", "unacceptable"]
AssessmentStatusName = Literal["running", "evaluated", "failed", "approved", "rejected"]
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$"


class EntryCreate(Model):
    kind: EntryKindName
    name: Text = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    owner_org: Text | None = Field(
        None, max_length=64, description="Org id or slug; null: the centre (centre admins)."
    )
    description: Text = Field("", max_length=20_000)
    licence: Text = Field(min_length=1, max_length=200, description="SPDX id, e.g. CC-BY-4.0.")
    data_use_agreement: Text = Field("", max_length=20_000)
    sensitivity: SensitivityName = "restricted"
    card: Text = Field("", max_length=100_000, description="Model card or data card, Markdown.")
    tags: list[Text] = Field(default_factory=list, max_length=20)


class VersionCreate(Model):
    version: Text = Field(pattern=VERSION_PATTERN)
    path: Text = Field(
        min_length=1, max_length=4096,
        description="On the centre's storage, inside the owner's directory (or relative to it).",
    )  # fmt: skip
    sha256: Text | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="Client's digest.")
    size_bytes: int | None = Field(None, ge=0)


class VersionPublic(BaseModel):
    id: str
    version: str
    path: str
    size_bytes: int
    sha256: str
    status: Literal["ready", "corrupt"]
    registered_at: datetime
    verified_at: datetime | None
    cleared: bool = Field(description="A model version cleared by a signed-off assessment.")


class EntryPublic(BaseModel):
    id: str
    kind: EntryKindName
    name: str
    ref: str = Field(description="How a job names it: `dataset:ORG/NAME`.")
    env_var: str = Field(description="The variable that names its path inside a job.")
    owner_org_id: str | None
    owner: str | None = Field(description="The owner org's slug; null: the centre.")
    description: str
    licence: str
    data_use_agreement: str
    sensitivity: SensitivityName
    card: str
    tags: list[str]
    published: bool
    created_at: datetime
    updated_at: datetime
    versions: list[VersionPublic]


class PublishUpdate(Model):
    published: bool = True


class AccessRequestCreate(Model):
    project: Text = Field(min_length=1, max_length=130, description="Id or org/project.")
    purpose: Text = Field(min_length=10, max_length=2000)
    accept_data_use_agreement: bool


class GrantDecision(Model):
    approve: bool
    expires_at: datetime | None = Field(None, strict=False, description="Needed to approve.")
    reason: Text = Field("", max_length=2000, description="Needed to reject.")


class GrantPublic(BaseModel):
    id: str
    entry_id: str
    entry_ref: str
    org_id: str
    project_id: str
    purpose: str
    status: GrantStatusName
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    expires_at: datetime | None
    reason: str
    valid_now: bool
    can_decide: bool


class UsePublic(BaseModel):
    id: str
    job_id: str
    org_id: str
    project_id: str
    entry_id: str
    version: str
    at: datetime


class AssessmentCreate(Model):
    project: Text = Field(min_length=1, max_length=130, description="Owner's project to run in.")


class SignOffCreate(Model):
    approve: bool
    risk_level: RiskLevelName
    conditions: Text = Field("", max_length=5000)


class AssessmentPublic(BaseModel):
    id: str
    entry_id: str
    version_id: str
    version: str
    project_id: str
    job_id: str | None
    status: AssessmentStatusName
    suite: str
    results: dict[str, Any]
    risk_level: RiskLevelName | None
    conditions: str
    reviewer_id: str | None
    signed_at: datetime | None
    model_card: str
    created_at: datetime | None


class TemplateParamPublic(BaseModel):
    name: str
    kind: Literal["int", "float", "str"]
    default: int | float | str
    minimum: float | None = None
    maximum: float | None = None
    help: str


class TemplatePublic(BaseModel):
    name: str
    version: str
    title: str
    description: str
    cpus: int
    memory_mb: int
    gpus: int
    walltime_s: int
    params: list[TemplateParamPublic]


class LabRunCreate(Model):
    project: Text = Field(min_length=1, max_length=130)
    params: dict[Text, int | float | Text] = Field(default_factory=dict, max_length=32)
    uses: list[Text] = Field(default_factory=list, max_length=32)


class EstimateLinePublic(BaseModel):
    resource: str
    quantity: str
    amount: str | None


class EstimatePublic(BaseModel):
    template: str
    walltime_s: int
    gpu_hours: str
    cpu_hours: str
    priced: bool = Field(description="False while no price book is stored: hours only.")
    currency: str | None
    total: str | None
    lines: list[EstimateLinePublic]
    note: str
