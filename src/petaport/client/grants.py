"""Endpoints for subsidy grants: list, show, create, status changes, alerts, progress
reports and funder statements."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas.grants import (
    GrantAction,
    GrantAlertPublic,
    GrantCreate,
    GrantPublic,
    PeriodPublic,
    ReportCreate,
    ReportPublic,
    StatementPublic,
)
from petaport.schemas.subsidy_report import AnnualReportPublic


class GrantsApi(Transport):
    def list_subsidy_grants(
        self, org: str | None = None, funder: str | None = None
    ) -> list[GrantPublic]:
        params = {k: v for k, v in (("org", org), ("funder", funder)) if v}
        return self.many(GrantPublic, "/v1/grants", params=params or None)

    def get_subsidy_grant(self, grant_id: str) -> GrantPublic:
        return self.one(GrantPublic, "GET", f"/v1/grants/{grant_id}", idempotent=True)

    def create_subsidy_grant(self, body: GrantCreate) -> GrantPublic:
        return self.one(GrantPublic, "POST", "/v1/grants", body=body.model_dump(mode="json"))

    def change_subsidy_grant(self, grant_id: str, action: str, reason: str = "") -> GrantPublic:
        if action not in ("suspend", "resume", "close"):
            raise ValueError("a grant is suspended, resumed or closed")
        body = GrantAction(reason=reason).model_dump(mode="json")
        return self.one(GrantPublic, "POST", f"/v1/grants/{grant_id}/{action}", body=body)

    def grant_alerts(self) -> list[GrantAlertPublic]:
        return self.many(GrantAlertPublic, "/v1/grants/alerts")

    def grant_reports(self, grant_id: str) -> list[PeriodPublic]:
        return self.many(PeriodPublic, f"/v1/grants/{grant_id}/reports")

    def file_report(self, grant_id: str, body: ReportCreate) -> ReportPublic:
        return self.one(ReportPublic, "POST", f"/v1/grants/{grant_id}/reports",
                        body=body.model_dump(mode="json"))  # fmt: skip

    def funder_statement(self, funder: str, month: str) -> StatementPublic:
        return self.one(StatementPublic, "GET", "/v1/funder-statements",
                        params={"funder": funder, "month": month}, idempotent=True)  # fmt: skip

    def download_statement(self, funder: str, month: str, kind: str = "pdf") -> bytes:
        if kind not in ("pdf", "csv"):
            raise ValueError("a statement downloads as pdf or csv")
        params = {"funder": funder, "month": month}
        return self.request("GET", f"/v1/funder-statements/{kind}", params=params,
                            idempotent=True).content  # fmt: skip

    def annual_report(self, year: int) -> AnnualReportPublic:
        return self.one(AnnualReportPublic, "GET", "/v1/subsidy/annual-report",
                        params={"year": year}, idempotent=True)  # fmt: skip

    def download_annual_report(self, year: int, kind: str = "pdf") -> bytes:
        if kind not in ("pdf", "csv"):
            raise ValueError("the annual report downloads as pdf or csv")
        return self.request("GET", f"/v1/subsidy/annual-report/{kind}", params={"year": year},
                            idempotent=True).content  # fmt: skip
