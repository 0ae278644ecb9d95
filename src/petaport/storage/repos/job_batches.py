"""Jobs and attempts read and written many at a time, for the scheduling loop's hot paths (a
cycle that starts or ends dozens of attempts): one SELECT for all the jobs, one statement
executed with many parameter sets for each kind of write, instead of a few ORM statements per
job. Core statements: they bypass the session's identity map, so a caller must not mix them
with ORM reads of the same rows in one transaction (``JobRepo.get_job`` after ``save_jobs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.jobs import Attempt, Job
from petaport.storage.repos.jobs import allocations_to_json, job_from_row
from petaport.storage.tables import AttemptRow, JobRow

JOBS = cast(Table, JobRow.__table__)
ATTEMPTS = cast(Table, AttemptRow.__table__)

_SAVE_JOB = (
    JOBS.update()
    .where(JOBS.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"), reason=bindparam("b_reason"),
        priority=bindparam("b_priority"), updated_at=bindparam("b_updated_at"),
        started_at=bindparam("b_started_at"), ended_at=bindparam("b_ended_at"),
        exit_code=bindparam("b_exit_code"), attempt_count=bindparam("b_attempt_count"),
    )
)  # fmt: skip
_SAVE_ATTEMPT = (
    ATTEMPTS.update()
    .where(ATTEMPTS.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"), started_at=bindparam("b_started_at"),
        ended_at=bindparam("b_ended_at"), exit_code=bindparam("b_exit_code"),
        pid=bindparam("b_pid"), backend_ref=bindparam("b_backend_ref"),
        detail=bindparam("b_detail"),
    )
)  # fmt: skip


class JobBatchRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get_jobs(self, job_ids: Sequence[str], *, for_update: bool = False) -> dict[str, Job]:
        """These jobs by id (all scopes: the scheduler's view), locked in id order on
        PostgreSQL; a missing id raises ``NotFound``."""
        wanted = sorted(set(job_ids))
        found: dict[str, Job] = {}
        for i in range(0, len(wanted), 500):
            q = select(JobRow).where(JobRow.id.in_(wanted[i : i + 500])).order_by(JobRow.id)
            if for_update and self.s.bind is not None and self.s.bind.dialect.name != "sqlite":
                q = q.with_for_update()
            found.update((row.id, job_from_row(row)) for row in self.s.scalars(q))
        missing = [job_id for job_id in wanted if job_id not in found]
        if missing:
            raise NotFound(f"job {missing[0]} not found")
        return found

    def save_jobs(self, jobs: Sequence[Job]) -> None:
        """``JobRepo.save_job`` for each (state, reason, priority, times, exit code, attempts)."""
        if jobs:
            self.s.connection().execute(_SAVE_JOB, [_job_params(j) for j in jobs])

    def add_attempts(self, attempts: Sequence[tuple[Attempt, str]]) -> None:
        """New attempts with their attempt directories."""
        if attempts:
            self.s.connection().execute(ATTEMPTS.insert(), [_new_attempt(*a) for a in attempts])

    def save_attempts(self, attempts: Sequence[Attempt]) -> None:
        """``JobRepo.save_attempt`` for each (state, times, exit code, pid, ref, detail)."""
        if attempts:
            self.s.connection().execute(_SAVE_ATTEMPT, [_attempt_params(a) for a in attempts])


def _job_params(j: Job) -> dict[str, object]:
    return {
        "b_id": j.id, "b_state": j.state.value, "b_reason": j.reason.value if j.reason else None,
        "b_priority": j.priority, "b_updated_at": j.updated_at, "b_started_at": j.started_at,
        "b_ended_at": j.ended_at, "b_exit_code": j.exit_code,
        "b_attempt_count": j.attempt_count,
    }  # fmt: skip


def _attempt_params(a: Attempt) -> dict[str, object]:
    return {
        "b_id": a.id, "b_state": a.state.value, "b_started_at": a.started_at,
        "b_ended_at": a.ended_at, "b_exit_code": a.exit_code, "b_pid": a.pid,
        "b_backend_ref": a.backend_ref, "b_detail": a.detail,
    }  # fmt: skip


def _new_attempt(a: Attempt, attempt_dir: str) -> dict[str, object]:
    return {
        "id": a.id, "job_id": a.job_id, "number": a.number, "state": a.state.value,
        "allocations": allocations_to_json(a.allocations), "attempt_dir": attempt_dir,
        "created_at": a.created_at, "started_at": a.started_at, "ended_at": None,
        "exit_code": None, "pid": a.pid, "backend_ref": a.backend_ref, "detail": a.detail,
        "stop_intent": None, "borrowing": a.borrowing, "gpu_milli": a.gpu_milli,
    }  # fmt: skip
