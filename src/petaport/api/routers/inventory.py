"""Node pools and capacity."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from petaport.api import convert
from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.schemas import CapacityPublic, NodePoolCreate, NodePoolPublic
from petaport.services import inventory

router = APIRouter(tags=["inventory"])


def _fields(body: NodePoolCreate, backend: str) -> inventory.PoolFields:
    return inventory.PoolFields(
        body.name,
        body.gpu_model,
        body.gpus_per_node,
        body.cpus_per_node,
        body.memory_mb_per_node,
        body.node_count,
        body.pflops_per_gpu,
        body.precision,
        backend,
        body.in_hong_kong,
    )


@router.get("/node-pools", responses=declare(401))
def list_pools(ctx: CtxDep, p: PrincipalDep) -> list[NodePoolPublic]:
    return [convert.pool(x) for x in inventory.list_pools(ctx, p)]


@router.post(
    "/node-pools", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 409, 422)
)
def create_pool(ctx: CtxDep, p: PrincipalDep, body: NodePoolCreate) -> NodePoolPublic:
    return convert.pool(inventory.create_pool(ctx, p, _fields(body, "manual")))


@router.get("/node-pools/{pool_id}", responses=declare(401, 404))
def get_pool(ctx: CtxDep, p: PrincipalDep, pool_id: str) -> NodePoolPublic:
    return convert.pool(inventory.get_pool(ctx, p, pool_id))


@router.put("/node-pools/{pool_id}", responses=declare(401, 403, 404, 422))
def update_pool(ctx: CtxDep, p: PrincipalDep, pool_id: str, body: NodePoolCreate) -> NodePoolPublic:
    return convert.pool(inventory.update_pool(ctx, p, pool_id, _fields(body, "manual")))


@router.delete(
    "/node-pools/{pool_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=declare(401, 403, 404),
)
def delete_pool(ctx: CtxDep, p: PrincipalDep, pool_id: str) -> Response:
    inventory.delete_pool(ctx, p, pool_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/capacity", responses=declare(401))
def capacity(ctx: CtxDep, p: PrincipalDep) -> CapacityPublic:
    return convert.capacity(inventory.capacity(ctx))
