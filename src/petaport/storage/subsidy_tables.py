"""Table models of the subsidy scheme's core: schemes, grants and the audit trail
(docs/subsidy.md).
Registered with ``Base.metadata`` by ``tables``. The application and review workflow, the
co-pay drawdown and progress reports add their own tables beside these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from petaport.storage.coltypes import Cents, ExactDecimal, UtcDateTime
from petaport.storage.tables import ID, Base


class SchemeRow(Base):
    """A subsidy scheme: its funder, rates (fractions, exact) and the review rubric."""

    __tablename__ = "subsidy_schemes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    funder_id: Mapped[str] = mapped_column(String(64))
    default_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    max_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    eligible_categories: Mapped[list[str]] = mapped_column(JSON)
    category_rates: Mapped[dict[str, str]] = mapped_column(JSON)  # category -> rate as text
    rubric: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{key, label, weight}]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GrantRow(Base):
    """An approved application's grant on a project: rate, caps, validity, funded GPU models."""

    __tablename__ = "subsidy_grants"
    __table_args__ = (Index("ix_subsidy_grants_project", "project_id", "valid_from"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("subsidy_schemes.id"), index=True)
    funder_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    application_id: Mapped[str | None] = mapped_column(ID, nullable=True, unique=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    cap: Mapped[Decimal | None] = mapped_column(Cents(), nullable=True)
    cap_gpu_hours: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    allowed_gpu_models: Mapped[list[str]] = mapped_column(JSON)
    on_cap: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    conditions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubsidyAuditRow(Base):
    """One recorded action of the subsidy workflow (append-only: the database refuses UPDATE
    and DELETE). ``subject_kind``/``subject_id`` name what was acted on; ``application_id``,
    ``grant_id`` and ``org_id`` let the secretariat filter the trail."""

    __tablename__ = "subsidy_audit"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(ID)
    application_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    grant_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    org_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSON)
