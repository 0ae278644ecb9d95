"""The subsidy scheme's annual report (secretariat and committee): JSON, PDF and CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.domain.subsidy_report import CategoryRow
from petaport.schemas.subsidy_report import (
    AnnualReportPublic,
    CategoryRowPublic,
    StageTimePublic,
    UtilisationPublic,
)
from petaport.services import subsidy_report

router = APIRouter(prefix="/subsidy", tags=["subsidy"])
Year = Annotated[int, Query(ge=2000, le=2100, description="A Hong Kong calendar year.")]


def _row(row: CategoryRow, name: str) -> CategoryRowPublic:
    return CategoryRowPublic(category=name, received=row.received, approved=row.approved,
                             rejected=row.rejected, open_at_end=row.open_at_end,
                             subsidy_approved=row.subsidy_approved.amount,
                             subsidy_used=row.subsidy_used.amount)  # fmt: skip


@router.get("/annual-report", responses=declare(401, 403, 422))
def annual_report(ctx: CtxDep, p: PrincipalDep, year: Year) -> AnnualReportPublic:
    """Applications by category, subsidy approved against used, utilisation by grantee and
    time per stage, for one Hong Kong year."""
    view = subsidy_report.annual_report(ctx, p, year)
    r = view.report
    return AnnualReportPublic(
        year=view.year, title=view.title, start=r.start, end=r.end,
        categories=[_row(c, c.category.value) for c in r.categories],
        total=_row(r.totals, "total"), gpu_hours_approved=r.gpu_hours_approved,
        gpu_hours_used=r.gpu_hours_used,
        list_price_of_funded_use=r.list_price_of_funded_use.amount,
        utilisation=[UtilisationPublic(
            grant_id=u.grant.id, org_name=u.grant.org_name, category=u.grant.category.value,
            project_name=u.grant.project_name, rate=u.grant.rate,
            cap=u.grant.cap.amount if u.grant.cap else None,
            used_to_date=u.grant.used_to_date.amount, used_share=u.used_share,
            cap_gpu_hours=u.grant.cap_gpu_hours, gpu_hours_to_date=u.grant.gpu_hours_to_date,
            gpu_hours_share=u.gpu_hours_share, used_in_year=u.grant.used_in_period.amount,
            gpu_hours_in_year=u.grant.gpu_hours_in_period) for u in r.utilisation],
        stage_times=[StageTimePublic(stage=t.stage, visits=t.visits, mean_days=t.mean_days,
                                     median_days=t.median_days, max_days=t.max_days)
                     for t in r.stage_times],
        generated_at=view.generated_at,
    )  # fmt: skip


def _file(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
            **declare(401, 403, 422)}  # fmt: skip


@router.get("/annual-report/pdf", response_class=Response,
            responses=_file("application/pdf"))  # fmt: skip
def annual_report_pdf(ctx: CtxDep, p: PrincipalDep, year: Year) -> Response:
    """The report as a bilingual PDF with charts."""
    return _download(ctx, p, year, "pdf")


@router.get("/annual-report/csv", response_class=Response,
            responses=_file("text/csv"))  # fmt: skip
def annual_report_csv(ctx: CtxDep, p: PrincipalDep, year: Year) -> Response:
    """Every table of the report in one CSV (a ``section`` column first)."""
    return _download(ctx, p, year, "csv")


def _download(ctx: CtxDep, p: PrincipalDep, year: int, kind: str) -> Response:
    doc = subsidy_report.annual_document(ctx, p, year, kind)
    return Response(doc.body, media_type=doc.media_type,
                    headers={"Content-Disposition": doc.disposition})  # fmt: skip
