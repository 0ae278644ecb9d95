"""Endpoints for invoices (list, show, download, draft, issue) and the revenue report."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas.invoices import (
    InvoiceIssue,
    InvoiceIssueResult,
    InvoicePublic,
    RevenuePublic,
)


class InvoicesApi(Transport):
    def list_invoices(self, *, org: str | None = None, month: str | None = None
                      ) -> list[InvoicePublic]:  # fmt: skip
        return self.many(InvoicePublic, "/v1/invoices", params={"org": org, "month": month})

    def get_invoice(self, invoice_id: str) -> InvoicePublic:
        return self.one(InvoicePublic, "GET", f"/v1/invoices/{invoice_id}", idempotent=True)

    def download_invoice(self, invoice_id: str, kind: str = "pdf") -> bytes:
        """The invoice as a document: ``kind`` is ``pdf`` or ``csv``."""
        if kind not in ("pdf", "csv"):
            raise ValueError("an invoice downloads as pdf or csv")
        return self.request("GET", f"/v1/invoices/{invoice_id}/{kind}", idempotent=True).content

    def draft_invoice(self, org_id: str, month: str | None = None) -> InvoicePublic:
        return self.one(InvoicePublic, "GET", f"/v1/orgs/{org_id}/invoices/draft",
                        params={"month": month}, idempotent=True)  # fmt: skip

    def issue_invoices(self, month: str, org: str | None = None) -> InvoiceIssueResult:
        body = InvoiceIssue(month=month, org=org).model_dump(mode="json")
        return self.one(InvoiceIssueResult, "POST", "/v1/invoices/issue", body=body)

    def revenue(self, month: str | None = None) -> list[RevenuePublic]:
        return self.many(RevenuePublic, "/v1/reports/revenue", params={"month": month})
