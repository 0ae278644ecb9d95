"""Rendering: one Jinja2 environment per language, display filters, security headers.

Each language gets its own environment with its gettext catalogue installed (``jinja2.ext.i18n``,
new-style gettext, so translated strings are escaped and formatted safely), which keeps
rendering thread-safe. Times are shown in the centre's zone (``settings.timezone``).
"""

from __future__ import annotations

import shlex
from datetime import datetime
from decimal import Decimal
from gettext import NullTranslations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from petaport.services.context import Context
from petaport.web import i18n, labels
from petaport.web.visitor import ANON_COOKIE, Visitor, set_cookie

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ANON_MAX_AGE_S = 24 * 3600


def mib_text(memory_mb: int) -> str:
    if memory_mb >= 1024 * 1024 and memory_mb % (1024 * 1024) == 0:
        return f"{memory_mb // (1024 * 1024)} TiB"
    if memory_mb >= 1024 and memory_mb % 1024 == 0:
        return f"{memory_mb // 1024} GiB"
    return f"{memory_mb} MiB"


def duration_text(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


class Portal:
    """Templates and catalogues for every language, built once when the portal is mounted."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.zone = ZoneInfo(ctx.settings.timezone)
        self.catalogues = i18n.load_all()
        loader = FileSystemLoader(TEMPLATE_DIR)
        self.envs = {locale: self._environment(loader, locale, catalogue)
                     for locale, catalogue in self.catalogues.items()}  # fmt: skip

    def _environment(self, loader: FileSystemLoader, locale: str,
                     catalogue: NullTranslations) -> Environment:  # fmt: skip
        env = Environment(loader=loader, autoescape=select_autoescape(["html"]),
                          extensions=["jinja2.ext.i18n"], undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)  # fmt: skip
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
        env.filters.update(localtime=self.localtime, localdate=self.localdate, mib=mib_text,
                           duration=duration_text, shell_join=shlex.join,
                           number=lambda value: self.number(value, locale))  # fmt: skip
        env.globals.update(labels=labels, locales=i18n.LOCALES, lang_tags=i18n.HTML_LANG,
                           html_lang=i18n.HTML_LANG[locale],
                           zone_name=self.ctx.settings.timezone)  # fmt: skip
        return env

    def localtime(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def localdate(self, moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(self.zone).strftime("%Y-%m-%d")

    @staticmethod
    def number(value: Decimal | int | float, locale: str) -> str:
        babel_locale = "zh_Hant_HK" if locale == "zh_Hant" else "en_GB"
        return format_decimal(value, format="#,##0.##", locale=babel_locale)

    def render(self, request: Request, visitor: Visitor, template: str,
               status: int = 200, **values: Any) -> HTMLResponse:  # fmt: skip
        """A page (or fragment) in the visitor's language, with security headers."""
        page = self.envs[visitor.locale].get_template(template)
        html = page.render(v=visitor, path=request.url.path, query=request.url.query, **values)
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if visitor.new_anon_nonce:
            set_cookie(response, self.ctx, ANON_COOKIE, visitor.new_anon_nonce,
                       max_age=ANON_MAX_AGE_S)  # fmt: skip
        return response


def portal_of(request: Request) -> Portal:
    portal = request.app.state.portal
    assert isinstance(portal, Portal)
    return portal
