"""Table models of money: org plans, the price book, rated usage, the ledger, budgets, invoices
(docs/design/009-money-in-the-service.md). Registered with ``Base.metadata`` by ``tables``."""

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
    # The journal entry that posted this record (with the org's other records of its month and
    # metering batch); NULL when it moved no money (migration 0006).
    entry_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)


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
