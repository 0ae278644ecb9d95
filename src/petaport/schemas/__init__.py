"""Wire schemas shared by the API (server) and the client (SDK): pydantic models only.

Names follow ``<Noun>Create`` (request) and ``<Noun>Public`` (response). Every string field
refuses NUL characters, which no database stores faithfully.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
T = TypeVar("T")

OrgCategoryName = Literal[
    "university", "research_institute", "startup", "enterprise", "public_body"
]
RoleName = Literal["centre_admin", "reviewer", "committee", "org_admin", "member", "viewer"]
OrgRoleName = Literal["org_admin", "member", "viewer"]
CentreRoleName = Literal["centre_admin", "reviewer", "committee"]
QosName = Literal["reserved", "on-demand", "preemptible"]
JobStateName = Literal[
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "PREEMPTED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
]
ScopeName = Literal["*", "jobs:read", "jobs:write", "admin"]


class Model(BaseModel):
    """Request bodies: unknown fields and loose types ("2" for 2, 0 for false) are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is stable and machine-readable."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, object]] | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class OrgCreate(Model):
    name: Text = Field(min_length=1, max_length=200)
    slug: Text = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    category: OrgCategoryName


class OrgPublic(BaseModel):
    id: str
    name: str
    slug: str
    category: OrgCategoryName
    created_at: datetime


class ProjectCreate(Model):
    org_id: Text = Field(max_length=40)
    name: Text = Field(min_length=1, max_length=200)
    slug: Text = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    description: Text = Field("", max_length=2000)


class ProjectPublic(BaseModel):
    id: str
    org_id: str
    name: str
    slug: str
    description: str
    created_at: datetime


class UserCreate(Model):
    username: Text = Field(pattern=r"^[a-z][a-z0-9._-]{1,63}$")
    email: Text = Field(max_length=254)
    display_name: Text = Field("", max_length=200)
    password: Text | None = Field(None, min_length=8, max_length=256)
    centre_roles: list[CentreRoleName] = Field(default_factory=list, max_length=3)
    org_id: Text | None = Field(None, max_length=40)
    org_role: OrgRoleName | None = None


class UserPublic(BaseModel):
    id: str
    username: str
    email: str
    display_name: str
    centre_roles: list[CentreRoleName]
    is_active: bool
    locale: str
    created_at: datetime


class UserUpdate(Model):
    is_active: bool


class MembershipCreate(Model):
    org_id: Text = Field(max_length=40)
    user_id: Text = Field(max_length=40)
    role: OrgRoleName
    project_id: Text | None = Field(None, max_length=40)


class MembershipPublic(BaseModel):
    id: str
    user_id: str
    org_id: str
    project_id: str | None
    role: OrgRoleName
    created_at: datetime


class Me(BaseModel):
    user: UserPublic
    memberships: list[MembershipPublic]
    scopes: list[str]


class LoginCreate(Model):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)
    token_name: Text = Field("cli", min_length=1, max_length=100)
    ttl_days: int | None = Field(None, ge=1, le=3650)


class TokenCreate(Model):
    name: Text = Field(min_length=1, max_length=100)
    scopes: list[ScopeName] = Field(default=["*"], min_length=1, max_length=4)
    ttl_days: int | None = Field(None, ge=1, le=3650)
    user_id: Text | None = Field(None, max_length=40)


class TokenPublic(BaseModel):
    id: str
    user_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The secret token. Shown once; store it now.")


class NodePoolCreate(Model):
    name: Text = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    gpu_model: Text | None = Field(None, min_length=1, max_length=64)
    gpus_per_node: int = Field(ge=0, le=64)
    cpus_per_node: int = Field(ge=1, le=4096)
    memory_mb_per_node: int = Field(ge=1, le=64 * 1024 * 1024)
    node_count: int = Field(ge=1, le=100_000)
    pflops_per_gpu: Decimal | None = Field(None, ge=0, le=1000, max_digits=12, decimal_places=4)
    precision: Text = Field("BF16 dense", min_length=1, max_length=32)
    in_hong_kong: bool = Field(False, description="Resident-only data may run here.")


class NodePoolPublic(BaseModel):
    id: str
    name: str
    gpu_model: str | None
    gpus_per_node: int
    cpus_per_node: int
    memory_mb_per_node: int
    node_count: int
    pflops_per_gpu: Decimal
    precision: str
    backend: str
    total_gpus: int
    peak_pflops: Decimal
    created_at: datetime
    in_hong_kong: bool = False


class CapacityPublic(BaseModel):
    gpus: int
    gpus_allocated: int
    peak_pflops: Decimal
    precision: str


# GPU counts in thousandths: a JSON number or a decimal string ("0.5"), never a float inside.
GpuFigure = Annotated[
    Decimal, Field(strict=False, ge=0, le=1_000_000, max_digits=10, decimal_places=3)
]


