"""GPU quotas and the fair-share usage state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.quotas import GpuQuota
from petaport.domain.tenancy import Scope
from petaport.storage.tables import ProjectUsageRow, QuotaRow


def quota_from_row(r: QuotaRow) -> GpuQuota:
    return GpuQuota(
        r.id,
        r.org_id,
        r.project_id,
        r.gpu_model,
        r.nominal_gpus,
        r.borrowing_limit_gpus,
        r.lending_limit_gpus,
        r.created_at,
        r.updated_at,
    )


class QuotaRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def list(self, scope: Scope | None = None) -> list[GpuQuota]:
        """Every quota, or those ``scope`` may see (an org's members see all of its quotas, a
        project's members those of their project)."""
        q = select(QuotaRow).order_by(QuotaRow.org_id, QuotaRow.project_id, QuotaRow.gpu_model)
        rows = [quota_from_row(r) for r in self.s.scalars(q)]
        if scope is None or scope.everything:
            return rows
        return [r for r in rows if scope.allows(r.org_id, r.project_id)]

    def get(self, quota_id: str, scope: Scope | None = None) -> GpuQuota:
        row = self.s.get(QuotaRow, quota_id)
        quota = None if row is None else quota_from_row(row)
        if quota is None or (scope is not None and quota not in self.list(scope)):
            raise NotFound(f"quota {quota_id} not found")
        return quota

    def find(self, scope_key: str) -> GpuQuota | None:
        row = self.s.scalars(select(QuotaRow).where(QuotaRow.scope_key == scope_key)).first()
        return None if row is None else quota_from_row(row)

    def add(self, q: GpuQuota) -> None:
        self.s.add(
            QuotaRow(
                id=q.id,
                scope_key=q.scope_key,
                org_id=q.org_id,
                project_id=q.project_id,
                gpu_model=q.gpu_model,
                nominal_gpus=q.nominal_gpus,
                borrowing_limit_gpus=q.borrowing_limit_gpus,
                lending_limit_gpus=q.lending_limit_gpus,
                created_at=q.created_at,
                updated_at=q.updated_at,
            )
        )
        self.s.flush()  # a concurrent twin fails here, inside the caller's error handling

    def update(self, q: GpuQuota) -> None:
        row = self.s.get(QuotaRow, q.id)
        if row is None:
            raise NotFound(f"quota {q.id} not found")
        row.nominal_gpus = q.nominal_gpus
        row.borrowing_limit_gpus = q.borrowing_limit_gpus
        row.lending_limit_gpus = q.lending_limit_gpus
        row.updated_at = q.updated_at

    def delete(self, quota_id: str) -> None:
        self.s.execute(delete(QuotaRow).where(QuotaRow.id == quota_id))


class UsageRepo:
    """Per project: GPU-seconds of finished attempts, decayed to ``as_of`` by the caller."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def all(self) -> list[tuple[str, str, float, datetime]]:
        """(org id, project id, decayed GPU-seconds, as of) for every project with usage."""
        q = select(
            ProjectUsageRow.org_id,
            ProjectUsageRow.project_id,
            ProjectUsageRow.gpu_s,
            ProjectUsageRow.as_of,
        ).order_by(ProjectUsageRow.project_id)
        return [(o, p, float(g), a) for o, p, g, a in self.s.execute(q).all()]

    def get_for_update(self, project_id: str) -> tuple[float, datetime] | None:
        q = (
            select(ProjectUsageRow.gpu_s, ProjectUsageRow.as_of)
            .where(ProjectUsageRow.project_id == project_id)
            .with_for_update()
        )
        row = self.s.execute(q).first()
        return None if row is None else (float(row[0]), row[1])

    def put(self, org_id: str, project_id: str, gpu_s: float, as_of: datetime) -> None:
        row = self.s.get(ProjectUsageRow, project_id)
        if row is None:
            row = ProjectUsageRow(project_id=project_id, org_id=org_id, gpu_s=gpu_s, as_of=as_of)
            self.s.add(row)
        else:
            row.gpu_s, row.as_of = gpu_s, as_of

    def put_many(self, items: Iterable[tuple[str, str, float, datetime]]) -> None:
        for org_id, project_id, gpu_s, as_of in items:
            self.put(org_id, project_id, gpu_s, as_of)
