"""Node pools."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.inventory import NodePool
from petaport.storage.tables import NodePoolRow


def pool_from_row(r: NodePoolRow) -> NodePool:
    return NodePool(
        r.id,
        r.name,
        r.gpu_model,
        r.gpus_per_node,
        r.cpus_per_node,
        r.memory_mb_per_node,
        r.node_count,
        r.pflops_per_gpu,
        r.precision,
        r.backend,
        r.created_at,
        r.in_hong_kong,
    )


class InventoryRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add_pool(self, p: NodePool) -> None:
        self.s.add(
            NodePoolRow(
                id=p.id,
                name=p.name,
                gpu_model=p.gpu_model,
                gpus_per_node=p.gpus_per_node,
                cpus_per_node=p.cpus_per_node,
                memory_mb_per_node=p.memory_mb_per_node,
                node_count=p.node_count,
                pflops_per_gpu=p.pflops_per_gpu,
                precision=p.precision,
                backend=p.backend,
                created_at=p.created_at,
                in_hong_kong=p.in_hong_kong,
            )
        )

    def update_pool(self, p: NodePool) -> None:
        row = self.s.get(NodePoolRow, p.id)
        if row is None:
            raise NotFound(f"node pool {p.id} not found")
        row.gpu_model, row.gpus_per_node, row.cpus_per_node = (
            p.gpu_model,
            p.gpus_per_node,
            p.cpus_per_node,
        )
        row.memory_mb_per_node, row.node_count = p.memory_mb_per_node, p.node_count
        row.pflops_per_gpu, row.precision = p.pflops_per_gpu, p.precision
        row.in_hong_kong = p.in_hong_kong

    def get_pool(self, pool_id: str) -> NodePool:
        row = self.s.get(NodePoolRow, pool_id)
        if row is None:
            raise NotFound(f"node pool {pool_id} not found")
        return pool_from_row(row)

    def find_pool_by_name(self, name: str) -> NodePool | None:
        row = self.s.scalar(select(NodePoolRow).where(NodePoolRow.name == name))
        return pool_from_row(row) if row else None

    def delete_pool(self, pool_id: str) -> None:
        row = self.s.get(NodePoolRow, pool_id)
        if row is not None:
            self.s.delete(row)

    def list_pools(self, *, backend: str | None = None) -> list[NodePool]:
        q = select(NodePoolRow).order_by(NodePoolRow.name)
        if backend:
            q = q.where(NodePoolRow.backend == backend)
        return [pool_from_row(r) for r in self.s.scalars(q)]
