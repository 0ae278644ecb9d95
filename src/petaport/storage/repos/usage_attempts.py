"""The attempts metering still has to do, read for metering only.

``attempts_due``: started attempts whose metering is not final yet (running, or ended since
the last metering run), oldest first, each with the few things of its job that metering reads
(org, project, QoS tier and requested GPU model, from the stored spec as ``spec_from_json``
reads them). Building and validating the whole ``Job`` and its spec through the ORM was a
sixth of the CPU of rating a month (bench/billing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, exists, select
from sqlalchemy.orm import Session

from petaport.domain.jobs import Attempt, QosTier
from petaport.storage.money_tables import MeteredAttemptRow
from petaport.storage.repos.jobs import attempt_from_row, qos_from_json
from petaport.storage.tables import AttemptRow, JobRow

ATTEMPTS = cast(Table, AttemptRow.__table__)
JOBS = cast(Table, JobRow.__table__)
METERED = cast(Table, MeteredAttemptRow.__table__)


@dataclass(frozen=True, slots=True)
class DueAttempt:
    """An attempt to meter and what metering needs of its job."""

    attempt: Attempt
    org_id: str
    project_id: str
    tier: QosTier
    gpu_model: str | None  # the model the job asked for (None: any)


def attempts_due(session: Session, limit: int, after: str | None = None) -> list[DueAttempt]:
    """Started attempts whose metering is not final yet (running, or ended since the last
    metering run), by id after ``after``, at most ``limit``."""
    a = ATTEMPTS.c
    done = exists().where(METERED.c.attempt_id == a.id, METERED.c.final.is_(True))
    q = (
        select(ATTEMPTS, JOBS.c.org_id, JOBS.c.project_id, JOBS.c.spec)
        .join(JOBS, JOBS.c.id == a.job_id)
        .where(a.started_at.is_not(None) | a.ended_at.is_not(None))
        .where(~done)
        .where(a.id > (after or ""))
        .order_by(a.id)
        .limit(limit)
    )
    return [_due(row) for row in session.execute(q)]


def _due(row: Any) -> DueAttempt:
    spec: dict[str, Any] = row.spec
    return DueAttempt(attempt_from_row(row), row.org_id, row.project_id,
                      qos_from_json(spec),
                      spec.get("gpu_model"))  # fmt: skip
