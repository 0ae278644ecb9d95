"""Applications to the subsidy scheme: drafts, submission (frozen from then on), resubmission
after changes were requested, PDF attachments, and what each reader is shown.

An org admin of the project's org applies while the call is open; a resubmission after a
request for changes is accepted after the call closed (the application entered in time).
Each submission stores a frozen snapshot (the versioned history). Attachments are PDFs,
checked by their magic bytes (``%PDF-``) and size, stored under
``<data_dir>/subsidy/<application>/<attachment>.pdf`` with their SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from petaport.domain.compute_request import ComputeEstimate, ComputeInput, estimate
from petaport.domain.errors import NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.subsidy_decision import Decision
from petaport.domain.subsidy_workflow import (
    EDITABLE,
    Action,
    Application,
    Proposal,
    Stage,
    StageClock,
    State,
    Transition,
    stage_clock,
)
from petaport.domain.tenancy import Principal, scope_of
from petaport.services.context import Context
from petaport.services.subsidy_access import (
    EVERYTHING,
    applies_for,
    audit,
    is_reviewer,
    move,
    require_applicant_admin,
    sees_all,
    visible_application,
)
from petaport.settings import SubsidyReviewSettings
from petaport.storage.repos.subsidy import SchemeRepo
from petaport.storage.repos.subsidy_workflow import (
    ApplicationRepo,
    Attachment,
    CallRepo,
    ReviewRepo,
    SubmittedVersion,
)
from petaport.storage.repos.tenancy import TenancyRepo

PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class ApplicationView:
    app: Application
    org_name: str
    project_ref: str  # org-slug/project-slug
    call_name: str
    scheme_name: str
    attachments: tuple[Attachment, ...]
    versions: tuple[SubmittedVersion, ...]
    decisions: tuple[Decision, ...]
    clock: StageClock
    can_edit: bool


def stage_targets(cfg: SubsidyReviewSettings) -> dict[Stage, timedelta]:
    return {Stage.DRAFT: timedelta(days=cfg.draft_days),
            Stage.SCREENING: timedelta(days=cfg.screening_days),
            Stage.REVIEW: timedelta(days=cfg.review_days),
            Stage.COMMITTEE: timedelta(days=cfg.committee_days),
            Stage.CHANGES_REQUESTED: timedelta(days=cfg.changes_requested_days)}  # fmt: skip


def calculate(i: ComputeInput) -> ComputeEstimate:
    """The compute-request calculator (pure; no login needed beyond the API's)."""
    return estimate(i)


def _view(ctx: Context, s: Session, p: Principal, app: Application,
          transitions: list[Transition] | None = None) -> ApplicationView:  # fmt: skip
    tenancy, apps = TenancyRepo(s), ApplicationRepo(s)
    org = tenancy.get_org(EVERYTHING, app.org_id)
    project = tenancy.get_project(EVERYTHING, app.project_id)
    history = transitions if transitions is not None else apps.transitions(
        frozenset({app.id}))[app.id]  # fmt: skip
    clock = stage_clock(history, ctx.clock(), stage_targets(ctx.settings.subsidy_review))
    can_edit = app.state in EDITABLE and applies_for(p, app.org_id)
    return ApplicationView(
        app, org.name, f"{org.slug}/{project.slug}", CallRepo(s).get(app.call_id).name,
        SchemeRepo(s).get(app.scheme_id).name, tuple(apps.attachments(app.id)),
        tuple(apps.versions(app.id)), tuple(ReviewRepo(s).decisions(app.id)), clock, can_edit,
    )  # fmt: skip


def create_draft(ctx: Context, p: Principal, call_id: str, project_ref: str,
                 proposal: Proposal) -> ApplicationView:  # fmt: skip
    """A new draft for ``project_ref`` (id or org-slug/project-slug) in an open call."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        project = TenancyRepo(s).resolve_project(scope_of(p), project_ref)
        require_applicant_admin(p, project.org_id)
        call = CallRepo(s).get(call_id)
        call.check_open(now)
        org = TenancyRepo(s).get_org(EVERYTHING, project.org_id)
        app = Application(new_id("app"), call.id, call.scheme_id, org.id, project.id,
                          org.category, proposal, State.DRAFT, 0, p.user.id, now,
                          now)  # fmt: skip
        ApplicationRepo(s).add(app)
        ApplicationRepo(s).add_transition(Transition(app.id, None, State.DRAFT, now, p.user.id))
        audit(s, p, "application.created", app, now, details={"title": proposal.title})
        return _view(ctx, s, p, app)


def update_draft(ctx: Context, p: Principal, app_id: str, proposal: Proposal) -> ApplicationView:
    """Replace the proposal of a draft (or of an application sent back for changes)."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        require_applicant_admin(p, app.org_id)
        app.check_editable()
        app = replace(app, proposal=proposal, updated_at=now)
        ApplicationRepo(s).save(app)
        audit(s, p, "application.updated", app, now, details={"title": proposal.title})
        return _view(ctx, s, p, app)


def _snapshot(app: Application) -> dict[str, object]:
    p = app.proposal
    return {"title": p.title, "description": p.description, "gpu_model": p.gpu_model,
            "gpu_hours": str(p.gpu_hours), "duration_months": p.duration_months,
            "milestones": [{"title": m.title, "due_on": m.due_on.isoformat(),
                            "planned_gpu_hours": str(m.planned_gpu_hours)} for m in p.milestones],
            "declarations": sorted(p.declarations), "calculation": dict(p.calculation)}  # fmt: skip


def submit(ctx: Context, p: Principal, app_id: str) -> ApplicationView:
    """Freeze the application and send it to the secretariat (a new version each time)."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        require_applicant_admin(p, app.org_id)
        app.check_editable()
        app.proposal.check_complete()
        if app.state is State.DRAFT:
            CallRepo(s).get(app.call_id).check_open(now)
        app = move(s, p, app, Action.SUBMIT, now)
        app = replace(app, version=app.version + 1)
        ApplicationRepo(s).save(app)
        ApplicationRepo(s).add_version(SubmittedVersion(app.id, app.version, _snapshot(app),
                                                        p.user.id, now))  # fmt: skip
        audit(s, p, "application.submitted", app, now, details={"version": app.version})
        return _view(ctx, s, p, app)


def get_application(ctx: Context, p: Principal, app_id: str) -> ApplicationView:
    with ctx.db.transaction() as s:
        return _view(ctx, s, p, visible_application(s, p, app_id))


def list_applications(ctx: Context, p: Principal, *, state: State | None = None,
                      org_id: str | None = None) -> list[ApplicationView]:  # fmt: skip
    """Every application for staff who see all; the assigned ones for a reviewer; the
    caller's orgs' ones for everybody else."""
    with ctx.db.transaction() as s:
        repo = ApplicationRepo(s)
        if sees_all(p):
            apps = repo.list_applications(EVERYTHING, state=state, org_id=org_id)
        else:
            apps = repo.list_applications(scope_of(p), state=state, org_id=org_id)
            if is_reviewer(p):
                ids = {a.application_id for a in ReviewRepo(s).assignments(reviewer_id=p.user.id)}
                seen = {a.id for a in apps}
                apps += [a for a in repo.list_applications(EVERYTHING, ids=frozenset(ids),
                                                           state=state, org_id=org_id)
                         if a.id not in seen]  # fmt: skip
        history = repo.transitions(frozenset(a.id for a in apps))
        return [_view(ctx, s, p, a, history[a.id]) for a in apps]


def check_pdf(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise ValidationFailed(f"an attachment is at most {max_bytes // (1024 * 1024)} MiB",
                               code="attachment_too_large")  # fmt: skip
    if not data.startswith(PDF_MAGIC):
        raise ValidationFailed("only PDF files are accepted (the file does not start with %PDF-)",
                               code="attachment_not_pdf")  # fmt: skip


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip() or "attachment.pdf"
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise ValidationFailed("the file name is too long or has control characters")
    return name


def add_attachment(ctx: Context, p: Principal, app_id: str, filename: str,
                   data: bytes) -> Attachment:  # fmt: skip
    """Store a PDF with the application (while it is editable)."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        require_applicant_admin(p, app.org_id)
        app.check_editable()
        check_pdf(data, ctx.settings.subsidy_review.attachment_max_bytes)
        name = _safe_name(filename)
        att_id = new_id("atc")
        folder = ctx.settings.data_dir / "subsidy" / app.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{att_id}.pdf"
        path.write_bytes(data)
        att = Attachment(att_id, app.id, name, len(data), hashlib.sha256(data).hexdigest(),
                         str(path), p.user.id, now)  # fmt: skip
        ApplicationRepo(s).add_attachment(att)
        audit(
            s,
            p,
            "application.attachment_added",
            app,
            now,
            subject=("attachment", att_id),
            details={"filename": name, "sha256": att.sha256, "size_bytes": len(data)},
        )
        return att


def attachment_content(ctx: Context, p: Principal, app_id: str,
                       attachment_id: str) -> tuple[Attachment, bytes]:  # fmt: skip
    """An attachment and its bytes, for whoever may read the application."""
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        found = [a for a in ApplicationRepo(s).attachments(app.id) if a.id == attachment_id]
    if not found:
        raise NotFound(f"attachment {attachment_id} not found")
    data = Path(found[0].path).read_bytes()
    if hashlib.sha256(data).hexdigest() != found[0].sha256:
        raise ValidationFailed("the stored attachment does not match its checksum",
                               code="attachment_corrupt")  # fmt: skip
    return found[0], data
