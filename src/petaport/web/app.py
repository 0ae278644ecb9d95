"""Portal wiring: templates and catalogues, static files under /portal/static, the routes.

Routes are registered after the static mount and before a catch-all, so an unknown portal path
gets the friendly not-found page. Portal routes are left out of the API's OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from petaport.domain.errors import NotFound
from petaport.services.context import Context
from petaport.web.errors import PortalRoute
from petaport.web.pages import STATIC_DIR, Portal
from petaport.web.routes import (
    admin,
    assessments,
    auth,
    billing,
    catalogue,
    grants,
    jobs,
    members,
    spend,
    subsidy_apply,
    subsidy_committee,
    subsidy_report,
    subsidy_review,
)
from petaport.web.visitor import AnyVisitor

fallback = APIRouter(route_class=PortalRoute, include_in_schema=False)


@fallback.api_route("/portal/{rest:path}", methods=["GET", "POST"])
def not_found(rest: str, v: AnyVisitor) -> None:
    del v  # resolved so that the page shows the visitor's navigation and language
    raise NotFound(f"no page at /portal/{rest}")


def mount_portal(app: FastAPI, ctx: Context) -> None:
    """Mount the portal's routes and static files on ``app``."""
    app.state.portal = Portal(ctx)
    app.mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    for module in (
        auth,
        jobs,
        members,
        admin,
        billing,
        spend,
        catalogue,
        assessments,
        grants,
        subsidy_report,
        subsidy_apply,
        subsidy_review,
        subsidy_committee,
    ):
        app.include_router(module.router)
    app.include_router(fallback)
