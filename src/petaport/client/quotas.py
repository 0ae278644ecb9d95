"""Endpoints for GPU quotas and the fair-share view."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas import FairSharePublic, QuotaCreate, QuotaPublic, QuotaUpdate


class QuotasApi(Transport):
    def list_quotas(self, org: str | None = None) -> list[QuotaPublic]:
        params = {"org": org} if org else None
        return self.many(QuotaPublic, "/v1/quotas", params=params)

    def create_quota(self, spec: QuotaCreate) -> QuotaPublic:
        return self.one(QuotaPublic, "POST", "/v1/quotas", body=spec.model_dump(mode="json"))

    def get_quota(self, quota_id: str) -> QuotaPublic:
        return self.one(QuotaPublic, "GET", f"/v1/quotas/{quota_id}", idempotent=True)

    def update_quota(self, quota_id: str, spec: QuotaUpdate) -> QuotaPublic:
        return self.one(QuotaPublic, "PUT", f"/v1/quotas/{quota_id}",
                        body=spec.model_dump(mode="json"), idempotent=True)  # fmt: skip

    def delete_quota(self, quota_id: str) -> None:
        self.request("DELETE", f"/v1/quotas/{quota_id}")

    def fair_share(self) -> list[FairSharePublic]:
        return self.many(FairSharePublic, "/v1/fairshare")
