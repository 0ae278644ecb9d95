"""Endpoints for money: prices and new price versions, budgets and alerts, accounts, usage,
spend and cost estimates."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas import JobCreate
from petaport.schemas.money import (
    AccountPublic,
    BudgetAlertPublic,
    BudgetPublic,
    BudgetSet,
    EstimatePublic,
    PlanSet,
    PriceVersionCreate,
    PriceVersionPublic,
    TopUpCreate,
    UsageLinePublic,
)
from petaport.schemas.spend import SpendPublic


class MoneyApi(Transport):
    def list_prices(self) -> list[PriceVersionPublic]:
        return self.many(PriceVersionPublic, "/v1/prices")

    def add_price_version(self, body: PriceVersionCreate) -> PriceVersionPublic:
        return self.one(PriceVersionPublic, "POST", "/v1/prices/versions",
                        body=body.model_dump(mode="json"))  # fmt: skip

    def spend(self, org: str, month: str | None = None, project: str | None = None) -> SpendPublic:
        params = {k: v for k, v in (("month", month), ("project", project)) if v}
        return self.one(SpendPublic, "GET", f"/v1/orgs/{org}/spend", params=params or None,
                        idempotent=True)  # fmt: skip

    def list_budgets(self, org: str | None = None) -> list[BudgetPublic]:
        return self.many(BudgetPublic, "/v1/budgets", params={"org": org} if org else None)

    def set_budget(self, body: BudgetSet) -> BudgetPublic:
        return self.one(BudgetPublic, "PUT", "/v1/budgets", body=body.model_dump(mode="json"),
                        idempotent=True)  # fmt: skip

    def delete_budget(self, budget_id: str) -> None:
        self.request("DELETE", f"/v1/budgets/{budget_id}")

    def budget_alerts(self) -> list[BudgetAlertPublic]:
        return self.many(BudgetAlertPublic, "/v1/budgets/alerts")

    def account(self, org: str) -> AccountPublic:
        return self.one(AccountPublic, "GET", f"/v1/orgs/{org}/account", idempotent=True)

    def set_plan(self, org: str, body: PlanSet) -> AccountPublic:
        return self.one(AccountPublic, "PUT", f"/v1/orgs/{org}/plan",
                        body=body.model_dump(mode="json"), idempotent=True)  # fmt: skip

    def top_up(self, org: str, body: TopUpCreate) -> AccountPublic:
        return self.one(AccountPublic, "POST", f"/v1/orgs/{org}/top-ups",
                        body=body.model_dump(mode="json"))  # fmt: skip

    def usage(
        self, org: str | None = None, project: str | None = None, month: str | None = None
    ) -> list[UsageLinePublic]:
        params = {k: v for k, v in (("org", org), ("project", project), ("month", month)) if v}
        return self.many(UsageLinePublic, "/v1/usage", params=params or None)

    def estimate_job(self, spec: JobCreate) -> EstimatePublic:
        return self.one(EstimatePublic, "POST", "/v1/jobs/estimate",
                        body=spec.model_dump(mode="json"))  # fmt: skip