class QuotaCreate(Model):
    org: Text = Field(min_length=1, max_length=64, description="Org id or slug.")
    project: Text | None = Field(
        None,
        min_length=1,
        max_length=130,
        description="Project id or `org-slug/project-slug`; none: a quota of the whole org.",
    )
    gpu_model: Text | None = Field(
        None, min_length=1, max_length=64, description="None: all GPU models together."
    )
    nominal_gpus: GpuFigure = Field(description="Guaranteed GPUs (thousandths allowed).")
    borrowing_limit_gpus: GpuFigure | None = Field(
        None, description="GPUs it may use beyond nominal when idle; none: no limit."
    )
    lending_limit_gpus: GpuFigure | None = Field(
        None, description="Idle nominal GPUs others may use; none: all of it."
    )


class QuotaUpdate(Model):
    nominal_gpus: GpuFigure
    borrowing_limit_gpus: GpuFigure | None = None
    lending_limit_gpus: GpuFigure | None = None


class QuotaPublic(BaseModel):
    id: str
    org_id: str
    project_id: str | None
    gpu_model: str | None
    nominal_gpus: Decimal
    borrowing_limit_gpus: Decimal | None
    lending_limit_gpus: Decimal | None
    used_gpus: Decimal = Field(description="GPUs its running jobs hold now.")
    created_at: datetime
    updated_at: datetime


class FairSharePublic(BaseModel):
    org_id: str
    project_id: str
    usage_gpu_hours: float = Field(description="Decayed GPU-hours, running work included.")
    usage_share: float = Field(description="Share of all decayed usage, 0-1.")
    entitlement_share: float = Field(description="Share of all entitlements, 0-1.")
    factor: float = Field(description="Fair-share factor: 1 unused, 0.5 at entitlement.")


class JobCreate(Model):
    name: Text = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    project: Text = Field(
        min_length=1, max_length=130, description="Project id, or `org-slug/project-slug`."
    )
    command: list[Text] | None = Field(None, min_length=1, max_length=4096)
    script: Text | None = Field(None, min_length=1, max_length=1_000_000)
    environment: dict[Text, Text] = Field(default_factory=dict, max_length=512)
    working_dir: Text | None = Field(None, max_length=4096)
    gpus: int = Field(0, ge=0, le=64, description="GPUs per node")
    gpu_fraction: Decimal | None = Field(
        None,
        strict=False,
        gt=0,
        lt=1,
        max_digits=4,
        decimal_places=3,
        description="A share of one GPU (e.g. 0.5), packed with other shares onto one GPU. "
        "Give no whole GPUs and one node with it.",
    )
    gpu_model: Text | None = Field(None, min_length=1, max_length=64)
    cpus: int = Field(1, ge=1, le=1024, description="CPUs per node")
    memory_mb: int = Field(1024, ge=1, le=16 * 1024 * 1024, description="Memory per node, MiB")
    nodes: int = Field(1, ge=1, le=1024)
    walltime_s: int | None = Field(None, ge=1, le=30 * 24 * 3600)
    qos: QosName = "on-demand"
    requeue_on_node_fail: bool = True
    labels: dict[Text, Text] = Field(default_factory=dict, max_length=64)
    uses: list[Text] = Field(
        default_factory=list,
        max_length=32,
        description="Catalogue entries the job reads: `dataset:NAME`, `model:ORG/NAME@VERSION`. "
        "Each appears read-only at the path `PETAPORT_<KIND>_<NAME>` names.",
    )


class AllocationPublic(BaseModel):
    node: str
    gpu_indices: list[int]
    cpus: int
    memory_mb: int


class JobPublic(BaseModel):
    id: str
    name: str
    org_id: str
    project_id: str
    user_id: str
    state: JobStateName
    reason: str | None = Field(description="Why a PENDING job waits (Slurm's words).")
    priority: int
    submitted_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    attempt_count: int
    backend: str
    command: list[str]
    script: str | None
    environment: dict[str, str]
    working_dir: str | None
    gpus: int
    gpu_fraction: Decimal | None = Field(None, description="The share of one GPU, if fractional.")
    gpu_model: str | None
    cpus: int
    memory_mb: int
    nodes: int
    walltime_s: int | None
    qos: QosName
    labels: dict[str, str]
    uses: list[str] = Field(default_factory=list, description="Catalogue entries, resolved.")
    allocations: list[AllocationPublic] = Field(default_factory=list)


class AttemptPublic(BaseModel):
    id: str
    number: int
    state: JobStateName
    allocations: list[AllocationPublic]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    pid: int | None
    detail: str


class JobEventPublic(BaseModel):
    id: str
    at: datetime
    kind: str
    state: JobStateName | None
    message: str


class LogChunkPublic(BaseModel):
    attempt: int | None
    stream: Literal["stdout", "stderr"]
    offset: int
    next_offset: int
    text: str
    complete: bool = Field(description="The attempt has ended and the log was read to its end.")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    database: str
    backend: str
