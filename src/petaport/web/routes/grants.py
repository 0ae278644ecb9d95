"""Subsidy grant pages: the grants list with drawdown bars, one grant (terms, drawdown chart,
alerts, progress reports, and for the committee the audit trail and suspend/resume/close),
the progress report form for the grantee's org admins, and the funder's monthly statement
with PDF and CSV downloads (committee and centre admins).

Who may see and do what is the services' rule (``services/grants``, ``progress``,
``funder_statement``): another tenant's grant is the not-found page; an action the grant's
state refuses shows the page again with the problem's message.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.billing.metering import month_of
from petaport.domain.errors import Conflict, ValidationFailed
from petaport.services import funder_statement, funder_statement_render, grant_pages, grants
from petaport.services import progress as progress_service
from petaport.services.funder_statement import Statement
from petaport.web import charts, forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
FIXABLE = (ValidationFailed, Conflict)
WARN_PERCENT, FULL_PERCENT = Decimal(80), Decimal(100)
MILESTONE_FIELD = "progress-"


def level(percent: Decimal | None) -> str:
    """How full a cap is, for the bar's colour: ok, warn (80% or more) or full (100%)."""
    if percent is None or percent < WARN_PERCENT:
        return "ok"
    return "full" if percent >= FULL_PERCENT else "warn"


def _status(exc: Exception) -> int:
    return 409 if isinstance(exc, Conflict) else 422


@router.get("/portal/grants")
def grant_list(request: Request, v: Member) -> Response:
    rows = grant_pages.grant_rows(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "grants/list.html", rows=rows, hkd=hkd,
                                     level=level)  # fmt: skip


def _detail(request: Request, v: Visitor, grant_id: str, *, error: str | None = None,
            reason: str = "", status: int = 200) -> Response:  # fmt: skip
    page = grant_pages.grant_page(get_ctx(request), v.principal, grant_id)
    cap = page.row.view.grant.cap
    paid = len(page.history) > 1  # the first point is the grant's first day, at nothing
    chart = (charts.drawdown_svg(page.history, page.last_day, cap.amount if cap else None,
                                 v.gettext) if paid else None)  # fmt: skip
    return portal_of(request).render(
        request, v, "grants/detail.html", status=status, page=page, view=page.row.view,
        g=page.row.view.grant, chart=chart, hkd=hkd, level=level, error=error, reason=reason,
    )  # fmt: skip


@router.get("/portal/grants/{grant_id}")
def detail(request: Request, v: Member, grant_id: str) -> Response:
    return _detail(request, v, grant_id)


@router.post("/portal/grants/{grant_id}/status")
def change_status(request: Request, v: Poster, form: Form, grant_id: str) -> Response:
    """Suspend, resume or close (the committee), with the reason kept in the audit trail."""
    reason = forms.text(form, "reason")
    try:
        grants.change_status(get_ctx(request), v.principal, grant_id,
                             forms.text(form, "action"), reason)  # fmt: skip
    except FIXABLE as exc:
        return _detail(request, v, grant_id, error=exc.detail, reason=reason,
                       status=_status(exc))  # fmt: skip
    return RedirectResponse(f"/portal/grants/{grant_id}", status_code=303)


def _report_form(request: Request, v: Visitor, grant_id: str, *, error: str | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    ctx = get_ctx(request)
    draft = progress_service.draft_report(ctx, v.principal, grant_id)
    row = grant_pages.grant_row(ctx, v.principal, grant_id)
    return portal_of(request).render(
        request, v, "grants/report.html", status=status, draft=draft, row=row, error=error,
        values=values or {}, field=MILESTONE_FIELD,
    )  # fmt: skip


@router.get("/portal/grants/{grant_id}/report")
def report_form(request: Request, v: Member, grant_id: str) -> Response:
    return _report_form(request, v, grant_id)


@router.post("/portal/grants/{grant_id}/report")
def file_report(request: Request, v: Poster, form: Form, grant_id: str) -> Response:
    progress = {key.removeprefix(MILESTONE_FIELD): value.strip() for key, value in form.items()
                if key.startswith(MILESTONE_FIELD) and value.strip()}  # fmt: skip
    try:
        progress_service.file_report(get_ctx(request), v.principal, grant_id,
                                     forms.text(form, "summary"), progress)  # fmt: skip
    except FIXABLE as exc:
        return _report_form(request, v, grant_id, error=exc.detail, values=form,
                            status=_status(exc))  # fmt: skip
    return RedirectResponse(f"/portal/grants/{grant_id}#reports", status_code=303)


@router.get("/portal/funder-statements")
def statement_page(request: Request, v: Member, funder: str = "", month: str = "") -> Response:
    ctx = get_ctx(request)
    funders = grant_pages.funders(ctx, v.principal)  # the committee and centre admins only
    st: Statement | None = None
    error, status = None, 200
    if funder and month:
        try:
            st = funder_statement.statement(ctx, v.principal, funder, month)
        except FIXABLE as exc:
            error, status = exc.detail, _status(exc)
    return portal_of(request).render(
        request, v, "grants/statement.html", status=status, funders=funders, st=st,
        funder=funder or (funders[0] if funders else ""), month=month or month_of(ctx.clock()),
        error=error, hkd=hkd,
    )  # fmt: skip


def _statement_file(request: Request, v: Visitor, funder: str, month: str, kind: str
                    ) -> Response:  # fmt: skip
    st = funder_statement.statement(get_ctx(request), v.principal, funder, month)
    doc = funder_statement_render.document(st, kind)
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip


@router.get("/portal/funder-statements/pdf")
def statement_pdf(request: Request, v: Member, funder: str, month: str) -> Response:
    return _statement_file(request, v, funder, month, "pdf")


@router.get("/portal/funder-statements/csv")
def statement_csv(request: Request, v: Member, funder: str, month: str) -> Response:
    return _statement_file(request, v, funder, month, "csv")
