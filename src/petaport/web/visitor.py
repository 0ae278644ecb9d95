"""Who is visiting: the portal session (if any), the language, and the CSRF token to expect.

Cookies (all ``Path=/portal``, ``SameSite=Lax``, ``Secure`` when ``settings.secure_cookies``):
- ``petaport_session``: the server-side session (id and secret), HttpOnly;
- ``petaport_lang``: the language last chosen in this browser;
- ``petaport_csrf``: a random nonce for visitors without a session, HttpOnly. Their forms
  (login, language switch) carry an HMAC of it under the server's secret key: a double-submit
  token a cross-site page can neither read nor forge.

Logged-in forms carry the session's own CSRF token (field ``csrf_token``, or the
``X-CSRF-Token`` header that htmx sends); anything else is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from gettext import NullTranslations
from typing import Annotated

from fastapi import Depends, Request, Response

from petaport.domain.errors import Forbidden, Unauthenticated
from petaport.domain.tenancy import Principal
from petaport.services import auth
from petaport.services.context import Context
from petaport.web import i18n

SESSION_COOKIE = "petaport_session"
LANG_COOKIE = "petaport_lang"
ANON_COOKIE = "petaport_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/portal"
LANG_MAX_AGE_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Visitor:
    session: auth.WebSession | None
    locale: str
    csrf_token: str
    translations: NullTranslations
    new_anon_nonce: str | None = None  # to be stored in the anonymous CSRF cookie

    @property
    def principal(self) -> Principal:
        if self.session is None:
            raise Unauthenticated("please log in")
        return self.session.principal

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def get_ctx(request: Request) -> Context:
    ctx = request.app.state.ctx
    assert isinstance(ctx, Context)
    return ctx


def anon_token(ctx: Context, nonce: str) -> str:
    key = ctx.settings.secret_key.encode()
    return hmac.new(key, f"portal-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def _session(ctx: Context, request: Request) -> auth.WebSession | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return auth.resume_session(ctx, cookie)
    except Unauthenticated:
        return None


def _locale(ctx: Context, request: Request, session: auth.WebSession | None) -> str:
    if session is not None:
        return i18n.known(session.principal.user.locale) or i18n.DEFAULT_LOCALE
    return (i18n.known(request.cookies.get(LANG_COOKIE))
            or i18n.from_accept_language(request.headers.get("accept-language"))
            or ctx.settings.default_locale)  # fmt: skip


def build_visitor(request: Request, session: auth.WebSession | None) -> Visitor:
    """The visitor for a request whose session (or lack of one) is already known."""
    ctx = get_ctx(request)
    locale = _locale(ctx, request, session)
    translations = request.app.state.portal.catalogues[locale]
    if session is not None:
        return Visitor(session, locale, session.csrf_token, translations)
    nonce = request.cookies.get(ANON_COOKIE)
    if nonce:
        return Visitor(None, locale, anon_token(ctx, nonce), translations)
    fresh = secrets.token_urlsafe(24)
    return Visitor(None, locale, anon_token(ctx, fresh), translations, new_anon_nonce=fresh)


def current_visitor(request: Request) -> Visitor:
    """Dependency: anyone, logged in or not. Kept on ``request.state`` for error pages."""
    visitor = build_visitor(request, _session(get_ctx(request), request))
    request.state.visitor = visitor
    return visitor


AnyVisitor = Annotated[Visitor, Depends(current_visitor)]


def logged_in(visitor: AnyVisitor) -> Visitor:
    """Dependency: a visitor with a live session (else the login page)."""
    if visitor.session is None:
        raise Unauthenticated("please log in")
    return visitor


Member = Annotated[Visitor, Depends(logged_in)]


async def form_fields(request: Request) -> dict[str, str]:
    """Dependency: the text fields of a posted form (files are ignored)."""
    async with request.form() as form:
        return {key: value for key, value in form.items() if isinstance(value, str)}


Form = Annotated[dict[str, str], Depends(form_fields)]


def _presented(request: Request, form: dict[str, str]) -> str | None:
    return form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)


def _anon_ok(request: Request, presented: str | None) -> bool:
    nonce = request.cookies.get(ANON_COOKIE)
    expected = anon_token(get_ctx(request), nonce) if nonce else None
    return bool(expected and presented and hmac.compare_digest(expected, presented))


def checked_any(request: Request, visitor: AnyVisitor, form: Form) -> Visitor:
    """Dependency for POSTs open to anyone (login, language): session or double-submit token."""
    presented = _presented(request, form)
    in_session = visitor.session is not None and auth.csrf_ok(visitor.session, presented)
    if not (in_session or _anon_ok(request, presented)):
        raise Forbidden("the form's security token is missing or out of date", code="csrf")
    return visitor


def checked_member(request: Request, visitor: Member, form: Form) -> Visitor:
    """Dependency for a logged-in user's POST: the session's CSRF token must come with it."""
    assert visitor.session is not None
    if not auth.csrf_ok(visitor.session, _presented(request, form)):
        raise Forbidden("the form's security token is missing or out of date", code="csrf")
    return visitor


Anyone = Annotated[Visitor, Depends(checked_any)]
Poster = Annotated[Visitor, Depends(checked_member)]


def set_cookie(response: Response, ctx: Context, name: str, value: str, *, max_age: int,
               http_only: bool = True) -> None:  # fmt: skip
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=http_only,
                        samesite="lax", secure=ctx.settings.secure_cookies)  # fmt: skip


def clear_cookie(response: Response, ctx: Context, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=ctx.settings.secure_cookies)  # fmt: skip
