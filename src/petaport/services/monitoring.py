"""Readiness and the gauges that are read from the database at scrape time."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from petaport.domain.jobs import JobState
from petaport.services.context import Context
from petaport.services.inventory import capacity
from petaport.storage.repos.jobs import JobRepo


def readiness_problem(ctx: Context) -> str | None:
    """None when the database answers; otherwise what is wrong."""
    try:
        ctx.db.ping()
    except SQLAlchemyError as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None


def refresh_gauges(ctx: Context) -> None:
    with ctx.db.transaction() as s:
        counts = JobRepo(s).count_by_state()
    for state in JobState:
        ctx.metrics.jobs_by_state.labels(state.value).set(counts.get(state, 0))
    totals = capacity(ctx)
    ctx.metrics.gpus_total.set(totals.gpus)
    ctx.metrics.gpus_allocated.set(totals.gpus_allocated)
