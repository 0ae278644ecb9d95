"""Errors become friendly pages with the right status, in the visitor's language.

Every portal route uses ``PortalRoute``: a domain error raised by a service is rendered as an
error page (NotFound 404, Forbidden 403, ValidationFailed 422, Conflict 409); Unauthenticated
sends the visitor to the login page (htmx requests get an ``HX-Redirect``). Unexpected
exceptions are logged and shown as a 500 page without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from petaport.domain.errors import (
    DomainError,
    Unauthenticated,
)
from petaport.schemas.status import status_of
from petaport.web.labels import N_
from petaport.web.pages import portal_of
from petaport.web.visitor import Visitor, build_visitor

log = logging.getLogger(__name__)
LOGIN_PATH = "/portal/login"
TITLES = {
    400: N_("Bad request"), 403: N_("Not allowed"), 404: N_("Not found"),
    409: N_("Conflict"), 422: N_("Please check your input"), 500: N_("Something went wrong"),
}  # fmt: skip
EXPLANATIONS = {
    400: N_("The request could not be understood."),
    403: N_("Your role does not allow this, or the form had expired. Go back and try again."),
    404: N_("This page does not exist, or you do not have access to it."),
    409: N_("This cannot be done in the object's current state."),
    422: N_("Some of what was entered breaks a rule."),
    500: N_("An unexpected error occurred. It has been logged."),
}


def safe_next(target: str | None) -> str:
    """A local portal path to return to; anything else becomes the dashboard."""
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target if "\\" not in target else "/portal/"
    return "/portal/"


def login_redirect(request: Request) -> Response:
    url = LOGIN_PATH
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"{LOGIN_PATH}?{urlencode({'next': here})}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _visitor(request: Request) -> Visitor:
    found = getattr(request.state, "visitor", None)
    return found if isinstance(found, Visitor) else build_visitor(request, None)


def error_page(request: Request, status: int, detail: str) -> Response:
    return portal_of(request).render(
        request, _visitor(request), "error.html", status=status, status_code=status,
        title=TITLES.get(status, TITLES[400]), explanation=EXPLANATIONS.get(status, ""),
        detail=detail,
    )  # fmt: skip


def domain_error_page(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, Unauthenticated):
        return login_redirect(request)
    return error_page(request, status_of(exc), exc.detail)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}"
             for e in exc.errors()[:5]]  # fmt: skip
    return "; ".join(parts) or "invalid request"


class PortalRoute(APIRoute):
    """A route whose errors are pages, not problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return domain_error_page(request, exc)
            except RequestValidationError as exc:
                return error_page(request, 422, _validation_detail(exc))
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_page(request, 500, "")

        return guarded
