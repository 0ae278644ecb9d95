"""The catalogue: entries and versions, access requests and decisions, uses, risk assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.domain.assessment import RiskLevel
from petaport.domain.catalogue import (
    EntryKind,
    EntryRef,
    GrantStatus,
    Sensitivity,
    Version,
    env_var,
)
from petaport.schemas.catalogue import (
    AccessRequestCreate,
    AssessmentCreate,
    AssessmentPublic,
    EntryCreate,
    EntryKindName,
    EntryPublic,
    GrantDecision,
    GrantPublic,
    GrantStatusName,
    PublishUpdate,
    SensitivityName,
    SignOffCreate,
    UsePublic,
    VersionCreate,
    VersionPublic,
)
from petaport.services import assessment, catalogue, catalogue_access
from petaport.services.assessment import AssessmentView
from petaport.services.catalogue import EntryView
from petaport.services.catalogue_access import GrantView

router = APIRouter(prefix="/catalogue", tags=["catalogue"])
Id = Annotated[str, Query(max_length=64)]


def entry_public(v: EntryView) -> EntryPublic:
    e = v.entry
    ref = EntryRef(e.kind, e.name, v.owner_slug)
    return EntryPublic(
        id=e.id, kind=e.kind.value, name=e.name, ref=ref.label, env_var=env_var(ref),
        owner_org_id=e.owner_org_id, owner=v.owner_slug, description=e.description,
        licence=e.licence, data_use_agreement=e.data_use_agreement,
        sensitivity=e.sensitivity.value, card=e.card, tags=list(e.tags), published=e.published,
        created_at=e.created_at, updated_at=e.updated_at,
        versions=[version_public(x) for x in v.versions],
    )  # fmt: skip


def version_public(x: Version) -> VersionPublic:
    return VersionPublic(id=x.id, version=x.version, path=x.path, size_bytes=x.size_bytes,
                         sha256=x.sha256, status=x.status.value, registered_at=x.registered_at,
                         verified_at=x.verified_at, cleared=x.cleared)  # fmt: skip


def grant_public(v: GrantView, now: datetime) -> GrantPublic:
    g = v.grant
    return GrantPublic(
        id=g.id, entry_id=g.entry_id, entry_ref=f"{v.entry.kind.value}:{v.entry.name}",
        org_id=g.org_id, project_id=g.project_id, purpose=g.purpose, status=g.status.value,
        requested_by=g.requested_by, requested_at=g.requested_at, decided_by=g.decided_by,
        decided_at=g.decided_at, expires_at=g.expires_at, reason=g.reason,
        valid_now=g.valid_at(now), can_decide=v.can_decide,
    )  # fmt: skip


def assessment_public(v: AssessmentView) -> AssessmentPublic:
    a = v.assessment
    return AssessmentPublic(
        id=a.id, entry_id=a.entry_id, version_id=a.version_id, version=v.version,
        project_id=a.project_id, job_id=a.job_id, status=a.status.value, suite=a.suite,
        results=a.results, risk_level=a.risk_level.value if a.risk_level else None,
        conditions=a.conditions, reviewer_id=a.reviewer_id, signed_at=a.signed_at,
        model_card=a.model_card, created_at=a.created_at,
    )  # fmt: skip


@router.get("/entries", responses=declare(401, 422))
def list_entries(
    ctx: CtxDep, p: PrincipalDep,
    kind: EntryKindName | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Words to search for.")] = None,
    sensitivity: SensitivityName | None = None,
    owner: Annotated[str | None, Query(max_length=64, description="Org id or slug.")] = None,
) -> list[EntryPublic]:  # fmt: skip
    """Models and datasets the caller may see: its orgs' own and every published one."""
    found = catalogue.list_entries(
        ctx, p, kind=EntryKind(kind) if kind else None, query=q,
        sensitivity=Sensitivity(sensitivity) if sensitivity else None, owner=owner,
    )  # fmt: skip
    return [entry_public(v) for v in found]


