"""Money pages: invoices for org admins (list, detail, draft preview, PDF and CSV downloads);
for centre admins, issuing, the price book (and adding a price version) and revenue per month
and org category.

Who may see what is the invoice service's rule (another tenant's invoice: the not-found page;
a member without the org admin role: 403). Downloads live under ``/portal`` so that the
session cookie (``Path=/portal``) comes with them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from petaport.billing.invoices import InvoiceLine
from petaport.billing.metering import month_of
from petaport.billing.prices import PreemptionCredit
from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.jobs import QosTier
from petaport.domain.tenancy import Org
from petaport.services import invoice_render, invoices, portal, pricing, revenue, tenancy
from petaport.services.authz import can_admin_org
from petaport.services.invoices import InvoiceView
from petaport.web import charts, forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def hkd(amount: Decimal) -> str:
    return f"HKD {amount:,.2f}"


def _line_text(v: Visitor) -> Callable[[InvoiceLine], str]:
    side = 1 if v.locale == "zh_Hant" else 0
    return lambda line: invoice_render.describe(line)[side]


def _billable_orgs(request: Request, v: Visitor) -> list[Org]:
    p = v.principal
    orgs = tenancy.list_orgs(get_ctx(request), p, after=None, limit=portal.PAGE_LIMIT)
    return [o for o in orgs if can_admin_org(p, o.id)]


def _list_page(request: Request, v: Visitor, *, month: str | None = None,
               error: str | None = None, values: dict[str, str] | None = None,
               status: int = 200) -> Response:  # fmt: skip
    ctx = get_ctx(request)
    rows = invoices.list_invoices(ctx, v.principal, month=month)
    return portal_of(request).render(
        request, v, "invoices/list.html", status=status, rows=rows, month=month or "",
        orgs=_billable_orgs(request, v), this_month=month_of(ctx.clock()), hkd=hkd,
        error=error, values=values or {},
    )  # fmt: skip


@router.get("/portal/invoices")
def invoice_list(request: Request, v: Member, month: str | None = None) -> Response:
    return _list_page(request, v, month=invoices.check_month(month) if month else None)


@router.post("/portal/invoices/issue")
def issue(request: Request, v: Poster, form: Form) -> Response:
    ctx, month, org = get_ctx(request), forms.text(form, "month"), form.get("org", "").strip()
    try:
        if org:
            invoices.issue_invoice(ctx, v.principal, org, month)
        else:
            refused = invoices.issue_month(ctx, v.principal, month).refused
            if refused:
                why = "; ".join(f"{r.org_id}: {r.detail}" for r in refused)
                return _list_page(request, v, month=month, error=why, values=form, status=409)
    except (ValidationFailed, Conflict, NotFound) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _list_page(request, v, error=exc.detail, values=form, status=status)
    return RedirectResponse(f"/portal/invoices?month={month}", status_code=303)


def _detail(request: Request, v: Visitor, view: InvoiceView) -> Response:
    return portal_of(request).render(request, v, "invoices/detail.html", view=view,
                                     inv=view.invoice, hkd=hkd, line_text=_line_text(v),
                                     hours=invoice_render.unit_hours)  # fmt: skip


@router.get("/portal/invoices/draft")
def draft(request: Request, v: Member, org: str, month: str | None = None) -> Response:
    return _detail(request, v, invoices.draft_invoice(get_ctx(request), v.principal, org, month))


@router.get("/portal/invoices/{invoice_id}")
def detail(request: Request, v: Member, invoice_id: str) -> Response:
    return _detail(request, v, invoices.get_invoice(get_ctx(request), v.principal, invoice_id))


def _attachment(request: Request, v: Visitor, invoice_id: str, kind: str) -> Response:
    doc = invoice_render.document(
        invoices.get_invoice(get_ctx(request), v.principal, invoice_id), kind
    )
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip


@router.get("/portal/invoices/{invoice_id}/pdf")
def pdf(request: Request, v: Member, invoice_id: str) -> Response:
    return _attachment(request, v, invoice_id, "pdf")


@router.get("/portal/invoices/{invoice_id}/csv")
def csv(request: Request, v: Member, invoice_id: str) -> Response:
    return _attachment(request, v, invoice_id, "csv")


def _prices_page(request: Request, v: Visitor, *, values: dict[str, str] | None = None,
                 error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    ctx = get_ctx(request)
    versions = revenue.price_versions(ctx, v.principal)
    latest = versions[-1] if versions else None
    if values is None and latest is not None:
        values = {forms.price_field(k): f"{price}" for k, price in latest.prices}
        values |= {"minimum_billable_s": str(latest.minimum_billable_s),
                   "preemption_credit": latest.preemption_credit.value}  # fmt: skip
    return portal_of(request).render(
        request, v, "admin/prices.html", status=status, versions=list(reversed(versions)),
        latest=latest, now=ctx.clock(), values=values or {}, error=error,
        price_field=forms.price_field, credits=list(PreemptionCredit), tiers=list(QosTier),
    )  # fmt: skip


@router.get("/portal/admin/prices")
def prices(request: Request, v: Member) -> Response:
    return _prices_page(request, v)


@router.post("/portal/admin/prices")
def add_price_version(request: Request, v: Poster, form: Form) -> Response:
    """A new price version from the form (centre admins; the service's rules apply)."""
    try:
        new = forms.price_version(form, portal_of(request).zone, v.gettext)
        pricing.add_version(get_ctx(request), v.principal, new)
    except (ValidationFailed, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _prices_page(request, v, values=form, error=exc.detail, status=status)
    return RedirectResponse("/portal/admin/prices", status_code=303)


@router.get("/portal/admin/revenue")
def revenue_page(request: Request, v: Member, month: str | None = None) -> Response:
    rows = revenue.revenue_report(get_ctx(request), v.principal, month or None)
    chart = charts.revenue_svg(rows, v.gettext) if rows else None
    return portal_of(request).render(request, v, "admin/revenue.html", rows=rows, chart=chart,
                                     month=month or "", hkd=hkd)  # fmt: skip
