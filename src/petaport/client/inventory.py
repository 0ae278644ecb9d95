"""Endpoints for node pools, capacity and server health."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas import CapacityPublic, Health, NodePoolCreate, NodePoolPublic, Ready


class InventoryApi(Transport):
    def list_pools(self) -> list[NodePoolPublic]:
        return self.many(NodePoolPublic, "/v1/node-pools")

    def create_pool(self, spec: NodePoolCreate) -> NodePoolPublic:
        return self.one(NodePoolPublic, "POST", "/v1/node-pools", body=spec.model_dump(mode="json"))

    def get_pool(self, pool_id: str) -> NodePoolPublic:
        return self.one(NodePoolPublic, "GET", f"/v1/node-pools/{pool_id}", idempotent=True)

    def update_pool(self, pool_id: str, spec: NodePoolCreate) -> NodePoolPublic:
        return self.one(NodePoolPublic, "PUT", f"/v1/node-pools/{pool_id}",
                        body=spec.model_dump(mode="json"), idempotent=True)  # fmt: skip

    def delete_pool(self, pool_id: str) -> None:
        self.request("DELETE", f"/v1/node-pools/{pool_id}")

    def capacity(self) -> CapacityPublic:
        return self.one(CapacityPublic, "GET", "/v1/capacity", idempotent=True)

    def health(self) -> Health:
        return self.one(Health, "GET", "/healthz", idempotent=True)

    def ready(self) -> Ready:
        return self.one(Ready, "GET", "/readyz")