@router.post("/entries", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def create_entry(ctx: CtxDep, p: PrincipalDep, body: EntryCreate) -> EntryPublic:
    """A new, private entry owned by an org of the caller (or the centre)."""
    fields = catalogue.EntryFields(
        EntryKind(body.kind), body.name, body.owner_org, body.description, body.licence,
        body.data_use_agreement, Sensitivity(body.sensitivity), body.card, tuple(body.tags),
    )  # fmt: skip
    return entry_public(catalogue.create_entry(ctx, p, fields))


@router.get("/entries/{entry_id}", responses=declare(401, 404))
def get_entry(ctx: CtxDep, p: PrincipalDep, entry_id: str) -> EntryPublic:
    return entry_public(catalogue.get_entry(ctx, p, entry_id))


@router.post("/entries/{entry_id}/publish", responses=declare(401, 403, 404, 409, 422))
def publish(ctx: CtxDep, p: PrincipalDep, entry_id: str, body: PublishUpdate) -> EntryPublic:
    """Share an entry with every tenant, or make it private again (the owner's org admins).
    A model needs a version whose risk assessment was signed off (409 otherwise)."""
    return entry_public(catalogue.publish(ctx, p, entry_id, body.published))


@router.post("/entries/{entry_id}/versions", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def register_version(
    ctx: CtxDep, p: PrincipalDep, entry_id: str, body: VersionCreate
) -> VersionPublic:
    """Register content on the centre's storage as a version: the server hashes it; a digest
    sent by the client must match (422 ``checksum_mismatch``)."""
    return version_public(catalogue.register_version(
        ctx, p, entry_id, body.version, body.path, body.sha256, body.size_bytes))  # fmt: skip


@router.post("/entries/{entry_id}/versions/{version}/verify",
             responses=declare(401, 403, 404))  # fmt: skip
def verify_version(ctx: CtxDep, p: PrincipalDep, entry_id: str, version: str) -> VersionPublic:
    """Hash the content again; ``status`` becomes ``corrupt`` when it changed."""
    return version_public(catalogue.verify_version(ctx, p, entry_id, version))


@router.post("/entries/{entry_id}/access-requests", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def request_access(
    ctx: CtxDep, p: PrincipalDep, entry_id: str, body: AccessRequestCreate
) -> GrantPublic:
    """Ask for a project's access, with a purpose, accepting the data-use agreement."""
    view = catalogue_access.request_access(
        ctx, p, entry_id, body.project, body.purpose, body.accept_data_use_agreement
    )
    return grant_public(view, ctx.clock())


@router.get("/grants", responses=declare(401, 422))
def list_grants(
    ctx: CtxDep, p: PrincipalDep, entry_id: Id | None = None, project_id: Id | None = None,
    status_: Annotated[GrantStatusName | None, Query(alias="status")] = None,
) -> list[GrantPublic]:  # fmt: skip
    """Grants of the caller's projects and requests for entries the caller decides on."""
    wanted = GrantStatus(status_) if status_ else None
    views = catalogue_access.list_grants(
        ctx, p, entry_id=entry_id, project_id=project_id, status=wanted
    )
    now = ctx.clock()
    return [grant_public(v, now) for v in views]


@router.get("/grants/{grant_id}", responses=declare(401, 404))
def get_grant(ctx: CtxDep, p: PrincipalDep, grant_id: str) -> GrantPublic:
    return grant_public(catalogue_access.get_grant(ctx, p, grant_id), ctx.clock())


@router.post("/grants/{grant_id}/decision", responses=declare(401, 403, 404, 409, 422))
def decide(ctx: CtxDep, p: PrincipalDep, grant_id: str, body: GrantDecision) -> GrantPublic:
    """Approve with an expiry, or reject with a reason (the owner's org admins)."""
    view = catalogue_access.decide(ctx, p, grant_id, approve=body.approve,
                                   expires_at=body.expires_at, reason=body.reason)  # fmt: skip
    return grant_public(view, ctx.clock())


@router.get("/uses", responses=declare(401, 404, 422))
def list_uses(
    ctx: CtxDep, p: PrincipalDep, entry_id: Id | None = None, job_id: Id | None = None
) -> list[UsePublic]:
    """Which job of which project used which version of an entry, and when."""
    uses = catalogue_access.list_uses(ctx, p, entry_id=entry_id, job_id=job_id)
    return [UsePublic(id=u.id, job_id=u.job_id, org_id=u.org_id, project_id=u.project_id,
                      entry_id=u.entry_id, version=u.version, at=u.at) for u in uses]  # fmt: skip


@router.post("/entries/{entry_id}/versions/{version}/assessments",
             status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def start_assessment(
    ctx: CtxDep, p: PrincipalDep, entry_id: str, version: str, body: AssessmentCreate
) -> AssessmentPublic:
    """Run the evaluation suite that fits the model, as a job in one of the owner's projects."""
    return assessment_public(assessment.start(ctx, p, entry_id, version, body.project))


@router.get("/entries/{entry_id}/assessments", responses=declare(401, 404))
def list_assessments(ctx: CtxDep, p: PrincipalDep, entry_id: str) -> list[AssessmentPublic]:
    return [assessment_public(v) for v in assessment.list_for_entry(ctx, p, entry_id)]


@router.get("/assessments/{assessment_id}", responses=declare(401, 404))
def get_assessment(ctx: CtxDep, p: PrincipalDep, assessment_id: str) -> AssessmentPublic:
    """An assessment; its results are collected once its evaluation job has ended."""
    return assessment_public(assessment.get(ctx, p, assessment_id))


@router.post("/assessments/{assessment_id}/signoff", responses=declare(401, 403, 404, 409, 422))
def sign_off(
    ctx: CtxDep, p: PrincipalDep, assessment_id: str, body: SignOffCreate
) -> AssessmentPublic:
    """A reviewer's decision with a risk level and conditions; approval clears the version."""
    view = assessment.sign_off(ctx, p, assessment_id, approve=body.approve,
                               risk_level=RiskLevel(body.risk_level),
                               conditions=body.conditions)  # fmt: skip
    return assessment_public(view)
