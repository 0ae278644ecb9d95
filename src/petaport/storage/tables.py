"""SQLAlchemy 2 table models. Only repositories use these; services see domain objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from petaport.storage.coltypes import UtcDateTime

ID = String(40)


class Base(DeclarativeBase):
    pass


class OrgRow(Base):
    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_projects_org_slug"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    centre_roles: Mapped[str] = mapped_column(String(128), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MembershipRow(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id", "project_id", name="uq_memberships_scope"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebSessionRow(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NodePoolRow(Base):
    __tablename__ = "node_pools"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    gpus_per_node: Mapped[int] = mapped_column(Integer)
    cpus_per_node: Mapped[int] = mapped_column(Integer)
    memory_mb_per_node: Mapped[int] = mapped_column(Integer)
    node_count: Mapped[int] = mapped_column(Integer)
    pflops_per_gpu: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    precision: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    in_hong_kong: Mapped[bool] = mapped_column(Boolean, default=False)


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_jobs_idempotency"),
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_org_id_id", "org_id", "id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    spec: Mapped[dict[str, object]] = mapped_column(JSON)
    # Copies of what the scheduler reads on every cycle, so the queue loads without JSON.
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cpus: Mapped[int] = mapped_column(Integer, default=1)
    memory_mb: Mapped[int] = mapped_column(Integer, default=1024)
    nodes: Mapped[int] = mapped_column(Integer, default=1)
    qos: Mapped[str] = mapped_column(String(16), default="on-demand")
    walltime_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gpu_milli: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    backend: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("job_id", "number", name="uq_attempts_job_number"),
        Index("ix_attempts_state", "state"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    allocations: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    attempt_dir: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    backend_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    stop_intent: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # What the scheduler said at the start: it ran beyond its tenant's guarantee (it may be
    # preempted when the owner reclaims), and the share of one GPU a fractional job holds.
    borrowing: Mapped[bool] = mapped_column(Boolean, default=False)
    gpu_milli: Mapped[int] = mapped_column(Integer, default=0)


class JobEventRow(Base):
    __tablename__ = "job_events"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class QuotaRow(Base):
    """A GPU quota of an org (``project_id`` NULL) or a project, for one GPU model or all
    (``gpu_model`` NULL). ``scope_key`` is ``org/project/model`` with ``*`` for NULL, unique,
    because NULLs never collide in a UNIQUE constraint."""

    __tablename__ = "quotas"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(200), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nominal_gpus: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    borrowing_limit_gpus: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)
    lending_limit_gpus: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProjectUsageRow(Base):
    """Fair-share state: a project's GPU-seconds of finished attempts, decayed to ``as_of``."""

    __tablename__ = "project_usage"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    gpu_s: Mapped[float] = mapped_column(Float)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())


class SlurmUsageRow(Base):
    """One attempt's record from Slurm's accounting (``sacct``), read once: the metering input.
    ``attempt_id`` is unique, so a record read again (the watermark's overlap) is never kept
    twice."""

    __tablename__ = "slurm_usage"
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    slurm_job_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    elapsed_s: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer)
    cpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SlurmWatermarkRow(Base):
    """Per backend: the latest end time of the accounting records read (re-read with overlap)."""

    __tablename__ = "slurm_watermarks"
    backend: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_end_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


# The models of the money and catalogue tables live in their own modules; importing them here
# registers them with ``Base.metadata`` (migrations and tests read it from this module).
from petaport.storage import (  # noqa: E402, F401
    catalogue_tables,
    drawdown_tables,
    money_tables,
    subsidy_tables,
    subsidy_workflow_tables,
)
