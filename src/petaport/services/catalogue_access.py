"""Gated access to catalogue entries: requests, decisions, the submit-time check and use records.

A project asks for an entry with a purpose and accepts its data-use agreement; the owner's org
admins (centre admins for centre-owned entries) approve with an expiry or reject with a reason.
``UseGate`` is called by ``services.jobs`` for every job submitted: each entry the job names is
resolved to a version and its content path, the project's right to use it is checked (and, for
resident-only entries, that the job can only land on node pools in Hong Kong), and one use
record per entry is written with the job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.domain.catalogue import (
    Entry,
    EntryRef,
    Grant,
    GrantStatus,
    Use,
    check_access,
    check_residency,
    check_usable_version,
    decide_grant,
    needs_grant,
)
from petaport.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.jobs import Job, JobSpec
from petaport.domain.tenancy import Principal, Project, scope_of
from petaport.services.authz import require_scope, require_submit
from petaport.services.catalogue import (
    can_manage,
    can_see,
    find_org,
    find_version,
    is_centre_staff,
    visible_entry,
)
from petaport.services.context import Context
from petaport.storage.repos.catalogue import CatalogueRepo
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.tenancy import TenancyRepo


@dataclass(frozen=True)
class GrantView:
    grant: Grant
    entry: Entry
    can_decide: bool


def request_access(
    ctx: Context, p: Principal, entry_id: str, project_ref: str, purpose: str, accept_dua: bool
) -> GrantView:
    """A project's request to use an entry; the owner decides."""
    if not 10 <= len(purpose.strip()) <= 2000:
        raise ValidationFailed("state the purpose in 10-2000 characters")
    if not accept_dua:
        raise ValidationFailed("accept the entry's data-use agreement to request access")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        entry = visible_entry(s, p, entry_id)
        project = TenancyRepo(s).resolve_project(scope_of(p), project_ref)
        require_submit(p, project.org_id, project.id)
        if not needs_grant(entry, project.org_id):
            raise Conflict(f"{entry.name} needs no approval for this project: use it directly",
                           code="grant_not_needed")  # fmt: skip
        repo = CatalogueRepo(s)
        if any(
            g.status is GrantStatus.REQUESTED
            for g in repo.grants(entry_ids=[entry.id], project_id=project.id)
        ):
            raise Conflict("this project already has a request waiting", code="grant_pending")
        grant = Grant(new_id("agr"), entry.id, project.org_id, project.id, purpose.strip(),
                      True, GrantStatus.REQUESTED, p.user.id, now)  # fmt: skip
        repo.add_grant(grant)
    return GrantView(grant, entry, can_manage(p, entry))


def _sees_grant(p: Principal, grant: Grant, entry: Entry) -> bool:
    """The requesting project's members, the owner org's members, and centre admins."""
    owners = entry.owner_org_id is not None and entry.owner_org_id in p.org_ids()
    return scope_of(p).allows(grant.org_id, grant.project_id) or owners or can_manage(p, entry)


def _visible_grant(s: Session, p: Principal, grant_id: str) -> GrantView:
    repo = CatalogueRepo(s)
    grant = repo.find_grant(grant_id)
    entry = repo.find_entry(grant.entry_id) if grant else None
    if grant is None or entry is None or not _sees_grant(p, grant, entry):
        raise NotFound(f"access grant {grant_id} not found")
    return GrantView(grant, entry, can_manage(p, entry))


def get_grant(ctx: Context, p: Principal, grant_id: str) -> GrantView:
    with ctx.db.transaction() as s:
        return _visible_grant(s, p, grant_id)


def list_grants(
    ctx: Context, p: Principal, *, entry_id: str | None = None, project_id: str | None = None,
    status: GrantStatus | None = None,
) -> list[GrantView]:  # fmt: skip
    """Grants of the caller's projects, and requests for entries the caller decides on."""
    with ctx.db.transaction() as s:
        repo = CatalogueRepo(s)
        rows = repo.grants(entry_ids=[entry_id] if entry_id else None, project_id=project_id)
        entries = {e.id: e for e in repo.entries(org_ids=None)}
    return [
        GrantView(g, entries[g.entry_id], can_manage(p, entries[g.entry_id]))
        for g in rows
        if _sees_grant(p, g, entries[g.entry_id]) and (status is None or g.status is status)
    ]


