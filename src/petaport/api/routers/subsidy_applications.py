"""Subsidy applications: drafts, submission, attachments (PDF), screening, reviewer
assignment, conflict-of-interest declarations, scores, reviews and the committee's decision.

Another tenant's application, and the reviews of one's own application, are 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.api.subsidy_public import (
    application_public,
    assignment_public,
    decision_public,
    proposal,
    reviews_public,
    terms,
)
from petaport.domain.errors import ValidationFailed
from petaport.domain.subsidy_decision import Outcome
from petaport.domain.subsidy_review import Coi, CriterionScore
from petaport.domain.subsidy_workflow import State
from petaport.schemas.subsidy import (
    ApplicationCreate,
    ApplicationPublic,
    AssignmentCreate,
    AssignmentPublic,
    AttachmentPublic,
    CoiCreate,
    DecisionCreate,
    DecisionPublic,
    ProposalIn,
    ReviewPublic,
    ReviewsPublic,
    ScoresCreate,
    ScreeningCreate,
    StateName,
)
from petaport.services import subsidy_applications as apps
from petaport.services import subsidy_decisions, subsidy_review

router = APIRouter(prefix="/subsidy", tags=["subsidy"])
PDF: dict[str, Any] = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
PDF_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": PDF}}
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": PDF, "description": "The PDF."}}
Filename = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/\\]+$")]
DEFAULT_NAME = "attachment.pdf"


@router.get("/applications", responses=declare(401, 422))
def list_applications(
    ctx: CtxDep, p: PrincipalDep, state: StateName | None = None,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[ApplicationPublic]:  # fmt: skip
    """Applications the caller may read: their orgs' own, those assigned to a reviewer, all
    of them for the secretariat and the committee."""
    found = apps.list_applications(ctx, p, state=State(state) if state else None, org_id=org_id)
    return [application_public(v) for v in found]


@router.post("/applications", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def create_application(ctx: CtxDep, p: PrincipalDep, body: ApplicationCreate) -> ApplicationPublic:
    """A draft application for a project, in an open call (an org admin of the project's org)."""
    view = apps.create_draft(ctx, p, body.call_id, body.project, proposal(body))
    return application_public(view)


@router.get("/applications/{app_id}", responses=declare(401, 404))
def get_application(ctx: CtxDep, p: PrincipalDep, app_id: str) -> ApplicationPublic:
    return application_public(apps.get_application(ctx, p, app_id))


@router.put("/applications/{app_id}", responses=declare(401, 403, 404, 409, 422))
def update_application(
    ctx: CtxDep, p: PrincipalDep, app_id: str, body: ProposalIn
) -> ApplicationPublic:
    """Replace a draft's content; a submitted application is frozen (409
    ``application_frozen``) until changes are requested."""
    return application_public(apps.update_draft(ctx, p, app_id, proposal(body)))


@router.post("/applications/{app_id}/submit", responses=declare(401, 403, 404, 409, 422))
def submit(ctx: CtxDep, p: PrincipalDep, app_id: str) -> ApplicationPublic:
    """Submit (or resubmit) for screening: freezes it and records a new version."""
    return application_public(apps.submit(ctx, p, app_id))


@router.post("/applications/{app_id}/attachments", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 413, 422),
             openapi_extra=PDF_BODY)  # fmt: skip
async def add_attachment(
    request: Request, ctx: CtxDep, p: PrincipalDep, app_id: str, filename: Filename = DEFAULT_NAME
) -> AttachmentPublic:
    """Attach a PDF (the request body; checked by its ``%PDF-`` magic bytes and size)."""
    limit = ctx.settings.subsidy_review.attachment_max_bytes
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise ValidationFailed(f"an attachment is at most {limit // (1024 * 1024)} MiB",
                                   code="attachment_too_large")  # fmt: skip
    a = await run_in_threadpool(apps.add_attachment, ctx, p, app_id, filename, bytes(data))
    return AttachmentPublic(id=a.id, filename=a.filename, size_bytes=a.size_bytes,
                            sha256=a.sha256, uploaded_at=a.uploaded_at)  # fmt: skip


