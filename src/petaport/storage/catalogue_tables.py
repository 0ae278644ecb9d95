"""Table models of the catalogue (models, datasets, versions, access grants, uses) and model risk
assessments (docs/catalogue.md). Registered with ``Base.metadata`` by ``tables``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from petaport.storage.coltypes import UtcDateTime
from petaport.storage.tables import ID, Base

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
