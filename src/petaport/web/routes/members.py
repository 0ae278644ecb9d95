"""Projects and the members of a project's organisation; org admins add and remove members.

A failed addition (unknown username, existing membership, bad role) shows the page again with
the message; a visitor who may not manage the organisation gets the 403 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.services import portal
from petaport.web import forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/portal/projects")
def project_list(request: Request, v: Member) -> Response:
    rows = portal.project_list(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "projects/list.html", rows=rows)


def _members_page(request: Request, v: Visitor, project_id: str, *, error: str | None = None,
                  values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    page = portal.members_page(get_ctx(request), v.principal, project_id)
    return portal_of(request).render(request, v, "projects/members.html", status=status,
                                     page=page, error=error, values=values or {})  # fmt: skip


@router.get("/portal/projects/{project_id}/members")
def members(request: Request, v: Member, project_id: str) -> Response:
    return _members_page(request, v, project_id)


@router.post("/portal/projects/{project_id}/members")
def add_member(request: Request, v: Poster, project_id: str, form: Form) -> Response:
    try:
        portal.add_member(get_ctx(request), v.principal, project_id=project_id,
                          username=forms.text(form, "username"),
                          role=forms.role(form, "role", v.gettext))  # fmt: skip
    except (ValidationFailed, Conflict, NotFound) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _members_page(request, v, project_id, error=exc.detail, values=form, status=status)
    return RedirectResponse(f"/portal/projects/{project_id}/members", status_code=303)


@router.post("/portal/projects/{project_id}/members/{membership_id}/remove")
def remove_member(request: Request, v: Poster, project_id: str, membership_id: str) -> Response:
    portal.remove_member(get_ctx(request), v.principal, project_id=project_id,
                         membership_id=membership_id)  # fmt: skip
    return RedirectResponse(f"/portal/projects/{project_id}/members", status_code=303)
