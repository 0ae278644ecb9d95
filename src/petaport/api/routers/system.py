"""Health, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from petaport.api.deps import CtxDep
from petaport.api.problems import declare, problem_response
from petaport.schemas import Health, Ready
from petaport.services import monitoring
from petaport.services.metrics import exposition

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses=declare(503))
def readyz(ctx: CtxDep) -> Ready | Response:
    problem = monitoring.readiness_problem(ctx)
    if problem:
        return problem_response(503, "not_ready", problem)
    return Ready(status="ready", database=ctx.db.dialect, backend=ctx.backend.name)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
)
def metrics(ctx: CtxDep) -> Response:
    monitoring.refresh_gauges(ctx)
    return Response(exposition(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
