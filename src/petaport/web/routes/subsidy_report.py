"""The subsidy scheme's annual report in the portal (secretariat and committee): the year's
tables and the PDF and CSV downloads. The figures are ``services/subsidy_report``'s."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from petaport.billing.metering import HONG_KONG
from petaport.services import subsidy_report
from petaport.web.errors import PortalRoute
from petaport.web.labels import CATEGORIES
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.visitor import Member, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/portal/subsidy/report")
def annual_report(request: Request, v: Member, year: int | None = None) -> Response:
    ctx = get_ctx(request)
    shown = year or ctx.clock().astimezone(HONG_KONG).year
    view = subsidy_report.annual_report(ctx, v.principal, shown)
    return portal_of(request).render(request, v, "subsidy/report.html", view=view,
                                     categories=CATEGORIES, hkd=hkd)  # fmt: skip


def _file(request: Request, v: Member, year: int, kind: str) -> Response:
    doc = subsidy_report.annual_document(get_ctx(request), v.principal, year, kind)
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip


@router.get("/portal/subsidy/report/pdf")
def annual_report_pdf(request: Request, v: Member, year: int) -> Response:
    return _file(request, v, year, "pdf")


@router.get("/portal/subsidy/report/csv")
def annual_report_csv(request: Request, v: Member, year: int) -> Response:
    return _file(request, v, year, "csv")
