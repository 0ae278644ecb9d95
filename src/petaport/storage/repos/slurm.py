"""Slurm accounting records (one per attempt) and the watermark of the last read."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from petaport.domain.tenancy import Scope
from petaport.domain.usage import MeasuredUsage, MeteredAttempt
from petaport.storage.tables import AttemptRow, JobRow, SlurmUsageRow, SlurmWatermarkRow


def usage_from_row(r: SlurmUsageRow) -> MeasuredUsage:
    return MeasuredUsage(
        r.attempt_id, r.slurm_job_id, r.state, r.exit_code, r.started_at, r.ended_at,
        r.elapsed_s, r.gpus, r.cpus, r.memory_mb, r.nodes,
    )  # fmt: skip


class SlurmUsageRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def watermark(self, backend: str) -> datetime | None:
        row = self.s.get(SlurmWatermarkRow, backend)
        return None if row is None else row.last_end_at

    def set_watermark(self, backend: str, last_end_at: datetime, now: datetime) -> None:
        row = self.s.get(SlurmWatermarkRow, backend)
        if row is None:
            self.s.add(SlurmWatermarkRow(backend=backend, last_end_at=last_end_at, updated_at=now))
        else:
            row.last_end_at, row.updated_at = last_end_at, now

    def stored(self, attempt_ids: Collection[str]) -> set[str]:
        q = select(SlurmUsageRow.attempt_id).where(SlurmUsageRow.attempt_id.in_(attempt_ids))
        return set(self.s.scalars(q))

    def attempts(self, attempt_ids: Collection[str]) -> dict[str, tuple[str, str | None]]:
        """(state, backend ref) of each of these attempts this database knows."""
        q = select(AttemptRow.id, AttemptRow.state, AttemptRow.backend_ref).where(
            AttemptRow.id.in_(attempt_ids)
        )
        return {i: (state, ref) for i, state, ref in self.s.execute(q).all()}

    def add(self, u: MeasuredUsage, read_at: datetime) -> None:
        self.s.add(
            SlurmUsageRow(
                attempt_id=u.attempt_id, slurm_job_id=u.slurm_job_id, state=u.state,
                exit_code=u.exit_code, started_at=u.start, ended_at=u.end,
                elapsed_s=u.elapsed_s, gpus=u.gpus, cpus=u.cpus, memory_mb=u.memory_mb,
                nodes=u.nodes, read_at=read_at,
            )
        )  # fmt: skip

    def measure_attempt(
        self, attempt_id: str, started_at: datetime, ended_at: datetime, exit_code: int | None
    ) -> None:
        """The attempt's times and exit code become the measured ones."""
        row = self.s.get(AttemptRow, attempt_id)
        if row is not None:
            row.started_at, row.ended_at, row.exit_code = started_at, ended_at, exit_code

    def list(
        self, scope: Scope, *, read_after: datetime | None = None, limit: int = 1000
    ) -> list[MeteredAttempt]:
        """Records of attempts ``scope`` may see, oldest read first."""
        q = (
            select(SlurmUsageRow, JobRow.id, JobRow.org_id, JobRow.project_id)
            .join(AttemptRow, AttemptRow.id == SlurmUsageRow.attempt_id)
            .join(JobRow, JobRow.id == AttemptRow.job_id)
            .order_by(SlurmUsageRow.read_at, SlurmUsageRow.attempt_id)
        )
        if not scope.everything:
            q = q.where(JobRow.org_id.in_(scope.org_ids) | JobRow.project_id.in_(scope.project_ids))
        if read_after is not None:
            q = q.where(SlurmUsageRow.read_at > read_after)
        return [
            MeteredAttempt(usage_from_row(r), job_id, org_id, project_id, r.read_at)
            for r, job_id, org_id, project_id in self.s.execute(q.limit(limit)).all()
        ]
