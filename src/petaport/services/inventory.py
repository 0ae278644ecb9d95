"""Node pools and capacity (GPUs and PFLOPS, with the precision the figure is for)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.inventory import Capacity, NodePool, peak_pflops_for
from petaport.domain.tenancy import Principal
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.jobs import JobRepo

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class PoolFields:
    name: str
    gpu_model: str | None
    gpus_per_node: int
    cpus_per_node: int
    memory_mb_per_node: int
    node_count: int
    pflops_per_gpu: Decimal | None = None
    precision: str = "BF16 dense"
    backend: str = "local"
    in_hong_kong: bool = False


def _validate(f: PoolFields) -> Decimal:
    if not _NAME.match(f.name):
        raise ValidationFailed("pool name must be 1-63 lowercase letters, digits or '-'")
    if not (
        0 <= f.gpus_per_node <= 64
        and 1 <= f.cpus_per_node <= 4096
        and 1 <= f.memory_mb_per_node <= 64 * 1024 * 1024
        and 1 <= f.node_count <= 100_000
    ):
        raise ValidationFailed("gpus 0-64, cpus 1-4096, memory 1 MiB-64 TiB, nodes 1-100000")
    pflops = f.pflops_per_gpu
    if pflops is None:
        pflops = peak_pflops_for(f.gpu_model, f.precision) or Decimal(0)
    if pflops < 0 or pflops > 1000:
        raise ValidationFailed("pflops_per_gpu must be between 0 and 1000")
    if f.gpus_per_node == 0 and f.gpu_model:
        raise ValidationFailed("a pool without GPUs has no GPU model")
    return pflops


def create_pool(ctx: Context, p: Principal, f: PoolFields) -> NodePool:
    require_centre_admin(p)
    pflops = _validate(f)
    pool = NodePool(
        new_id("pool"),
        f.name,
        f.gpu_model,
        f.gpus_per_node,
        f.cpus_per_node,
        f.memory_mb_per_node,
        f.node_count,
        pflops,
        f.precision,
        f.backend,
        ctx.clock(),
        f.in_hong_kong,
    )
    with ctx.db.transaction() as s:
        repo = InventoryRepo(s)
        if repo.find_pool_by_name(f.name) is not None:
            raise Conflict(f"a node pool named '{f.name}' exists", code="pool_name_taken")
        repo.add_pool(pool)
    return pool


def update_pool(ctx: Context, p: Principal, pool_id: str, f: PoolFields) -> NodePool:
    require_centre_admin(p)
    pflops = _validate(f)
    with ctx.db.transaction() as s:
        repo = InventoryRepo(s)
        pool = repo.get_pool(pool_id)
        if f.name != pool.name:
            raise ValidationFailed("a node pool cannot be renamed")
        updated = replace(
            pool,
            gpu_model=f.gpu_model,
            gpus_per_node=f.gpus_per_node,
            cpus_per_node=f.cpus_per_node,
            memory_mb_per_node=f.memory_mb_per_node,
            node_count=f.node_count,
            pflops_per_gpu=pflops,
            precision=f.precision,
            in_hong_kong=f.in_hong_kong,
        )
        repo.update_pool(updated)
    return updated


def delete_pool(ctx: Context, p: Principal, pool_id: str) -> None:
    require_centre_admin(p)
    with ctx.db.transaction() as s:
        repo = InventoryRepo(s)
        repo.get_pool(pool_id)
        repo.delete_pool(pool_id)


def get_pool(ctx: Context, p: Principal, pool_id: str) -> NodePool:
    with ctx.db.transaction() as s:
        return InventoryRepo(s).get_pool(pool_id)


def list_pools(ctx: Context, p: Principal) -> list[NodePool]:
    with ctx.db.transaction() as s:
        return InventoryRepo(s).list_pools()


def capacity(ctx: Context) -> Capacity:
    """Totals over every pool; allocated GPUs from running attempts."""
    with ctx.db.transaction() as s:
        pools = InventoryRepo(s).list_pools()
        running = JobRepo(s).running_attempts()
    allocated = sum(len(a.gpu_indices) for att, _, _ in running for a in att.allocations)
    precisions = sorted({pool.precision for pool in pools if pool.total_gpus})
    return Capacity(
        gpus=sum(pool.total_gpus for pool in pools),
        gpus_allocated=allocated,
        peak_pflops=sum((pool.peak_pflops for pool in pools), Decimal(0)),
        precision=", ".join(precisions) or "n/a",
    )


def sync_backend_pool(ctx: Context) -> NodePool:
    """Make the backend's own pool match what its inventory reports (called at start)."""
    nodes = ctx.backend.inventory()
    first = nodes[0]
    # One pool per backend, shaped like its first node: it counts the nodes of that shape (a
    # Slurm cluster's CPU-only nodes are not counted as GPU nodes).
    shape = (first.gpu_model, len(first.gpu_indices))
    alike = sum(1 for node in nodes if (node.gpu_model, len(node.gpu_indices)) == shape)
    declared = ctx.settings.gpus
    pflops = peak_pflops_for(first.gpu_model, declared.precision) or declared.pflops_per_gpu
    fields = PoolFields(
        ctx.settings.local_node_name,
        first.gpu_model if first.gpu_indices else None,
        len(first.gpu_indices),
        first.cpus,
        first.memory_mb,
        alike,
        pflops,
        declared.precision,
        ctx.backend.name,
    )
    with ctx.db.transaction() as s:
        repo = InventoryRepo(s)
        existing = repo.find_pool_by_name(fields.name)
        pool = NodePool(
            existing.id if existing else new_id("pool"),
            fields.name,
            fields.gpu_model,
            fields.gpus_per_node,
            fields.cpus_per_node,
            fields.memory_mb_per_node,
            fields.node_count,
            pflops,
            fields.precision,
            fields.backend,
            existing.created_at if existing else ctx.clock(),
            ctx.settings.pool_in_hong_kong,
        )
        if existing:
            repo.update_pool(pool)
        else:
            repo.add_pool(pool)
    return pool
