"""Centre admin pages: organisations, users and node pools (list and create); quotas.

The services refuse anyone but a centre admin (403 page). A failed creation shows the list
again with the message and the values entered.

The quotas page (``/portal/quotas``) is open to every logged-in user: the quotas and fair
share they may see. Only centre admins get its form, which sets a quota (creating it, or
changing the one with the same org, project and GPU model) or deletes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_decimal
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from petaport.domain.tenancy import Org, Principal, Project
from petaport.services import inventory, portal, quotas, tenancy
from petaport.services.context import Context
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


@dataclass(frozen=True)
class _Names:
    """Orgs and projects the visitor may see, by id (the quota and fair-share rows hold ids)."""

    orgs: dict[str, Org]
    projects: dict[str, Project]

    def path(self, project: Project) -> str:
        """``org-slug/project-slug``, as the quota service takes it."""
        org = self.orgs.get(project.org_id)
        return f"{org.slug}/{project.slug}" if org else project.id


def _names(ctx: Context, p: Principal) -> _Names:
    orgs = tenancy.list_orgs(ctx, p, after=None, limit=portal.PAGE_LIMIT)
    projects = tenancy.list_projects(ctx, p, org_id=None, after=None, limit=portal.PAGE_LIMIT)
    return _Names({o.id: o for o in orgs}, {x.id: x for x in projects})


def _gpus_text(locale: str) -> Callable[[Decimal], str]:
    """GPU figures to the thousandth (the scheduler's unit), in the visitor's number format."""
    babel_locale = "zh_Hant_HK" if locale == "zh_Hant" else "en_GB"
    return lambda value: format_decimal(value, format="#,##0.###", locale=babel_locale)


def _quotas_page(request: Request, v: Visitor, *, error: str | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    ctx, p = get_ctx(request), v.principal
    models = sorted({pool.gpu_model for pool in inventory.list_pools(ctx, p) if pool.gpu_model})
    return portal_of(request).render(
        request, v, "quotas.html", status=status, quotas=quotas.list_quotas(ctx, p),
        shares=quotas.fair_share(ctx, p), names=_names(ctx, p), models=models,
        half_life_days=ctx.settings.fairshare_half_life_s / 86_400, gpus=_gpus_text(v.locale),
        error=error, values=values or {},
    )  # fmt: skip


@router.get("/portal/quotas")
def quota_list(request: Request, v: Member) -> Response:
    return _quotas_page(request, v)


@router.post("/portal/quotas")
def set_quota(request: Request, v: Poster, form: Form) -> Response:
    ctx = get_ctx(request)
    try:
        quotas.set_quota(ctx, v.principal, forms.quota_fields(form, v.gettext))
    except FIXABLE as exc:
        return _quotas_page(request, v, error=exc.detail, values=form, status=_status(exc))
    return RedirectResponse("/portal/quotas", status_code=303)


@router.post("/portal/quotas/{quota_id}/delete")
def delete_quota(request: Request, v: Poster, quota_id: str) -> Response:
    quotas.delete_quota(get_ctx(request), v.principal, quota_id)
    return RedirectResponse("/portal/quotas", status_code=303)
