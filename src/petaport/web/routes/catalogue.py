"""Portal pages of the catalogue: browse and search; an entry with its versions, its card, the
access request form, (for the owner's org admins) the requests to approve or reject and the
publish switch, and for a model its risk assessments with the form that starts one (with its
cost). The AI Lab page lists the templates with what a run would use, and launches one.

Every page calls the same services as the API, so visibility and rights are the same: another
tenant's private entry is the not-found page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.catalogue import AccessRequired, Entry, EntryKind, Sensitivity, needs_grant
from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.tenancy import Principal, Project
from petaport.lab.templates import ASSESS, get_template
from petaport.schemas.status import status_of
from petaport.services import assessment, catalogue, catalogue_access, lab, portal
from petaport.services.context import Context
from petaport.web import forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
FIXABLE = (ValidationFailed, Conflict)
Filter = Annotated[str, Query(max_length=200)]


def _choice(
    enum: type[EntryKind] | type[Sensitivity], value: str
) -> EntryKind | Sensitivity | None:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


@router.get("/portal/catalogue")
def entry_list(request: Request, v: Member, q: Filter = "", kind: Filter = "",
               sensitivity: Filter = "") -> Response:  # fmt: skip
    found = catalogue.list_entries(
        get_ctx(request), v.principal, kind=_choice(EntryKind, kind),  # type: ignore[arg-type]
        query=q or None, sensitivity=_choice(Sensitivity, sensitivity),  # type: ignore[arg-type]
    )  # fmt: skip
    return portal_of(request).render(request, v, "catalogue/list.html", entries=found,
                                     q=q, kind=kind, sensitivity=sensitivity)  # fmt: skip


def entry_page(request: Request, v: Visitor, entry_id: str, *, error: str | None = None,
               status: int = 200) -> Response:  # fmt: skip
    """An entry's page (also shown again, with ``error``, after a refused form)."""
    ctx, p = get_ctx(request), v.principal
    view = catalogue.get_entry(ctx, p, entry_id)
    options = portal.submit_options(ctx, p).projects
    projects = [x for x in options if needs_grant(view.entry, x.org_id)]
    grants = catalogue_access.list_grants(ctx, p, entry_id=entry_id)
    return portal_of(request).render(
        request, v, "catalogue/detail.html", status=status, view=view, projects=projects,
        grants=grants, now=ctx.clock(), error=error,
        can_manage=catalogue.can_manage(p, view.entry),
        risk=_risk(ctx, p, view.entry, [x for x in options if x.org_id == view.entry.owner_org_id]),
    )  # fmt: skip


def _risk(ctx: Context, p: Principal, entry: Entry, projects: list[Project]) -> RiskPanel | None:
    """A model's assessments, and what starting one needs (for its contributors)."""
    if entry.kind is not EntryKind.MODEL:
        return None
    found = assessment.list_for_entry(ctx, p, entry.id)
    may_start = catalogue.can_contribute(p, entry) and bool(projects)
    cost = lab.estimate(ctx, p, ASSESS.name, projects[0].id, {}) if may_start else None
    return RiskPanel(found, projects if may_start else [], cost)


@dataclass(frozen=True)
class RiskPanel:
    assessments: list[assessment.AssessmentView]
    projects: list[Project]  # where the visitor may start one (empty: may not)
    estimate: lab.EstimateView | None


@router.get("/portal/catalogue/{entry_id}")
def entry_detail(request: Request, v: Member, entry_id: str) -> Response:
    return entry_page(request, v, entry_id)


@router.post("/portal/catalogue/{entry_id}/request")
def request_access(request: Request, v: Poster, form: Form, entry_id: str) -> Response:
    try:
        catalogue_access.request_access(
            get_ctx(request), v.principal, entry_id, forms.text(form, "project_id"),
            forms.text(form, "purpose"), form.get("accept_dua") == "yes",
        )  # fmt: skip
    except FIXABLE as exc:
        return entry_page(request, v, entry_id, error=exc.detail, status=422)
    return RedirectResponse(f"/portal/catalogue/{entry_id}", status_code=303)


@router.post("/portal/catalogue/grants/{grant_id}/decide")
def decide(request: Request, v: Poster, form: Form, grant_id: str) -> Response:
    ctx = get_ctx(request)
    entry_id = catalogue_access.get_grant(ctx, v.principal, grant_id).entry.id
    approve = form.get("decision") == "approve"
    days = forms.whole(form, "days", 90, v.gettext)
    try:
        catalogue_access.decide(ctx, v.principal, grant_id, approve=approve,
                                expires_at=ctx.clock() + timedelta(days=days) if approve else None,
                                reason=forms.text(form, "reason"))  # fmt: skip
    except FIXABLE as exc:
        return entry_page(request, v, entry_id, error=exc.detail, status=422)
    return RedirectResponse(f"/portal/catalogue/{entry_id}", status_code=303)


@router.post("/portal/catalogue/{entry_id}/publish")
def publish(request: Request, v: Poster, form: Form, entry_id: str) -> Response:
    """Share the entry beyond its organisation (or make it private again)."""
    try:
        catalogue.publish(get_ctx(request), v.principal, entry_id, form.get("published") == "yes")
    except FIXABLE as exc:
        return entry_page(request, v, entry_id, error=exc.detail, status=status_of(exc))
    return RedirectResponse(f"/portal/catalogue/{entry_id}", status_code=303)


@router.get("/portal/lab")
def lab_page(request: Request, v: Member) -> Response:
    return _lab_page(request, v)


def _lab_page(
    request: Request, v: Visitor, error: str | None = None, status: int = 200
) -> Response:
    ctx, p = get_ctx(request), v.principal
    projects = portal.submit_options(ctx, p).projects
    rows = [(t, lab.estimate(ctx, p, t.name, projects[0].id if projects else "x", {}))
            for t in lab.list_templates()]  # fmt: skip
    return portal_of(request).render(request, v, "lab.html", status=status, rows=rows,
                                     projects=projects, error=error)  # fmt: skip


@router.post("/portal/lab/{name}/run")
def lab_run(request: Request, v: Poster, form: Form, name: str) -> Response:
    template = get_template(name)
    params = {x.name: form[x.name] for x in template.params if form.get(x.name, "") != ""}
    try:
        job = lab.launch(get_ctx(request), v.principal, name, forms.text(form, "project_id"),
                         params)  # fmt: skip
    except (*FIXABLE, AccessRequired) as exc:
        return _lab_page(request, v, error=exc.detail, status=422)
    return RedirectResponse(f"/portal/jobs/{job.id}", status_code=303)
