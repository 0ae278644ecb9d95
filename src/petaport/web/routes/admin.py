"""Centre admin pages: organisations, users and node pools (list and create).

The services refuse anyone but a centre admin (403 page). A failed creation shows the list
again with the message and the values entered.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from petaport.services import inventory, portal, tenancy
from petaport.web import forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
FIXABLE = (ValidationFailed, Conflict, NotFound)


def _status(exc: DomainError) -> int:
    return 409 if isinstance(exc, Conflict) else 422


@router.get("/portal/admin")
def admin_home() -> RedirectResponse:
    return RedirectResponse("/portal/admin/orgs", status_code=303)


def _orgs_page(request: Request, v: Visitor, *, error: str | None = None,
               values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    orgs = portal.admin_orgs(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "admin/orgs.html", status=status, orgs=orgs,
                                     error=error, values=values or {})  # fmt: skip


@router.get("/portal/admin/orgs")
def orgs(request: Request, v: Member) -> Response:
    return _orgs_page(request, v)


@router.post("/portal/admin/orgs")
def create_org(request: Request, v: Poster, form: Form) -> Response:
    try:
        tenancy.create_org(get_ctx(request), v.principal, name=forms.text(form, "name"),
                           slug=forms.text(form, "slug"),
                           category=forms.category(form, v.gettext))  # fmt: skip
    except FIXABLE as exc:
        return _orgs_page(request, v, error=exc.detail, values=form, status=_status(exc))
    return RedirectResponse("/portal/admin/orgs", status_code=303)


def _users_page(request: Request, v: Visitor, *, error: str | None = None,
                values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    page = portal.admin_users(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "admin/users.html", status=status, page=page,
                                     error=error, values=values or {})  # fmt: skip


@router.get("/portal/admin/users")
def users(request: Request, v: Member) -> Response:
    return _users_page(request, v)


@router.post("/portal/admin/users")
def create_user(request: Request, v: Poster, form: Form) -> Response:
    try:
        tenancy.create_user(get_ctx(request), v.principal, forms.new_user(form, v.gettext))
    except FIXABLE as exc:
        kept = {k: value for k, value in form.items() if k != "password"}
        return _users_page(request, v, error=exc.detail, values=kept, status=_status(exc))
    return RedirectResponse("/portal/admin/users", status_code=303)


def _pools_page(request: Request, v: Visitor, *, error: str | None = None,
                values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    pools = portal.admin_pools(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "admin/pools.html", status=status, pools=pools,
                                     error=error, values=values or {})  # fmt: skip


@router.get("/portal/admin/pools")
def pools(request: Request, v: Member) -> Response:
    return _pools_page(request, v)


@router.post("/portal/admin/pools")
def create_pool(request: Request, v: Poster, form: Form) -> Response:
    try:
        inventory.create_pool(get_ctx(request), v.principal, forms.pool_fields(form, v.gettext))
    except FIXABLE as exc:
        return _pools_page(request, v, error=exc.detail, values=form, status=_status(exc))
    return RedirectResponse("/portal/admin/pools", status_code=303)
