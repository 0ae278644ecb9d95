"""Table models of what happens to a grant after it is made (docs/subsidy.md): the co-pay
drawdown per charge, the grant's cap and expiry alerts, its reporting terms and milestones,
and the grantees' progress reports. Registered with ``Base.metadata`` by ``tables``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from petaport.storage.coltypes import Cents, ExactDecimal, UtcDateTime
from petaport.storage.tables import ID, Base


class DrawdownRow(Base):
    """The funder's share of one charge (a usage record) under one grant, stored with the
    record in the same transaction: one row per source id, never changed (the database
    refuses UPDATE and DELETE). Charges no grant paid have no row."""

    __tablename__ = "subsidy_drawdown"
    __table_args__ = (
        Index("ix_subsidy_drawdown_funder_month", "funder_id", "month"),
        Index("ix_subsidy_drawdown_org_month", "org_id", "month"),
    )
    source_id: Mapped[str] = mapped_column(
        String(160), ForeignKey("usage_records.source_id"), primary_key=True
    )
    grant_id: Mapped[str] = mapped_column(ForeignKey("subsidy_grants.id"), index=True)
    funder_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(ID)
    project_id: Mapped[str] = mapped_column(ID)
    month: Mapped[str] = mapped_column(String(7))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    amount: Mapped[Decimal] = mapped_column(Cents())  # list price of the charge
    funder_amount: Mapped[Decimal] = mapped_column(Cents())
    funded_gpu_ms: Mapped[int] = mapped_column(BigInteger)  # GPU-milliseconds funded
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GrantAlertRow(Base):
    """A warning about a grant (80%/100% of a cap, 30/7 days before expiry, a report late),
    recorded once per grant and kind."""

    __tablename__ = "subsidy_grant_alerts"
    __table_args__ = (UniqueConstraint("grant_id", "kind", name="uq_subsidy_grant_alerts_once"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("subsidy_grants.id"), index=True)
    org_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)


class GrantTermsRow(Base):
    """A grant's reporting terms: milestones (``[{key, title, due, gpu_hours}]``), a report
    every ``report_every_months``, and whether a report late by ``grace_days`` suspends it."""

    __tablename__ = "subsidy_grant_terms"
    grant_id: Mapped[str] = mapped_column(ForeignKey("subsidy_grants.id"), primary_key=True)
    milestones: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    report_every_months: Mapped[int] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer)
    suspend_when_late: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProgressReportRow(Base):
    """A grantee's progress report for one reporting period of a grant."""

    __tablename__ = "subsidy_progress_reports"
    __table_args__ = (
        UniqueConstraint("grant_id", "period_start", name="uq_subsidy_reports_period"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("subsidy_grants.id"), index=True)
    org_id: Mapped[str] = mapped_column(ID, index=True)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime())
    period_end: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    filed_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    milestones: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{key, progress}]
    planned_gpu_hours: Mapped[Decimal] = mapped_column(ExactDecimal())
    actual_gpu_hours: Mapped[Decimal] = mapped_column(ExactDecimal())
    late: Mapped[bool] = mapped_column(Boolean)
