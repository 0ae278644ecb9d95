"""Table models of the subsidy workflow: calls, applications (with their submitted versions,
milestones and attachments), reviewer assignments with conflict-of-interest declarations,
scores, decisions and state transitions (docs/subsidy.md). Registered by ``tables``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from petaport.storage.coltypes import ExactDecimal, UtcDateTime
from petaport.storage.tables import ID, Base


class CallRow(Base):
    __tablename__ = "subsidy_calls"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("subsidy_schemes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApplicationRow(Base):
    """An application; the proposal columns are editable only in draft / changes requested."""

    __tablename__ = "subsidy_applications"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("subsidy_calls.id"), index=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("subsidy_schemes.id"))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    gpu_model: Mapped[str] = mapped_column(String(32))
    gpu_hours: Mapped[Decimal] = mapped_column(ExactDecimal())
    duration_months: Mapped[int] = mapped_column(Integer)
    declarations: Mapped[list[str]] = mapped_column(JSON)
    calculation: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changes_reason: Mapped[str] = mapped_column(Text, default="")
    screened_eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screening_reason: Mapped[str] = mapped_column(Text, default="")
    screened_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    screened_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApplicationVersionRow(Base):
    """What was submitted, frozen: one row per submission (the versioned history)."""

    __tablename__ = "subsidy_application_versions"
    __table_args__ = (UniqueConstraint("application_id", "version", name="uq_subsidy_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MilestoneRow(Base):
    __tablename__ = "subsidy_milestones"
    __table_args__ = (UniqueConstraint("application_id", "seq", name="uq_subsidy_milestone"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    planned_gpu_hours: Mapped[Decimal] = mapped_column(ExactDecimal())


class AttachmentRow(Base):
    __tablename__ = "subsidy_attachments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(4096))
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AssignmentRow(Base):
    """A reviewer assigned to an application, with their conflict-of-interest declaration."""

    __tablename__ = "subsidy_assignments"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id", name="uq_subsidy_assign"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    coi: Mapped[str | None] = mapped_column(String(16), nullable=True)
    coi_statement: Mapped[str] = mapped_column(Text, default="")
    coi_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ScoreRow(Base):
    """One criterion's score in one reviewer's review of one version."""

    __tablename__ = "subsidy_scores"
    __table_args__ = (
        UniqueConstraint("assignment_id", "version", "criterion", name="uq_subsidy_score"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("subsidy_assignments.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    criterion: Mapped[str] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DecisionRow(Base):
    __tablename__ = "subsidy_decisions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    reasons: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("subsidy_grants.id"), nullable=True)
    decided_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TransitionRow(Base):
    """Every state change of an application (the stage clock reads these)."""

    __tablename__ = "subsidy_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
