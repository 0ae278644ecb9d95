"""Model risk assessment use cases: start the evaluation, collect its results, sign off.

``start`` launches the ``assess-model`` AI Lab template as a job in one of the owner org's
projects, with the model version mounted read-only; reading the assessment after that job has
ended stores the suite's results (``domain.assessment.evaluate``). A reviewer (centre reviewer
or centre admin, never a member of the owner org) signs off with a risk level and conditions;
approval clears the version for sharing. The model card is rebuilt at each step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from petaport.domain import assessment as rules
from petaport.domain.assessment import Assessment, AssessmentStatus, RiskLevel
from petaport.domain.catalogue import Entry, EntryKind, EntryRef, Version, env_var
from petaport.domain.errors import Forbidden, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.jobs import JobState
from petaport.domain.tenancy import Principal, Role, Scope, scope_of
from petaport.lab.templates import ASSESS
from petaport.services import lab
from petaport.services.authz import require_scope
from petaport.services.catalogue import can_contribute, find_org, find_version, visible_entry
from petaport.services.context import Context
from petaport.storage.repos.catalogue import CatalogueRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)


@dataclass(frozen=True)
class AssessmentView:
    assessment: Assessment
    version: str


def is_reviewer(p: Principal) -> bool:
    return bool(p.user.centre_roles & {Role.REVIEWER, Role.CENTRE_ADMIN})


def start(ctx: Context, p: Principal, entry_id: str, version: str, project: str) -> AssessmentView:
    require_scope(p, "jobs:write")
    with ctx.db.transaction() as s:
        entry = visible_entry(s, p, entry_id)
        if entry.kind is not EntryKind.MODEL:
            raise ValidationFailed("only models are risk-assessed")
        if not can_contribute(p, entry):
            raise Forbidden("only members of the owning organisation may start an assessment")
        target = find_version(s, entry, version)
        owner = find_org(s, entry.owner_org_id) if entry.owner_org_id else None
        prj = TenancyRepo(s).resolve_project(scope_of(p), project)
        if prj.org_id != entry.owner_org_id:
            raise ValidationFailed("run the assessment in a project of the owning organisation")
    ref = EntryRef(EntryKind.MODEL, entry.name, owner.slug if owner else None, target.version)
    params = {"model": f"${env_var(ref)}", "expect_sha256": target.sha256}
    job = lab.launch(ctx, p, ASSESS.name, prj.id, params, (ref.label,))
    now = ctx.clock()
    record = Assessment(new_id("asm"), entry.id, target.id, prj.id, job.id,
                        AssessmentStatus.RUNNING, f"{ASSESS.name}@{ASSESS.version}",
                        requested_by=p.user.id, created_at=now, updated_at=now)  # fmt: skip
    with ctx.db.transaction() as s:
        CatalogueRepo(s).add_assessment(record)
    return AssessmentView(record, target.version)


def _visible(s: Session, p: Principal, assessment_id: str) -> tuple[Assessment, Entry, Version]:
    repo = CatalogueRepo(s)
    found = repo.find_assessment(assessment_id)
    entry = repo.find_entry(found.entry_id) if found else None
    if found is None or entry is None or not (is_reviewer(p) or can_contribute(p, entry)):
        raise NotFound(f"assessment {assessment_id} not found")
    return found, entry, repo.get_version_by_id(found.version_id)


def _refresh(ctx: Context, s: Session, a: Assessment, entry: Entry, version: Version) -> Assessment:
    """Collect the evaluation job's results once it has ended (no-op otherwise)."""
    if a.status is not AssessmentStatus.RUNNING or a.job_id is None:
        return a
    repo = JobRepo(s)
    job = repo.get_job(EVERYTHING, a.job_id)
    if not job.state.is_terminal:
        return a
    raw = lab.outputs_of(repo, job).get("assessment")
    done = rules.evaluate(a, entry, job.state is JobState.COMPLETED,
                          raw if isinstance(raw, dict) else None, ctx.clock())  # fmt: skip
    done = replace(done, model_card=rules.model_card(entry, version, done, None))
    CatalogueRepo(s).save_assessment(done)
    return done


def get(ctx: Context, p: Principal, assessment_id: str) -> AssessmentView:
    with ctx.db.transaction() as s:
        a, entry, version = _visible(s, p, assessment_id)
        return AssessmentView(_refresh(ctx, s, a, entry, version), version.version)


def list_for_entry(ctx: Context, p: Principal, entry_id: str) -> list[AssessmentView]:
    with ctx.db.transaction() as s:
        entry = visible_entry(s, p, entry_id)
        if not (is_reviewer(p) or can_contribute(p, entry)):
            return []
        repo = CatalogueRepo(s)
        versions = {v.id: v for v in repo.versions_of(entry.id)}
        return [
            AssessmentView(_refresh(ctx, s, a, entry, versions[a.version_id]),
                           versions[a.version_id].version)
            for a in repo.assessments_of(entry.id)
        ]  # fmt: skip


def list_visible(ctx: Context, p: Principal) -> list[tuple[AssessmentView, Entry]]:
    """Assessments the caller may see, newest first: every one for centre reviewers, those of
    their organisations' models for members (results collected as on ``get``)."""
    with ctx.db.transaction() as s:
        repo = CatalogueRepo(s)
        found = repo.all_assessments()
        entries = repo.entries_by_id({a.entry_id for a in found})
        out: list[tuple[AssessmentView, Entry]] = []
        for a in found:
            entry = entries[a.entry_id]
            if is_reviewer(p) or can_contribute(p, entry):
                version = repo.get_version_by_id(a.version_id)
                fresh = _refresh(ctx, s, a, entry, version)
                out.append((AssessmentView(fresh, version.version), entry))
        return out


def may_sign(p: Principal, entry: Entry, a: Assessment) -> bool:
    """Whether ``p`` may sign ``a`` off now (a reviewer from outside the owner org)."""
    own = entry.owner_org_id is not None and entry.owner_org_id in p.org_ids()
    return is_reviewer(p) and not own and a.status is AssessmentStatus.EVALUATED


def sign_off(ctx: Context, p: Principal, assessment_id: str, *, approve: bool,
             risk_level: RiskLevel, conditions: str) -> AssessmentView:  # fmt: skip
    """A reviewer's decision; approval clears the model version for sharing."""
    require_scope(p, "jobs:write")
    with ctx.db.transaction() as s:
        a, entry, version = _visible(s, p, assessment_id)
        if not is_reviewer(p):
            raise Forbidden("only a centre reviewer signs off a risk assessment")
        if entry.owner_org_id is not None and entry.owner_org_id in p.org_ids():
            raise Forbidden("a reviewer may not sign off a model of their own organisation")
        a = _refresh(ctx, s, a, entry, version)
        signed = rules.sign_off(a, approve=approve, risk_level=risk_level,
                                conditions=conditions, reviewer_id=p.user.id,
                                now=ctx.clock())  # fmt: skip
        if signed.status is AssessmentStatus.APPROVED:
            version = replace(version, cleared=True)
            CatalogueRepo(s).save_version(version)
        card = rules.model_card(entry, version, signed, p.user.username)
        signed = replace(signed, model_card=card)
        CatalogueRepo(s).save_assessment(signed)
    return AssessmentView(signed, version.version)
