"""The committee's subsidy pages: the applications waiting for a decision with each
reviewer's weighted total and their mean, and the decision form (approve with terms, reject
with reasons, request changes). An approval links to the new grant's page.

Who may decide is the services' rule (``services/subsidy_decisions``): a rate above the
scheme's maximum (``rate_above_maximum``) or another broken rule shows the form again with the
message and what was typed; nothing is stored.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.subsidy import OnCap
from petaport.domain.subsidy_decision import Outcome
from petaport.services import subsidy_decisions, subsidy_pages
from petaport.web import forms, subsidy_forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.routes.subsidy_apply import FIXABLE, GPU_MODELS, app_url, status_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
OUTCOMES = {"approve": Outcome.APPROVED, "reject": Outcome.REJECTED,
            "changes": Outcome.CHANGES_REQUESTED}  # fmt: skip


@router.get("/portal/subsidy/committee")
def queue(request: Request, v: Member) -> Response:
    rows = subsidy_pages.committee_queue(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "subsidy/committee.html", rows=rows)


def _defaults(df: subsidy_pages.DecisionForm, today: datetime) -> dict[str, str]:
    p = df.page.view.app.proposal
    return {"rate": f"{(df.default_rate * 100).normalize():f}", "gpu_hours": f"{p.gpu_hours}",
            "months": str(p.duration_months), "valid_from": f"{today:%Y-%m-%d}",
            f"model-{p.gpu_model}": "on", "on_cap": OnCap.BILL_ORG.value}  # fmt: skip


def _form(request: Request, v: Visitor, app_id: str, *, values: dict[str, str] | None = None,
          error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    ctx, portal = get_ctx(request), portal_of(request)
    df = subsidy_pages.decision_form(ctx, v.principal, app_id)
    today = ctx.clock().astimezone(portal.zone)
    return portal.render(
        request, v, "subsidy/decide.html", status=status, df=df, page=df.page,
        app=df.page.view.app, values=values if values is not None else _defaults(df, today),
        error=error, gpu_models=GPU_MODELS, on_caps=list(OnCap), hkd=hkd,
    )  # fmt: skip


@router.get("/portal/subsidy/applications/{app_id}/decide")
def decide_form(request: Request, v: Member, app_id: str) -> Response:
    return _form(request, v, app_id)


@router.post("/portal/subsidy/applications/{app_id}/decide")
def decide(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    outcome = OUTCOMES.get(forms.text(form, "outcome"), Outcome.APPROVED)
    ctx = get_ctx(request)
    try:
        terms = (subsidy_forms.terms(form, portal_of(request).zone, GPU_MODELS, v.gettext)
                 if outcome is Outcome.APPROVED else None)  # fmt: skip
        subsidy_decisions.decide(ctx, v.principal, app_id, outcome, forms.text(form, "reasons"),
                                 terms)  # fmt: skip
    except FIXABLE as exc:
        return _form(request, v, app_id, values=form, error=exc.detail, status=status_of(exc))
    return RedirectResponse(app_url(app_id) + "#decisions", status_code=303)
