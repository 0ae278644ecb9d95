"""Logging in and out, and choosing the language.

Login starts a server-side session (cookie ``petaport_session``); a language chosen before
logging in becomes the user's stored locale. Switching language sets ``petaport_lang`` and, for
a logged-in user, the stored locale, so the choice survives logging out and in again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.errors import Unauthenticated, ValidationFailed
from petaport.services import auth, portal
from petaport.web import i18n
from petaport.web.errors import PortalRoute, safe_next
from petaport.web.forms import text
from petaport.web.pages import portal_of
from petaport.web.visitor import (
    ANON_COOKIE,
    LANG_COOKIE,
    LANG_MAX_AGE_S,
    SESSION_COOKIE,
    Anyone,
    AnyVisitor,
    Form,
    Poster,
    Visitor,
    clear_cookie,
    get_ctx,
    set_cookie,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
Next = Annotated[str | None, Query(max_length=2000)]


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=307)


@router.get("/portal")
def portal_root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=307)


def _login_page(request: Request, v: Visitor, *, next_path: str, username: str = "",
                error: str | None = None) -> Response:  # fmt: skip
    return portal_of(request).render(request, v, "login.html", next_path=next_path,
                                     username=username, error=error)  # fmt: skip


@router.get("/portal/login")
def login_form(request: Request, v: AnyVisitor, next: Next = None) -> Response:
    if v.session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, v, next_path=safe_next(next))


@router.post("/portal/login")
def login(request: Request, v: Anyone, form: Form) -> Response:
    ctx, username = get_ctx(request), text(form, "username")
    try:
        opened = portal.open_session(ctx, username, form.get("password", ""),
                                     request.cookies.get(LANG_COOKIE))  # fmt: skip
    except Unauthenticated:
        return _login_page(request, v, next_path=safe_next(form.get("next")), username=username,
                           error=v.gettext("Wrong username or password."))  # fmt: skip
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_cookie(response, ctx, SESSION_COOKIE, opened.session.cookie,
               max_age=ctx.settings.session_ttl_s)  # fmt: skip
    set_cookie(response, ctx, LANG_COOKIE, opened.locale, max_age=LANG_MAX_AGE_S)
    clear_cookie(response, ctx, ANON_COOKIE)
    return response


@router.post("/portal/logout")
def logout(request: Request, v: Poster) -> Response:
    ctx = get_ctx(request)
    assert v.session is not None
    auth.end_session(ctx, v.session.cookie)
    response = RedirectResponse("/portal/login", status_code=303)
    clear_cookie(response, ctx, SESSION_COOKIE)
    return response


@router.post("/portal/lang")
def choose_language(request: Request, v: Anyone, form: Form) -> Response:
    ctx, locale = get_ctx(request), i18n.known(text(form, "lang"))
    if locale is None:
        raise ValidationFailed(f"unknown language; choose one of {sorted(i18n.LOCALES)}")
    if v.session is not None:
        auth.set_locale(ctx, v.session.principal, locale)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_cookie(response, ctx, LANG_COOKIE, locale, max_age=LANG_MAX_AGE_S)
    return response
