"""Catalogue entries, versions, access grants, uses and risk assessments.

Visibility is decided by the service (``services/catalogue.py``) with ``Scope``; reads here
take the rows' keys, and every ``get_*`` raises NotFound when the row does not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from petaport.domain.assessment import Assessment, AssessmentStatus, RiskLevel
from petaport.domain.catalogue import (
    Entry,
    EntryKind,
    Grant,
    GrantStatus,
    Sensitivity,
    Use,
    Version,
    VersionStatus,
)
from petaport.domain.errors import NotFound
from petaport.storage.catalogue_tables import (
    CatalogueEntryRow,
    CatalogueGrantRow,
    CatalogueUseRow,
    CatalogueVersionRow,
    RiskAssessmentRow,
)
from petaport.storage.tables import JobRow

CENTRE_KEY = "centre"


def entry_from_row(r: CatalogueEntryRow) -> Entry:
    return Entry(
        r.id, r.owner_org_id, EntryKind(r.kind), r.name, r.description, r.licence,
        r.data_use_agreement, Sensitivity(r.sensitivity), r.card, r.published, r.created_at,
        r.updated_at, tuple(r.tags or ()),
    )  # fmt: skip


def version_from_row(r: CatalogueVersionRow) -> Version:
    return Version(
        r.id, r.entry_id, r.version, r.path, r.size_bytes, r.sha256, VersionStatus(r.status),
        r.registered_at, r.registered_by, r.verified_at, r.cleared,
    )  # fmt: skip


def grant_from_row(r: CatalogueGrantRow) -> Grant:
    return Grant(
        r.id, r.entry_id, r.org_id, r.project_id, r.purpose, r.dua_accepted,
        GrantStatus(r.status), r.requested_by, r.requested_at, r.decided_by, r.decided_at,
        r.expires_at, r.reason,
    )  # fmt: skip


def assessment_from_row(r: RiskAssessmentRow) -> Assessment:
    return Assessment(
        r.id, r.entry_id, r.version_id, r.project_id, r.job_id, AssessmentStatus(r.status),
        r.suite, dict(r.results or {}), RiskLevel(r.risk_level) if r.risk_level else None,
        r.conditions, r.reviewer_id, r.signed_at, r.model_card, r.requested_by, r.created_at,
        r.updated_at,
    )  # fmt: skip


def _entry_values(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id, "owner_org_id": e.owner_org_id, "owner_key": e.owner_org_id or CENTRE_KEY,
        "kind": e.kind.value, "name": e.name, "description": e.description,
        "licence": e.licence, "data_use_agreement": e.data_use_agreement,
        "sensitivity": e.sensitivity.value, "card": e.card, "tags": list(e.tags),
        "published": e.published, "created_at": e.created_at, "updated_at": e.updated_at,
    }  # fmt: skip


class CatalogueRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    # -- entries
    def add_entry(self, e: Entry) -> None:
        self.s.add(CatalogueEntryRow(**_entry_values(e)))
        self.s.flush()  # a duplicate name fails here, inside the caller's error handling

    def save_entry(self, e: Entry) -> None:
        row = self.s.get(CatalogueEntryRow, e.id)
        if row is None:
            raise NotFound(f"catalogue entry {e.id} not found")
        for key, value in _entry_values(e).items():
            setattr(row, key, value)

    def find_entry(self, entry_id: str) -> Entry | None:
        row = self.s.get(CatalogueEntryRow, entry_id)
        return entry_from_row(row) if row else None

    def entries(
        self, *, org_ids: frozenset[str] | None, kind: EntryKind | None = None
    ) -> list[Entry]:
        """Published entries and, with ``org_ids``, those owned by these orgs (None: all)."""
        q = select(CatalogueEntryRow).order_by(CatalogueEntryRow.name, CatalogueEntryRow.id)
        if org_ids is not None:
            q = q.where(
                or_(CatalogueEntryRow.published, CatalogueEntryRow.owner_org_id.in_(org_ids))
            )
        if kind is not None:
            q = q.where(CatalogueEntryRow.kind == kind.value)
        return [entry_from_row(r) for r in self.s.scalars(q)]

    def entries_by_id(self, entry_ids: set[str]) -> dict[str, Entry]:
        q = select(CatalogueEntryRow).where(CatalogueEntryRow.id.in_(sorted(entry_ids)))
        return {r.id: entry_from_row(r) for r in self.s.scalars(q)}

    def entries_named(self, kind: EntryKind, name: str) -> list[Entry]:
        q = select(CatalogueEntryRow).where(
            CatalogueEntryRow.kind == kind.value, CatalogueEntryRow.name == name
        )
        return [entry_from_row(r) for r in self.s.scalars(q)]

    # -- versions
    def add_version(self, v: Version) -> None:
        self.s.add(
            CatalogueVersionRow(
                id=v.id,
                entry_id=v.entry_id,
                version=v.version,
                path=v.path,
                size_bytes=v.size_bytes,
                sha256=v.sha256,
                status=v.status.value,
                registered_at=v.registered_at,
                registered_by=v.registered_by,
                verified_at=v.verified_at,
                cleared=v.cleared,
            )
        )
        self.s.flush()

    def save_version(self, v: Version) -> None:
        row = self.s.get(CatalogueVersionRow, v.id)
        if row is None:
            raise NotFound(f"version {v.id} not found")
        row.status, row.verified_at, row.cleared = v.status.value, v.verified_at, v.cleared

    def versions_of(self, entry_id: str) -> list[Version]:
        q = (
            select(CatalogueVersionRow)
            .where(CatalogueVersionRow.entry_id == entry_id)
            .order_by(CatalogueVersionRow.registered_at, CatalogueVersionRow.id)
        )
        return [version_from_row(r) for r in self.s.scalars(q)]

    def get_version_by_id(self, version_id: str) -> Version:
        row = self.s.get(CatalogueVersionRow, version_id)
        if row is None:
            raise NotFound(f"version {version_id} not found")
        return version_from_row(row)

    # -- grants
    def add_grant(self, g: Grant) -> None:
        self.s.add(CatalogueGrantRow(id=g.id, entry_id=g.entry_id, org_id=g.org_id,
                                     project_id=g.project_id, purpose=g.purpose,
                                     dua_accepted=g.dua_accepted, status=g.status.value,
                                     requested_by=g.requested_by, requested_at=g.requested_at,
                                     reason=g.reason))  # fmt: skip

    def save_grant(self, g: Grant) -> None:
        row = self.s.get(CatalogueGrantRow, g.id)
        if row is None:
            raise NotFound(f"grant {g.id} not found")
        row.status, row.decided_by, row.decided_at = g.status.value, g.decided_by, g.decided_at
        row.expires_at, row.reason = g.expires_at, g.reason

    def find_grant(self, grant_id: str) -> Grant | None:
        row = self.s.get(CatalogueGrantRow, grant_id)
        return grant_from_row(row) if row else None

    def grants(
        self, *, entry_ids: list[str] | None = None, project_id: str | None = None
    ) -> list[Grant]:
        q = select(CatalogueGrantRow).order_by(CatalogueGrantRow.requested_at.desc())
        if entry_ids is not None:
            q = q.where(CatalogueGrantRow.entry_id.in_(entry_ids))
        if project_id is not None:
            q = q.where(CatalogueGrantRow.project_id == project_id)
        return [grant_from_row(r) for r in self.s.scalars(q)]

    # -- uses
    def add_uses(self, uses: list[Use]) -> None:
        for u in uses:
            self.s.add(CatalogueUseRow(id=u.id, job_id=u.job_id, org_id=u.org_id,
                                       project_id=u.project_id, entry_id=u.entry_id,
                                       version=u.version, at=u.at))  # fmt: skip

    def uses(self, *, entry_id: str | None = None, job_id: str | None = None) -> list[Use]:
        q = select(CatalogueUseRow).order_by(CatalogueUseRow.at.desc(), CatalogueUseRow.id)
        if entry_id is not None:
            q = q.where(CatalogueUseRow.entry_id == entry_id)
        if job_id is not None:
            q = q.where(CatalogueUseRow.job_id == job_id)
        return [
            Use(r.id, r.job_id, r.org_id, r.project_id, r.entry_id, r.version, r.at)
            for r in self.s.scalars(q.limit(1000))
        ]

    def pending_uses(self) -> list[Use]:
        """The uses of every PENDING job (read once per scheduling cycle)."""
        u = CatalogueUseRow
        q = select(u).join(JobRow, JobRow.id == u.job_id).where(JobRow.state == "PENDING")
        return [
            Use(r.id, r.job_id, r.org_id, r.project_id, r.entry_id, r.version, r.at)
            for r in self.s.scalars(q.order_by(u.job_id, u.id))
        ]

    # -- risk assessments
    def add_assessment(self, a: Assessment) -> None:
        self.s.add(RiskAssessmentRow(id=a.id, entry_id=a.entry_id, version_id=a.version_id,
                                     project_id=a.project_id, job_id=a.job_id,
                                     status=a.status.value, suite=a.suite, results=a.results,
                                     conditions=a.conditions, model_card=a.model_card,
                                     requested_by=a.requested_by, created_at=a.created_at,
                                     updated_at=a.updated_at))  # fmt: skip

    def save_assessment(self, a: Assessment) -> None:
        row = self.s.get(RiskAssessmentRow, a.id)
        if row is None:
            raise NotFound(f"assessment {a.id} not found")
        row.job_id, row.status, row.results = a.job_id, a.status.value, a.results
        row.risk_level = a.risk_level.value if a.risk_level else None
        row.conditions, row.reviewer_id, row.signed_at = a.conditions, a.reviewer_id, a.signed_at
        row.model_card, row.updated_at = a.model_card, a.updated_at or row.updated_at

    def find_assessment(self, assessment_id: str) -> Assessment | None:
        row = self.s.get(RiskAssessmentRow, assessment_id)
        return assessment_from_row(row) if row else None

    def all_assessments(self, limit: int = 500) -> list[Assessment]:
        """The newest assessments of every entry (the service filters what a caller sees)."""
        r = RiskAssessmentRow
        q = select(r).order_by(r.created_at.desc(), r.id.desc()).limit(limit)
        return [assessment_from_row(x) for x in self.s.scalars(q)]

    def assessments_of(self, entry_id: str) -> list[Assessment]:
        q = (
            select(RiskAssessmentRow)
            .where(RiskAssessmentRow.entry_id == entry_id)
            .order_by(RiskAssessmentRow.created_at.desc(), RiskAssessmentRow.id)
        )
        return [assessment_from_row(r) for r in self.s.scalars(q)]
