"""Portal pages of model risk assessments: the list (a reviewer's work queue), one assessment
with its evaluation job, stored results, sign-off form and model card (shown, and downloadable
as Markdown), and the form that starts one (on the model's catalogue page).

The pages call the same services as the API (``services/assessment``): who sees and who signs
off is decided there; another tenant's assessment is the not-found page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.assessment import RiskLevel
from petaport.domain.catalogue import AccessRequired
from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.jobs import Job
from petaport.domain.tenancy import Principal
from petaport.services import assessment, catalogue, jobs
from petaport.services.context import Context
from petaport.web import forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.catalogue import entry_page
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
FIXABLE = (ValidationFailed, Conflict)


@router.get("/portal/assessments")
def assessment_list(request: Request, v: Member) -> Response:
    rows = assessment.list_visible(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "catalogue/assessments.html", rows=rows)


@router.post("/portal/catalogue/{entry_id}/assessments")
def start(request: Request, v: Poster, form: Form, entry_id: str) -> Response:
    try:
        version, project = forms.text(form, "version"), forms.text(form, "project_id")
        view = assessment.start(get_ctx(request), v.principal, entry_id, version, project)
    except (*FIXABLE, AccessRequired) as exc:
        return entry_page(request, v, entry_id, error=exc.detail, status=422)
    return RedirectResponse(f"/portal/assessments/{view.assessment.id}", status_code=303)


def _job(ctx: Context, p: Principal, job_id: str | None) -> Job | None:
    """The evaluation job, if the visitor may see it (a reviewer outside the org may not)."""
    try:
        return jobs.get_job(ctx, p, job_id) if job_id else None
    except NotFound:
        return None


def _page(request: Request, v: Visitor, assessment_id: str, *, error: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    ctx, p = get_ctx(request), v.principal
    view = assessment.get(ctx, p, assessment_id)
    entry = catalogue.get_entry(ctx, p, view.assessment.entry_id)
    return portal_of(request).render(
        request, v, "catalogue/assessment.html", status=status, view=view, a=view.assessment,
        entry=entry, job=_job(ctx, p, view.assessment.job_id), error=error,
        may_sign=assessment.may_sign(p, entry.entry, view.assessment),
        risk_levels=list(RiskLevel),
    )  # fmt: skip


@router.get("/portal/assessments/{assessment_id}")
def detail(request: Request, v: Member, assessment_id: str) -> Response:
    return _page(request, v, assessment_id)


@router.post("/portal/assessments/{assessment_id}/signoff")
def sign_off(request: Request, v: Poster, form: Form, assessment_id: str) -> Response:
    try:
        risk = RiskLevel(forms.text(form, "risk_level"))
    except ValueError:
        return _page(request, v, assessment_id, error=v.gettext("Choose a risk level."),
                     status=422)  # fmt: skip
    try:
        assessment.sign_off(get_ctx(request), v.principal, assessment_id,
                            approve=form.get("decision") == "approve", risk_level=risk,
                            conditions=forms.text(form, "conditions"))  # fmt: skip
    except FIXABLE as exc:
        return _page(request, v, assessment_id, error=exc.detail, status=422)
    return RedirectResponse(f"/portal/assessments/{assessment_id}", status_code=303)


@router.get("/portal/assessments/{assessment_id}/card.md")
def model_card(request: Request, v: Member, assessment_id: str) -> Response:
    """The model card as a Markdown file."""
    ctx = get_ctx(request)
    view = assessment.get(ctx, v.principal, assessment_id)
    entry = catalogue.get_entry(ctx, v.principal, view.assessment.entry_id).entry
    name = f"model-card-{entry.name}-{view.version}.md"
    return Response(view.assessment.model_card, media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
