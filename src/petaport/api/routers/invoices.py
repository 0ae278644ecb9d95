"""Invoices (org admins read their org's; centre admins issue) and the revenue report."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.schemas.invoices import (
    MONTH_PATTERN,
    InvoiceIssue,
    InvoiceIssueResult,
    InvoiceLinePublic,
    InvoicePublic,
    IssueRefusalPublic,
    RevenuePublic,
)
from petaport.services import invoice_render, invoices, revenue
from petaport.services.invoices import InvoiceView

router = APIRouter(tags=["invoices"])
MonthQuery = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="A Hong Kong month, YYYY-MM.")
]
HOURS = Decimal("0.0001")


def _file(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": what,
                  "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
                  "headers": {"Content-Disposition": {"schema": {"type": "string"}}}},
            **declare(401, 403, 404)}  # fmt: skip


def _public(v: InvoiceView) -> InvoicePublic:
    inv = v.invoice
    lines = [
        InvoiceLinePublic(
            project_id=ln.project_id, project_name=v.project_names.get(ln.project_id or ""),
            description=ln.description, resource=ln.resource,
            tier=ln.tier.value if ln.tier else None,
            unit_hours=(ln.unit_seconds / 3600).quantize(HOURS), amount=ln.amount.amount,
            subsidy=ln.subsidy.amount, org_share=ln.org_share.amount,
        )
        for ln in inv.lines
    ]  # fmt: skip
    return InvoicePublic(
        id=v.id, number=inv.number, status=inv.status.value, org_id=inv.org_id,
        org_name=v.org.name, month=inv.month, currency=inv.currency, issued_at=inv.issued_at,
        total=inv.total.amount, subsidy_total=inv.subsidy_total.amount,
        org_total=inv.org_total.amount, lines=lines,
    )  # fmt: skip


def _download(ctx: CtxDep, p: PrincipalDep, invoice_id: str, kind: str) -> Response:
    doc = invoice_render.document(invoices.get_invoice(ctx, p, invoice_id), kind)
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip


@router.get("/invoices", responses=declare(401, 422))
def list_invoices(
    ctx: CtxDep,
    p: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64, description="Only this org's (id).")] = None,
    month: MonthQuery = None,
) -> list[InvoicePublic]:
    """Issued invoices of the orgs the caller administers (centre admins: all)."""
    return [_public(v) for v in invoices.list_invoices(ctx, p, org_id=org, month=month)]


@router.post("/invoices/issue", responses=declare(401, 403, 404, 409, 422))
def issue_invoices(ctx: CtxDep, p: PrincipalDep, body: InvoiceIssue) -> InvoiceIssueResult:
    """Issue the invoices of an ended month (centre admins): one org's, or every org's with
    usage or fees that has none yet (those that cannot be issued are listed as refused)."""
    if body.org is not None:
        one = invoices.issue_invoice(ctx, p, body.org, body.month)
        return InvoiceIssueResult(issued=[_public(one)], refused=[])
    result = invoices.issue_month(ctx, p, body.month)
    refused = [IssueRefusalPublic(org_id=r.org_id, code=r.code, detail=r.detail)
               for r in result.refused]  # fmt: skip
    return InvoiceIssueResult(issued=[_public(v) for v in result.issued], refused=refused)


@router.get("/invoices/{invoice_id}", responses=declare(401, 403, 404))
def get_invoice(ctx: CtxDep, p: PrincipalDep, invoice_id: str) -> InvoicePublic:
    return _public(invoices.get_invoice(ctx, p, invoice_id))


@router.get("/invoices/{invoice_id}/pdf", response_class=Response,
            responses=_file("application/pdf", "The invoice as a bilingual PDF."))  # fmt: skip
def invoice_pdf(ctx: CtxDep, p: PrincipalDep, invoice_id: str) -> Response:
    return _download(ctx, p, invoice_id, "pdf")


@router.get("/invoices/{invoice_id}/csv", response_class=Response,
            responses=_file("text/csv", "The invoice's lines and totals as CSV."))  # fmt: skip
def invoice_csv(ctx: CtxDep, p: PrincipalDep, invoice_id: str) -> Response:
    return _download(ctx, p, invoice_id, "csv")


@router.get("/orgs/{org_id}/invoices/draft", responses=declare(401, 403, 404, 422))
def draft_invoice(ctx: CtxDep, p: PrincipalDep, org_id: str, month: MonthQuery = None
                  ) -> InvoicePublic:  # fmt: skip
    """The org's invoice of a month (default: this one): the issued one, or a live draft."""
    return _public(invoices.draft_invoice(ctx, p, org_id, month))


@router.get("/reports/revenue", responses=declare(401, 403, 422))
def revenue_report(ctx: CtxDep, p: PrincipalDep, month: MonthQuery = None) -> list[RevenuePublic]:
    """Income per Hong Kong month and org category, from the ledger (centre admins)."""
    return [
        RevenuePublic(month=r.month, category=r.category.value, orgs=r.orgs, revenue=r.revenue,
                      credit_notes=r.credit_notes, net=r.net, invoiced=r.invoiced)
        for r in revenue.revenue_report(ctx, p, month)
    ]  # fmt: skip
