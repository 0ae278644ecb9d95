"""The spend dashboard on the wire: a month's daily spend, the project x resource table,
budget bars and recent alerts. Amounts are HKD decimal strings ("1234.50")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from petaport.schemas.money import BudgetAlertPublic, BudgetPublic


class SpendDayPublic(BaseModel):
    day: date = Field(description="A Hong Kong calendar day.")
    total: Decimal
    by_class: dict[str, Decimal] = Field(
        description="Per resource class or GPU model (`gpu_hour:H800`, `cpu_core_hour`, ...); "
        "only classes with a charge that day."
    )
    by_project: dict[str, Decimal] = Field(description="Per project id; only those charged.")


class SpendCellPublic(BaseModel):
    project_id: str
    spend_class: str = Field(description="`gpu_hour:H800`, `gpu_hour`, `cpu_core_hour`, ...")
    resource: str
    gpu_model: str | None
    unit_hours: Decimal = Field(description="GPU-, core- or GiB-hours, net of credits.")
    amount: Decimal


class MonthSpendPublic(BaseModel):
    month: str = Field(description="YYYY-MM, Hong Kong.")
    total: Decimal = Field(description="The sum of the month's rated usage records.")
    days: list[SpendDayPublic] = Field(description="Every day of the month, in order.")
    cells: list[SpendCellPublic]


class SpendProjectPublic(BaseModel):
    id: str
    slug: str
    name: str


class BudgetBarPublic(BudgetPublic):
    period_label: str = Field(description="The month of a monthly budget, else `lifetime`.")
    alert_level: int | None = Field(description="The highest threshold spend has reached.")
    reserved_percent: Decimal


class SpendPublic(BaseModel):
    org_id: str
    org_slug: str
    project_id: str | None = Field(description="Set when the report is narrowed to a project.")
    currency: str
    month: MonthSpendPublic
    previous: MonthSpendPublic
    ledger_total: Decimal | None = Field(
        description="The org's income in the ledger for the month (usage, plan fees, credit "
        "notes); null when the caller sees only some projects or asked for one."
    )
    projects: list[SpendProjectPublic]
    budgets: list[BudgetBarPublic]
    alerts: list[BudgetAlertPublic]
