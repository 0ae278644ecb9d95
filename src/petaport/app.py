"""Bootstrap: build the Context from Settings, migrate, seed, and wire API, portal and loop.

Wiring only; no behaviour lives here.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from petaport.api.app import create_api
from petaport.backends.registry import build_backend
from petaport.sealing import make_dirs
from petaport.services import inventory, pricing, seeding
from petaport.services.context import Context
from petaport.services.coordination import SchedulerLease, hold_lease_when_free
from petaport.services.scheduling import SchedulerLoop
from petaport.services.slurm_accounting import AccountingLoop
from petaport.settings import Settings
from petaport.storage import migrate
from petaport.storage.db import Database
from petaport.web.app import mount_portal

log = logging.getLogger("petaport")


def build_context(settings: Settings) -> Context:
    make_dirs(settings.data_dir)
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db)
    return Context(settings=settings, db=db, backend=build_backend(settings))


def prepare(ctx: Context) -> list[seeding.SeededUser]:
    """Sync the backend's node pool; seed the demo centre on first start."""
    inventory.sync_backend_pool(ctx)
    pricing.ensure_price_book(ctx)
    if ctx.settings.seed_demo and seeding.needs_seed(ctx):
        return seeding.seed_demo(ctx)
    return []


def _lead(ctx: Context, loop: SchedulerLoop, accounting: AccountingLoop) -> None:
    """This worker holds the scheduler lease: listen for wake-ups and run the loop."""
    ctx.runs_scheduler = True
    ctx.wake_channel.listen(ctx.wake.set)
    loop.start()
    accounting.start()


def create_app(settings: Settings, *, run_scheduler: bool = True) -> FastAPI:
    ctx = build_context(settings)
    loop = SchedulerLoop(ctx)
    accounting = AccountingLoop(ctx)
    lease = SchedulerLease(settings.data_dir / "run" / "scheduler.lock")
    stopping = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_scheduler:
            hold_lease_when_free(lease, lambda: _lead(ctx, loop, accounting), stopping)
        yield
        stopping.set()
        loop.stop()
        accounting.stop()
        lease.release()
        ctx.wake_channel.close()
        ctx.backend.close()
        ctx.db.dispose()

    app = create_api(ctx)
    app.router.lifespan_context = lifespan
    app.state.loop = loop
    mount_portal(app, ctx)
    return app


def worker_app() -> FastAPI:
    """The app of one worker process (``PETAPORT_WORKERS`` > 1); settings from the environment."""
    _configure_logging()
    return create_app(Settings())


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _announce(settings: Settings, seeded: list[seeding.SeededUser]) -> None:
    url = f"http://{settings.host}:{settings.port}"
    if seeded:
        print(f"Seeded a demo centre. Log in at {url}/portal/login as:", flush=True)
        for user in seeded:
            print(f"  {user.username:<24} {user.password:<16} {user.what}", flush=True)
        print(f"(also saved in {settings.data_dir / 'demo-credentials.txt'})", flush=True)
    workers = f", {settings.workers} worker processes" if settings.workers > 1 else ""
    print(f"Petaport serving on {url} (API {url}/v1/docs, metrics {url}/metrics){workers}",
          flush=True)  # fmt: skip


def serve(settings: Settings) -> None:
    """Serve API, portal, scheduler and backend until interrupted (in one or more processes)."""
    import uvicorn

    _configure_logging()
    common: dict[str, Any] = {"host": settings.host, "port": settings.port,
                              "log_level": "warning", "access_log": False}  # fmt: skip
    if settings.workers == 1:
        app = create_app(settings)
        _announce(settings, prepare(app.state.ctx))
        uvicorn.run(app, **common)
        return
    ctx = build_context(settings)
    seeded = prepare(ctx)
    ctx.db.dispose()
    metrics_dir = settings.data_dir / "run" / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), PETAPORT_PORT=str(settings.port),
                      PETAPORT_DATA_DIR=str(settings.data_dir.resolve()))  # fmt: skip
    _announce(settings, seeded)
    uvicorn.run("petaport.app:worker_app", factory=True, workers=settings.workers, **common)
