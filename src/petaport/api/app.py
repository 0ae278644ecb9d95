"""The FastAPI application: routers under /v1, problem handlers, metrics middleware."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petaport import __version__
from petaport.api import problems
from petaport.api.routers import (
    auth,
    catalogue,
    grants,
    inventory,
    invoices,
    jobs,
    lab,
    money,
    quotas,
    slurm,
    spend,
    subsidy,
    subsidy_applications,
    subsidy_report,
    system,
    tenancy,
)
from petaport.services.context import Context


class LatencyMiddleware:
    """Records API latency by route template (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.ctx.metrics.api_latency.labels(scope["method"], path, str(status[0])).observe(
                time.perf_counter() - started
            )


def create_api(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Petaport API",
        version=__version__,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        description="Run a multi-tenant AI supercomputing centre: tenants, jobs, capacity. "
        "Errors are RFC 9457 problem details with a stable `code`.",
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in (auth, tenancy, inventory, money, spend, jobs, quotas, invoices, slurm, catalogue,
                   lab, grants, subsidy, subsidy_applications, subsidy_report):  # fmt: skip
        app.include_router(module.router, prefix="/v1")
    app.include_router(system.router)
    app.add_middleware(LatencyMiddleware, ctx=ctx)
    return app
