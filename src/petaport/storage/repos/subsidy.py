"""Schemes and grants of the subsidy scheme, as domain objects (domain/subsidy.py), and the
scheme's append-only audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from petaport.domain.errors import Conflict, NotFound
from petaport.domain.money import Money
from petaport.domain.subsidy import Criterion, Grant, GrantStatus, OnCap, Scheme
from petaport.domain.tenancy import OrgCategory, Scope
from petaport.storage.subsidy_tables import GrantRow, SchemeRow, SubsidyAuditRow


def _scheme(r: SchemeRow) -> Scheme:
    rubric = tuple(Criterion(c["key"], c["label"], Decimal(c["weight"])) for c in r.rubric)
    rates = {OrgCategory(k): Decimal(v) for k, v in r.category_rates.items()}
    return Scheme(r.id, r.name, r.funder_id, r.default_rate, r.max_rate,
                  frozenset(OrgCategory(c) for c in r.eligible_categories), rates,
                  rubric)  # fmt: skip


def _scheme_values(s: Scheme) -> dict[str, object]:
    return {
        "name": s.name, "funder_id": s.funder_id, "default_rate": s.default_rate,
        "max_rate": s.max_rate,
        "eligible_categories": sorted(c.value for c in s.eligible_categories),
        "category_rates": {k.value: str(v) for k, v in sorted(s.category_rates.items())},
        "rubric": [{"key": c.key, "label": c.label, "weight": str(c.weight)} for c in s.rubric],
    }  # fmt: skip


def _grant(r: GrantRow) -> Grant:
    cap = Money(r.cap) if r.cap is not None else None
    return Grant(r.id, r.scheme_id, r.funder_id, r.org_id, r.project_id, r.rate, r.valid_from,
                 r.valid_until, cap, r.cap_gpu_hours, frozenset(r.allowed_gpu_models),
                 OnCap(r.on_cap), GrantStatus(r.status), r.application_id,
                 r.conditions)  # fmt: skip


def _grant_values(g: Grant) -> dict[str, object]:
    return {
        "scheme_id": g.scheme_id, "funder_id": g.funder_id, "org_id": g.org_id,
        "project_id": g.project_id, "application_id": g.application_id, "rate": g.rate,
        "cap": g.cap.amount if g.cap is not None else None, "cap_gpu_hours": g.cap_gpu_hours,
        "valid_from": g.valid_from, "valid_until": g.valid_until,
        "allowed_gpu_models": sorted(g.allowed_gpu_models), "on_cap": g.on_cap.value,
        "status": g.status.value, "conditions": g.conditions,
    }  # fmt: skip


class SchemeRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def list_schemes(self) -> list[Scheme]:
        return [_scheme(r) for r in self.s.scalars(select(SchemeRow).order_by(SchemeRow.name))]

    def find(self, scheme_id: str) -> Scheme | None:
        row = self.s.get(SchemeRow, scheme_id)
        return _scheme(row) if row is not None else None

    def get(self, scheme_id: str) -> Scheme:
        scheme = self.find(scheme_id)
        if scheme is None:
            raise NotFound(f"no scheme {scheme_id}")
        return scheme

    def find_by_name(self, name: str) -> Scheme | None:
        row = self.s.scalar(select(SchemeRow).where(SchemeRow.name == name))
        return _scheme(row) if row is not None else None

    def save(self, scheme: Scheme, now: datetime) -> Scheme:
        """Insert or update ``scheme`` (names are unique)."""
        other = self.find_by_name(scheme.name)
        if other is not None and other.id != scheme.id:
            raise Conflict(f"a scheme named {scheme.name!r} exists")
        row = self.s.get(SchemeRow, scheme.id)
        if row is None:
            row = SchemeRow(id=scheme.id, created_at=now)
            self.s.add(row)
        for key, value in _scheme_values(scheme).items():
            setattr(row, key, value)
        row.updated_at = now
        self.s.flush()
        return scheme


class GrantRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, grant: Grant, created_by: str, now: datetime) -> Grant:
        if grant.application_id is not None and self.s.scalar(
            select(GrantRow.id).where(GrantRow.application_id == grant.application_id)
        ):
            raise Conflict(f"application {grant.application_id} already has a grant")
        row = GrantRow(id=grant.id, created_at=now, created_by=created_by, updated_at=now,
                       **_grant_values(grant))  # fmt: skip
        self.s.add(row)
        self.s.flush()
        return grant

    def update(self, grant: Grant, now: datetime) -> Grant:
        """Store changed terms or status of an existing grant (the audit trail is the
        caller's: every grant change is recorded by the service that makes it)."""
        row = self.s.get(GrantRow, grant.id)
        if row is None:
            raise NotFound(f"no grant {grant.id}")
        for key, value in _grant_values(grant).items():
            setattr(row, key, value)
        row.updated_at = now
        self.s.flush()
        return grant

    def find(self, grant_id: str, scope: Scope | None = None) -> Grant | None:
        row = self.s.get(GrantRow, grant_id)
        if row is None or (scope is not None and not scope.allows(row.org_id, row.project_id)):
            return None
        return _grant(row)

    def get(self, grant_id: str, scope: Scope | None = None) -> Grant:
        grant = self.find(grant_id, scope)
        if grant is None:
            raise NotFound(f"no grant {grant_id}")
        return grant

    def list_grants(self, scope: Scope | None = None, *, org_id: str | None = None,
                    project_id: str | None = None) -> list[Grant]:  # fmt: skip
        q = select(GrantRow).order_by(GrantRow.valid_from, GrantRow.id)
        if org_id is not None:
            q = q.where(GrantRow.org_id == org_id)
        if project_id is not None:
            q = q.where(GrantRow.project_id == project_id)
        grants = [_grant(r) for r in self.s.scalars(q)]
        if scope is None or scope.everything:
            return grants
        return [g for g in grants if scope.allows(g.org_id, g.project_id)]


@dataclass(frozen=True)
class AuditRecord:
    """One action of the subsidy workflow: who did what to which object, and when."""

    id: str
    at: datetime
    actor_id: str | None  # None: the system (e.g. the metering loop reaching a cap)
    action: str  # e.g. "application.submitted", "review.coi_declared", "grant.suspended"
    subject_kind: str  # "application", "review", "decision", "grant", "report", ...
    subject_id: str
    application_id: str | None = None
    grant_id: str | None = None
    org_id: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


def _audit(r: SubsidyAuditRow) -> AuditRecord:
    return AuditRecord(r.id, r.at, r.actor_id, r.action, r.subject_kind, r.subject_id,
                       r.application_id, r.grant_id, r.org_id, dict(r.details))  # fmt: skip


class AuditRepo:
    """The append-only audit trail (the database refuses UPDATE and DELETE on it)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def record(self, rec: AuditRecord) -> AuditRecord:
        self.s.add(SubsidyAuditRow(
            id=rec.id, at=rec.at, actor_id=rec.actor_id, action=rec.action,
            subject_kind=rec.subject_kind, subject_id=rec.subject_id,
            application_id=rec.application_id, grant_id=rec.grant_id, org_id=rec.org_id,
            details=dict(rec.details),
        ))  # fmt: skip
        self.s.flush()
        return rec

    def list_records(self, *, application_id: str | None = None, grant_id: str | None = None,
                     org_id: str | None = None, limit: int = 500) -> list[AuditRecord]:  # fmt: skip
        """Newest first, filtered by what is given."""
        q = select(SubsidyAuditRow).order_by(SubsidyAuditRow.at.desc(), SubsidyAuditRow.id.desc())
        if application_id is not None:
            q = q.where(SubsidyAuditRow.application_id == application_id)
        if grant_id is not None:
            q = q.where(SubsidyAuditRow.grant_id == grant_id)
        if org_id is not None:
            q = q.where(SubsidyAuditRow.org_id == org_id)
        return [_audit(r) for r in self.s.scalars(q.limit(limit))]
