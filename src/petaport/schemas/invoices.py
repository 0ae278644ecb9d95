"""Wire schemas of invoices and the revenue report (amounts: HKD decimals as strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from petaport.schemas import Model, OrgCategoryName, Text

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="A Hong Kong month, YYYY-MM.")]


class InvoiceLinePublic(BaseModel):
    project_id: str | None
    project_name: str | None
    description: str = Field(description="`resource [GPU model] tier` of usage, or a fee.")
    resource: str | None
    tier: str | None
    unit_hours: Decimal = Field(description="Quantity x hours (GPU-hours...), to 0.0001.")
    amount: Decimal
    subsidy: Decimal = Field(description="The funder's share (zero until subsidies).")
    org_share: Decimal


class InvoicePublic(BaseModel):
    id: str | None = Field(description="Null for a draft.")
    number: str | None = Field(description="`INV-YYYYMM-NNNNNN` once issued.")
    status: Literal["draft", "issued"]
    org_id: str
    org_name: str
    month: str
    currency: str
    issued_at: datetime | None
    total: Decimal
    subsidy_total: Decimal
    org_total: Decimal
    lines: list[InvoiceLinePublic]


class InvoiceIssue(Model):
    month: Month
    org: Text | None = Field(
        None, max_length=64, description="An org id or slug; omitted: every org of the month."
    )


class IssueRefusalPublic(BaseModel):
    org_id: str
    code: str
    detail: str


class InvoiceIssueResult(BaseModel):
    issued: list[InvoicePublic]
    refused: list[IssueRefusalPublic]


class RevenuePublic(BaseModel):
    month: str
    category: OrgCategoryName
    orgs: int
    revenue: Decimal
    credit_notes: Decimal
    net: Decimal
    invoiced: Decimal
