"""Jobs, attempts and job events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session

from petaport.domain.catalogue import EntryKind, EntryRef
from petaport.domain.errors import NotFound
from petaport.domain.jobs import (
    Allocation,
    Attempt,
    FinishedWork,
    Job,
    JobEvent,
    JobSpec,
    JobState,
    PendingReason,
    QosTier,
    QueuedJob,
    RunningWork,
)
from petaport.domain.tenancy import Scope
from petaport.storage.tables import AttemptRow, JobEventRow, JobRow


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["command"] = list(spec.command)
    data["environment"] = [list(kv) for kv in spec.environment]
    data["labels"] = [list(kv) for kv in spec.labels]
    data["qos"] = spec.qos.value
    data.pop("uses")
    if spec.uses:  # absent when empty, so older specs hash as they did
        data["uses"] = [ref_to_json(r) for r in spec.uses]
    return data


def ref_to_json(ref: EntryRef) -> dict[str, Any]:
    return {k: v for k, v in asdict(ref).items() if v is not None} | {"kind": ref.kind.value}


def ref_from_json(data: dict[str, Any]) -> EntryRef:
    return EntryRef(**{**data, "kind": EntryKind(data["kind"])})


def qos_from_json(data: dict[str, Any]) -> QosTier:
    """The QoS tier of a stored spec (specs stored before tiers existed are on-demand)."""
    return QosTier(data.get("qos", QosTier.ON_DEMAND.value))


def spec_from_json(data: dict[str, Any]) -> JobSpec:
    fields = dict(data)
    fields["command"] = tuple(fields.get("command", ()))
    fields["environment"] = tuple((k, v) for k, v in fields.get("environment", ()))
    fields["labels"] = tuple((k, v) for k, v in fields.get("labels", ()))
    fields["qos"] = qos_from_json(data)
    fields["uses"] = tuple(ref_from_json(r) for r in fields.get("uses", ()))
    return JobSpec(**fields)


def job_from_row(r: JobRow) -> Job:
    return Job(
        id=r.id,
        org_id=r.org_id,
        project_id=r.project_id,
        user_id=r.user_id,
        spec=spec_from_json(r.spec),
        state=JobState(r.state),
        reason=PendingReason(r.reason) if r.reason else None,
        priority=r.priority,
        submitted_at=r.submitted_at,
        updated_at=r.updated_at,
        started_at=r.started_at,
        ended_at=r.ended_at,
        exit_code=r.exit_code,
        attempt_count=r.attempt_count,
        backend=r.backend,
    )


def allocations_to_json(allocs: tuple[Allocation, ...]) -> list[dict[str, object]]:
    return [
        {
            "node": a.node,
            "gpu_indices": list(a.gpu_indices),
            "cpus": a.cpus,
            "memory_mb": a.memory_mb,
        }
        for a in allocs
    ]


def allocations_from_json(data: list[dict[str, Any]]) -> tuple[Allocation, ...]:
    return tuple(
        Allocation(
            str(a["node"]),
            tuple(int(i) for i in a["gpu_indices"]),
            int(a["cpus"]),
            int(a["memory_mb"]),
        )
        for a in data
    )


def attempt_from_row(r: AttemptRow) -> Attempt:
    return Attempt(
        id=r.id,
        job_id=r.job_id,
        number=r.number,
        state=JobState(r.state),
        allocations=allocations_from_json(r.allocations),
        created_at=r.created_at,
        started_at=r.started_at,
        ended_at=r.ended_at,
        exit_code=r.exit_code,
        pid=r.pid,
        backend_ref=r.backend_ref,
        detail=r.detail,
        borrowing=r.borrowing,
        gpu_milli=r.gpu_milli,
    )


def _job_values(job: Job, key: str | None, digest: str | None) -> dict[str, object]:
    spec = job.spec
    return {
        "id": job.id, "org_id": job.org_id, "project_id": job.project_id,
        "user_id": job.user_id, "name": spec.name, "spec": spec_to_json(spec),
        "gpus": spec.gpus, "gpu_model": spec.gpu_model, "cpus": spec.cpus,
        "memory_mb": spec.memory_mb, "nodes": spec.nodes, "qos": spec.qos.value,
        "walltime_s": spec.walltime_s, "gpu_milli": spec.gpu_milli,
        "state": job.state.value, "reason": job.reason.value if job.reason else None,
        "priority": job.priority, "submitted_at": job.submitted_at, "updated_at": job.updated_at,
        "backend": job.backend, "attempt_count": 0, "idempotency_key": key,
        "request_hash": digest, "started_at": None, "ended_at": None, "exit_code": None,
    }  # fmt: skip


JOBS = cast(Table, JobRow.__table__)
EVENTS = cast(Table, JobEventRow.__table__)


class JobRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    # -- jobs
    def add_job(self, job: Job, *, idempotency_key: str | None, request_hash: str | None) -> None:
        self.add_jobs([(job, idempotency_key, request_hash)])

    def add_jobs(self, items: list[tuple[Job, str | None, str | None]]) -> None:
        """Insert jobs (with their idempotency key and request hash) in one statement."""
        if items:
            self.s.connection().execute(JOBS.insert(), [_job_values(*item) for item in items])

    def find_by_idempotency_many(
        self, pairs: list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[Job, str | None]]:
        """The jobs these (user, key) pairs made, with their request hashes; one narrow query."""
        if not pairs:
            return {}
        q = select(JOBS.c.id, JOBS.c.request_hash, JOBS.c.user_id, JOBS.c.idempotency_key).where(
            JOBS.c.idempotency_key.in_({key for _, key in pairs})
        )
        wanted = set(pairs)
        found = {}
        for job_id, digest, user_id, key in self.s.connection().execute(q):
            if (user_id, key) in wanted:
                found[(user_id, key)] = (self.get_job(Scope(everything=True), job_id), digest)
        return found

    def get_job(self, scope: Scope, job_id: str, *, for_update: bool = False) -> Job:
        q = select(JobRow).where(JobRow.id == job_id)
        if for_update and self.s.bind is not None and self.s.bind.dialect.name != "sqlite":
            q = q.with_for_update()
        row = self.s.scalar(q)
        if row is None or not scope.allows(row.org_id, row.project_id):
            raise NotFound(f"job {job_id} not found")
        return job_from_row(row)

    def save_job(self, job: Job) -> None:
        """Write a job's mutable fields (state, reason, times, exit code, attempts)."""
        self.s.execute(
            update(JobRow)
            .where(JobRow.id == job.id)
            .values(
                state=job.state.value,
                reason=job.reason.value if job.reason else None,
                priority=job.priority,
                updated_at=job.updated_at,
                started_at=job.started_at,
                ended_at=job.ended_at,
                exit_code=job.exit_code,
                attempt_count=job.attempt_count,
            )
        )

    def set_reasons(self, reasons: dict[str, PendingReason], at: datetime) -> None:
        """Bulk update the reason of PENDING jobs (only those whose reason changed)."""
        by_reason: dict[PendingReason, list[str]] = {}
        for job_id, reason in reasons.items():
            by_reason.setdefault(reason, []).append(job_id)
        for reason, ids in by_reason.items():
            for chunk in range(0, len(ids), 500):
                self.s.execute(
                    update(JobRow)
                    .where(JobRow.id.in_(ids[chunk : chunk + 500]), JobRow.state == "PENDING")
                    .values(reason=reason.value, updated_at=at)
                )

    def list_jobs(
        self,
        scope: Scope,
        *,
        states: frozenset[JobState] | None = None,
        project_id: str | None = None,
        user_id: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Newest first; ``before`` is the id of the last job of the previous page."""
        q = select(JobRow).order_by(JobRow.id.desc())
        if not scope.everything:
            q = q.where(
                or_(JobRow.org_id.in_(scope.org_ids), JobRow.project_id.in_(scope.project_ids))
            )
        if states:
            q = q.where(JobRow.state.in_([s.value for s in states]))
        if project_id:
            q = q.where(JobRow.project_id == project_id)
        if user_id:
            q = q.where(JobRow.user_id == user_id)
        if before:
            q = q.where(JobRow.id < before)
        return [job_from_row(r) for r in self.s.scalars(q.limit(limit))]

    def queue(self) -> list[QueuedJob]:
        """Every PENDING job as the scheduler sees it, oldest first (no JSON decoding)."""
        r = JobRow
        q = (
            select(r.id, r.org_id, r.project_id, r.priority, r.qos, r.submitted_at, r.gpus,
                   r.nodes, r.cpus, r.memory_mb, r.gpu_model, r.reason, r.walltime_s, r.user_id,
                   r.gpu_milli)
            .where(r.state == "PENDING")
            .order_by(r.id)
        )  # fmt: skip
        return [
            QueuedJob(row[0], row[1], row[2], row[3], QosTier(row[4]), row[5], row[6], row[7],
                      row[8], row[9], row[10], PendingReason(row[11]) if row[11] else None,
                      row[12], row[13], row[14])
            for row in self.s.execute(q)
        ]  # fmt: skip

    def count_by_state(self, scope: Scope | None = None) -> dict[JobState, int]:
        """Jobs per state, all of them or those ``scope`` may see."""
        q = select(JobRow.state, func.count()).group_by(JobRow.state)
        if scope is not None and not scope.everything:
            q = q.where(
                or_(JobRow.org_id.in_(scope.org_ids), JobRow.project_id.in_(scope.project_ids))
            )
        return {JobState(state): int(n) for state, n in self.s.execute(q).all()}

    # -- attempts
    def add_attempt(self, a: Attempt, attempt_dir: str) -> None:
        self.s.add(
            AttemptRow(
                id=a.id,
                job_id=a.job_id,
                number=a.number,
                state=a.state.value,
                allocations=allocations_to_json(a.allocations),
                attempt_dir=attempt_dir,
                created_at=a.created_at,
                started_at=a.started_at,
                pid=a.pid,
                backend_ref=a.backend_ref,
                detail=a.detail,
                borrowing=a.borrowing,
                gpu_milli=a.gpu_milli,
            )
        )

    def save_attempt(self, a: Attempt) -> None:
        self.s.execute(
            update(AttemptRow)
            .where(AttemptRow.id == a.id)
            .values(
                state=a.state.value,
                started_at=a.started_at,
                ended_at=a.ended_at,
                exit_code=a.exit_code,
                pid=a.pid,
                backend_ref=a.backend_ref,
                detail=a.detail,
            )
        )

    def attempts_of(self, job_id: str) -> list[Attempt]:
        q = select(AttemptRow).where(AttemptRow.job_id == job_id).order_by(AttemptRow.number)
        return [attempt_from_row(r) for r in self.s.scalars(q)]

    def attempt_dir(self, attempt_id: str) -> str:
        row = self.s.get(AttemptRow, attempt_id)
        if row is None:
            raise NotFound(f"attempt {attempt_id} not found")
        return row.attempt_dir

    def running_attempts(self) -> list[tuple[Attempt, str, str | None]]:
        """RUNNING attempts with their attempt dir and stop intent ('cancel'/'requeue')."""
        q = select(AttemptRow).where(AttemptRow.state == "RUNNING").order_by(AttemptRow.id)
        return [(attempt_from_row(r), r.attempt_dir, r.stop_intent) for r in self.s.scalars(q)]

    def running_work(self) -> list[RunningWork]:
        """Every RUNNING attempt with what the scheduler needs of its job, in one query."""
        a, j = AttemptRow, JobRow
        q = (
            select(j.id, j.org_id, j.project_id, j.user_id, j.qos, j.priority, a.created_at,
                   a.started_at, a.allocations, j.walltime_s, a.borrowing, a.gpu_milli,
                   a.stop_intent)
            .join(j, j.id == a.job_id)
            .where(a.state == "RUNNING")
            .order_by(a.id)
        )  # fmt: skip
        return [
            RunningWork(row[0], row[1], row[2], row[3], QosTier(row[4]), row[5], row[7] or row[6],
                        allocations_from_json(row[8]), row[9], bool(row[10]), int(row[11]),
                        row[12] is not None)
            for row in self.s.execute(q)
        ]  # fmt: skip

    def finished_work(self, limit: int) -> list[FinishedWork]:
        """The last ``limit`` COMPLETED attempts, oldest first (duration prediction)."""
        a, j = AttemptRow, JobRow
        q = (
            select(j.project_id, j.user_id, j.gpus, j.nodes, j.gpu_milli, a.started_at, a.ended_at)
            .join(j, j.id == a.job_id)
            .where(a.state == "COMPLETED", a.started_at.is_not(None), a.ended_at.is_not(None))
            .order_by(a.ended_at.desc(), a.id.desc())
            .limit(limit)
        )
        out = [
            FinishedWork(p, u, g, n, m, max(0.0, (end - start).total_seconds()))
            for p, u, g, n, m, start, end in self.s.execute(q)
            if start is not None and end is not None
        ]
        out.reverse()
        return out

    def set_stop_intent(self, attempt_id: str, intent: str) -> None:
        self.s.execute(
            update(AttemptRow).where(AttemptRow.id == attempt_id).values(stop_intent=intent)
        )

    def current_attempt(self, job_id: str) -> Attempt | None:
        q = (
            select(AttemptRow)
            .where(AttemptRow.job_id == job_id)
            .order_by(AttemptRow.number.desc())
            .limit(1)
        )
        row = self.s.scalar(q)
        return attempt_from_row(row) if row else None

    # -- events
    def add_event(self, e: JobEvent) -> None:
        self.add_events([e])

    def add_events(self, events: list[JobEvent]) -> None:
        if events:
            self.s.connection().execute(
                EVENTS.insert(),
                [
                    {"id": e.id, "job_id": e.job_id, "at": e.at, "kind": e.kind,
                     "state": e.state.value if e.state else None, "message": e.message}
                    for e in events
                ],
            )  # fmt: skip

    def events_of(self, job_id: str) -> list[JobEvent]:
        q = select(JobEventRow).where(JobEventRow.job_id == job_id).order_by(JobEventRow.id)
        return [
            JobEvent(
                r.id, r.job_id, r.at, r.kind, JobState(r.state) if r.state else None, r.message
            )
            for r in self.s.scalars(q)
        ]
