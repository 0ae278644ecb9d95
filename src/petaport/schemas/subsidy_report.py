"""The subsidy scheme's annual report at the API's edge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class CategoryRowPublic(BaseModel):
    category: str = Field(description="The org category, or 'total'.")
    received: int
    approved: int
    rejected: int
    open_at_end: int
    subsidy_approved: Decimal = Field(description="HKD caps of grants approved in the year.")
    subsidy_used: Decimal = Field(description="The funder's share of charges in the year.")


class UtilisationPublic(BaseModel):
    grant_id: str
    org_name: str
    category: str
    project_name: str
    rate: Decimal
    cap: Decimal | None
    used_to_date: Decimal
    used_share: Decimal | None = Field(description="Percent of the HKD cap used to date.")
    cap_gpu_hours: Decimal | None
    gpu_hours_to_date: Decimal
    gpu_hours_share: Decimal | None
    used_in_year: Decimal
    gpu_hours_in_year: Decimal


class StageTimePublic(BaseModel):
    stage: str
    visits: int
    mean_days: Decimal
    median_days: Decimal
    max_days: Decimal


class AnnualReportPublic(BaseModel):
    year: int
    title: str
    start: datetime
    end: datetime
    categories: list[CategoryRowPublic]
    total: CategoryRowPublic
    gpu_hours_approved: Decimal
    gpu_hours_used: Decimal
    list_price_of_funded_use: Decimal
    utilisation: list[UtilisationPublic]
    stage_times: list[StageTimePublic]
    generated_at: datetime