def decide(
    ctx: Context, p: Principal, grant_id: str, *, approve: bool,
    expires_at: datetime | None = None, reason: str = "",
) -> GrantView:  # fmt: skip
    require_scope(p, "jobs:write")
    with ctx.db.transaction() as s:
        view = _visible_grant(s, p, grant_id)
        if not view.can_decide:
            raise Forbidden("only the owner's org admins decide access to this entry")
        decided = decide_grant(view.grant, approve=approve, by=p.user.id, now=ctx.clock(),
                               expires_at=expires_at, reason=reason)  # fmt: skip
        CatalogueRepo(s).save_grant(decided)
    return replace(view, grant=decided)


def list_uses(ctx: Context, p: Principal, *, entry_id: str | None = None,
              job_id: str | None = None) -> list[Use]:  # fmt: skip
    """Uses of an entry (all of them for its managers, else the caller's projects'), or of a
    job the caller can see."""
    with ctx.db.transaction() as s:
        if job_id is not None:
            JobRepo(s).get_job(scope_of(p), job_id)
            return CatalogueRepo(s).uses(job_id=job_id)
        if entry_id is None:
            raise ValidationFailed("give entry_id or job_id")
        entry = visible_entry(s, p, entry_id)
        uses = CatalogueRepo(s).uses(entry_id=entry.id)
    if can_manage(p, entry) or is_centre_staff(p):
        return uses
    scope = scope_of(p)
    return [u for u in uses if scope.allows(u.org_id, u.project_id)]


class UseGate:
    """The submit-time check, inside the submission's transaction (see module docstring)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.s, self.now = session, now
        self.repo = CatalogueRepo(session)

    def admit(self, p: Principal, project: Project, spec: JobSpec) -> JobSpec:
        """``spec`` with every entry resolved; raises when the project may not use one."""
        if not spec.uses:
            return spec
        return replace(spec, uses=tuple(self._resolve(p, project, spec, r) for r in spec.uses))

    def _resolve(self, p: Principal, project: Project, spec: JobSpec, ref: EntryRef) -> EntryRef:
        entry = self._entry(p, ref)
        version = find_version(self.s, entry, ref.version)
        check_usable_version(entry, version, project.org_id)
        grants = self.repo.grants(entry_ids=[entry.id], project_id=project.id)
        check_access(entry, project.org_id, grants, self.now, ref.label)
        check_residency(entry, self._pools_in_hk(spec))
        owner = find_org(self.s, entry.owner_org_id) if entry.owner_org_id else None
        return replace(ref, owner=owner.slug if owner else None, version=version.version,
                       entry_id=entry.id, source=version.path)  # fmt: skip

    def _entry(self, p: Principal, ref: EntryRef) -> Entry:
        found = [e for e in self.repo.entries_named(ref.kind, ref.name) if can_see(p, e)]
        if ref.owner is not None:
            org = find_org(self.s, ref.owner)
            found = [e for e in found if org is not None and e.owner_org_id == org.id]
        if not found:
            raise NotFound(f"{ref.label} not found in the catalogue")
        if len(found) > 1:
            raise ValidationFailed(f"{ref.label} is ambiguous: name the owner, ORG/NAME")
        return found[0]

    def _pools_in_hk(self, spec: JobSpec) -> list[bool]:
        pools = InventoryRepo(self.s).list_pools()
        if spec.gpu_model and (spec.gpus or spec.gpu_milli):
            wanted = spec.gpu_model.lower()
            pools = [x for x in pools if (x.gpu_model or "").lower() == wanted]
        return [x.in_hong_kong for x in pools]

    def record(self, jobs: list[Job]) -> None:
        """One use record per entry of each newly admitted job."""
        self.repo.add_uses([
            Use(new_id("use"), job.id, job.org_id, job.project_id, ref.entry_id or "",
                ref.version or "", job.submitted_at)
            for job in jobs for ref in job.spec.uses
        ])  # fmt: skip
