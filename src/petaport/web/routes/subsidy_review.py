"""The secretariat's and reviewers' subsidy pages: the intake list with the stage clock and
overdue flags, screening, reviewer assignment (only reviewers outside the applicant org are
offered), requests for changes; a reviewer's assignments, the conflict-of-interest declaration
(first), the scoring form per rubric criterion, and the reviews once the visitor may see them.

Who may do what is the services' rule (``services/subsidy_review``, ``subsidy_pages``): the
applicant's reviews page is the not-found page; a recused reviewer is told so and sees no
scores; a refusal (an assignment the rules forbid, a second declaration) shows the page again
with the problem's message.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.subsidy_decision import Outcome
from petaport.domain.subsidy_review import Coi
from petaport.services import subsidy_decisions, subsidy_pages, subsidy_review
from petaport.web import forms, subsidy_forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.subsidy_apply import FIXABLE, app_page, app_url, status_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/portal/subsidy/intake")
def intake(request: Request, v: Member, overdue: bool = False) -> Response:
    rows = subsidy_pages.intake(get_ctx(request), v.principal)
    shown = [r for r in rows if r.stage.clock.overdue or not overdue]
    return portal_of(request).render(request, v, "subsidy/intake.html", rows=shown,
                                     overdue=overdue, total=len(rows))  # fmt: skip


@router.post("/portal/subsidy/applications/{app_id}/screen")
def screen(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    eligible = forms.text(form, "eligible") == "yes"
    try:
        subsidy_review.screen(get_ctx(request), v.principal, app_id, eligible,
                              forms.text(form, "reason"))  # fmt: skip
    except FIXABLE as exc:
        return app_page(request, v, app_id, error=exc.detail, status=status_of(exc),
                        values=form)  # fmt: skip
    return RedirectResponse(app_url(app_id), status_code=303)


@router.post("/portal/subsidy/applications/{app_id}/assign")
def assign(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    try:
        subsidy_review.assign(get_ctx(request), v.principal, app_id, forms.text(form, "reviewer"))
    except FIXABLE as exc:
        return app_page(request, v, app_id, error=exc.detail, status=status_of(exc))
    return RedirectResponse(app_url(app_id) + "#reviewers", status_code=303)


@router.post("/portal/subsidy/applications/{app_id}/changes")
def request_changes(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    """The secretariat or the committee sends the application back with a reason."""
    try:
        subsidy_decisions.decide(get_ctx(request), v.principal, app_id,
                                 Outcome.CHANGES_REQUESTED, forms.text(form, "reason"))  # fmt: skip
    except FIXABLE as exc:
        return app_page(request, v, app_id, error=exc.detail, status=status_of(exc),
                        values=form)  # fmt: skip
    return RedirectResponse(app_url(app_id), status_code=303)


@router.get("/portal/subsidy/reviews")
def my_reviews(request: Request, v: Member) -> Response:
    rows = subsidy_pages.my_assignments(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "subsidy/assignments.html", rows=rows)


def _reviews(request: Request, v: Visitor, app_id: str, *, error: str | None = None,
             values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    rp = subsidy_pages.review_page(get_ctx(request), v.principal, app_id)
    return portal_of(request).render(
        request, v, "subsidy/reviews.html", status=status, rp=rp, page=rp.page,
        app=rp.page.view.app, error=error, values=values or {},
    )  # fmt: skip


@router.get("/portal/subsidy/applications/{app_id}/reviews")
def reviews(request: Request, v: Member, app_id: str) -> Response:
    return _reviews(request, v, app_id)


@router.post("/portal/subsidy/applications/{app_id}/coi")
def declare(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    coi = Coi.CONFLICTED if forms.text(form, "coi") == Coi.CONFLICTED else Coi.NONE
    try:
        subsidy_review.declare_coi(get_ctx(request), v.principal, app_id, coi,
                                   forms.text(form, "statement"))  # fmt: skip
    except FIXABLE as exc:
        return _reviews(request, v, app_id, error=exc.detail, values=form,
                        status=status_of(exc))  # fmt: skip
    return RedirectResponse(app_url(app_id) + "/reviews", status_code=303)


@router.post("/portal/subsidy/applications/{app_id}/scores")
def score(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    ctx = get_ctx(request)
    try:
        rubric = subsidy_pages.review_page(ctx, v.principal, app_id).rubric
        subsidy_review.score(ctx, v.principal, app_id,
                             subsidy_forms.scores(form, rubric, v.gettext))  # fmt: skip
    except FIXABLE as exc:
        return _reviews(request, v, app_id, error=exc.detail, values=form,
                        status=status_of(exc))  # fmt: skip
    return RedirectResponse(app_url(app_id) + "/reviews", status_code=303)