@router.get("/applications/{app_id}/attachments/{attachment_id}",
            responses={**declare(401, 404, 422), **PDF_RESPONSE})  # fmt: skip
def download_attachment(ctx: CtxDep, p: PrincipalDep, app_id: str, attachment_id: str) -> Response:
    a, data = apps.attachment_content(ctx, p, app_id, attachment_id)
    disposition = f'attachment; filename="{a.filename.replace(chr(34), "")}"'
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": disposition, "X-SHA256": a.sha256})  # fmt: skip


@router.post("/applications/{app_id}/screening", responses=declare(401, 403, 404, 409, 422))
def screen(ctx: CtxDep, p: PrincipalDep, app_id: str, body: ScreeningCreate) -> ApplicationPublic:
    """Eligible (to review) or ineligible with a reason (the secretariat)."""
    subsidy_review.screen(ctx, p, app_id, body.eligible, body.reason)
    return application_public(apps.get_application(ctx, p, app_id))


@router.post("/applications/{app_id}/assignments", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def assign(ctx: CtxDep, p: PrincipalDep, app_id: str, body: AssignmentCreate) -> AssignmentPublic:
    """Assign a reviewer (the secretariat); one from the applicant's org is refused (409
    ``reviewer_from_applicant_org``)."""
    return assignment_public(subsidy_review.assign(ctx, p, app_id, body.reviewer), body.reviewer)


@router.post("/applications/{app_id}/coi", responses=declare(401, 403, 404, 409, 422))
def declare_coi(ctx: CtxDep, p: PrincipalDep, app_id: str, body: CoiCreate) -> AssignmentPublic:
    """The assigned reviewer's conflict-of-interest declaration (``conflicted``: recused)."""
    a = subsidy_review.declare_coi(ctx, p, app_id, Coi(body.coi), body.statement)
    return assignment_public(a, p.user.username)


@router.post("/applications/{app_id}/scores", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def score(ctx: CtxDep, p: PrincipalDep, app_id: str, body: ScoresCreate) -> ReviewPublic:
    """The assigned reviewer's scores (0-10 per criterion, every criterion, with comments)."""
    scores = [CriterionScore(x.criterion, x.score, x.comment.strip()) for x in body.scores]
    subsidy_review.score(ctx, p, app_id, scores)
    view = subsidy_review.reviews(ctx, p, app_id)
    return next(r for r in reviews_public(view).reviews if r.reviewer_id == p.user.id)


@router.get("/applications/{app_id}/reviews", responses=declare(401, 403, 404))
def reviews(ctx: CtxDep, p: PrincipalDep, app_id: str) -> ReviewsPublic:
    """Reviewers, their declarations and the scores the caller may see, with weighted totals.
    The applicant gets 404; a recused reviewer 403; a reviewer who has not scored sees only
    their own."""
    return reviews_public(subsidy_review.reviews(ctx, p, app_id))


@router.post("/applications/{app_id}/decision", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def decide(ctx: CtxDep, p: PrincipalDep, app_id: str, body: DecisionCreate) -> DecisionPublic:
    """Approve with terms (creates the grant), reject with reasons (the committee), or request
    changes (the committee or the secretariat). A rate above the scheme's maximum: 422
    ``rate_above_maximum``."""
    result = subsidy_decisions.decide(ctx, p, app_id, Outcome(body.outcome), body.reasons,
                                      terms(body.terms) if body.terms else None)  # fmt: skip
    return decision_public(result.decision, result.application.state.value)


@router.get("/assignments", responses=declare(401))
def my_assignments(ctx: CtxDep, p: PrincipalDep) -> list[AssignmentPublic]:
    """The caller's review assignments, with the application's title and state."""
    out = []
    for a, app, scored in subsidy_review.my_assignments(ctx, p):
        pub = assignment_public(a, p.user.username, scored)
        out.append(pub.model_copy(update={"application_title": app.proposal.title,
                                          "application_state": app.state.value}))  # fmt: skip
    return out
