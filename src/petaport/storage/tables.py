"""SQLAlchemy 2 table models. Only repositories use these; services see domain objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
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

from petaport.storage.coltypes import Cents, ExactDecimal, UtcDateTime

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


# -- money (docs/design/008-billing-core.md, 009-money-storage.md) --------------------------


class OrgBillingRow(Base):
    """How an org pays (prepaid balance or post-paid receivable) and its plan."""

    __tablename__ = "org_billing"
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str] = mapped_column(String(16))
    plan_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    plan_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    plan_fee: Mapped[Decimal | None] = mapped_column(Cents(), nullable=True)
    plan_gpu_hours: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PriceVersionRow(Base):
    __tablename__ = "price_versions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime(), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    minimum_billable_s: Mapped[int] = mapped_column(Integer)
    preemption_credit: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PriceRow(Base):
    """One unit price of a version; ``gpu_model`` '' is the default for unlisted models."""

    __tablename__ = "prices"
    version_id: Mapped[str] = mapped_column(ForeignKey("price_versions.id"), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    gpu_model: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())


class UsageRecordRow(Base):
    """A metered and rated record; ``source_id`` makes a replay or a crash bill nothing twice."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_org_month", "org_id", "month"),
        Index("ix_usage_records_project_start", "project_id", "start_at"),
    )
    source_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    job_id: Mapped[str] = mapped_column(String(40))
    attempt_id: Mapped[str] = mapped_column(String(40), index=True)
    resource: Mapped[str] = mapped_column(String(32))
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tier: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())
    billable_s: Mapped[int] = mapped_column(Integer)
    price_version: Mapped[str] = mapped_column(String(40))
    month: Mapped[str] = mapped_column(String(7))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal] = mapped_column(Cents())
    # GPU-milliseconds (GPUs x 1000 x billable s) of a GPU record, 0 otherwise: an integer, so
    # that GPU-hour budgets sum exactly in both databases.
    gpu_milli_s: Mapped[int] = mapped_column(BigInteger)
    metered_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MeteredAttemptRow(Base):
    """Metering progress of an attempt: records emitted up to ``through``; ``final`` once the
    attempt ended and its last records (minimum, credits) are in."""

    __tablename__ = "metered_attempts"
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    through: Mapped[datetime] = mapped_column(UtcDateTime())
    final: Mapped[bool] = mapped_column(Boolean, default=False)


class JournalEntryRow(Base):
    """The sealing header of a journal entry. Its postings are inserted first; a trigger
    refuses the header unless they sum to zero, and refuses postings added after it."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_org_month", "org_id", "month"),)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    month: Mapped[str] = mapped_column(String(7))
    org_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    reverses: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PostingRow(Base):
    """One leg of a journal entry: positive debits, negative credits (``account_owner`` ''
    for the centre's own accounts)."""

    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account", "account_kind", "account_owner"),)
    entry_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_kind: Mapped[str] = mapped_column(String(32))
    account_owner: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Cents())


class BudgetRow(Base):
    """A budget of an org (``project_id`` NULL) or a project; ``scope_key`` org/project/unit."""

    __tablename__ = "budgets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(120), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    limit_amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    period: Mapped[str] = mapped_column(String(16))
    grace_s: Mapped[int] = mapped_column(Integer)
    thresholds: Mapped[list[int]] = mapped_column(JSON)
    exhausted_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BudgetAlertRow(Base):
    """A threshold a budget's spend reached, once per budget, period and threshold."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        UniqueConstraint("budget_id", "period", "threshold", name="uq_budget_alerts_once"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    budget_id: Mapped[str] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    period: Mapped[str] = mapped_column(String(7))
    threshold: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)


class InvoiceRow(Base):
    """An issued invoice: immutable, numbered (``INV-YYYYMM-NNNNNN``), one per org and month."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("org_id", "month", name="uq_invoices_org_month"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Cents())
    subsidy_total: Mapped[Decimal] = mapped_column(Cents())
    org_total: Mapped[Decimal] = mapped_column(Cents())
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    description: Mapped[str] = mapped_column(String(200))
    resource: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    unit_seconds: Mapped[Decimal] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal] = mapped_column(Cents())
    subsidy: Mapped[Decimal] = mapped_column(Cents())
    org_share: Mapped[Decimal] = mapped_column(Cents())


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


# -- catalogue (models, datasets, access grants, uses) and model risk assessments ---------


class CatalogueEntryRow(Base):
    """A model or dataset. ``owner_key`` is the owner org's id or ``centre``: unique with
    kind and name (NULL owners would never collide in a UNIQUE constraint)."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (UniqueConstraint("owner_key", "kind", "name", name="uq_catalogue_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), nullable=True)
    owner_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(200))
    data_use_agreement: Mapped[str] = mapped_column(Text, default="")
    sensitivity: Mapped[str] = mapped_column(String(16))
    card: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogueVersionRow(Base):
    __tablename__ = "catalogue_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_catalogue_version"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(4096))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    registered_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)


class CatalogueGrantRow(Base):
    __tablename__ = "catalogue_grants"
    __table_args__ = (Index("ix_catalogue_grants_project_entry", "project_id", "entry_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    purpose: Mapped[str] = mapped_column(Text)
    dua_accepted: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class CatalogueUseRow(Base):
    """Append-only: one job's use of one entry version."""

    __tablename__ = "catalogue_uses"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class RiskAssessmentRow(Base):
    __tablename__ = "risk_assessments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("catalogue_versions.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    suite: Mapped[str] = mapped_column(String(64))
    results: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    risk_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    conditions: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    model_card: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
