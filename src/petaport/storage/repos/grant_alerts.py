"""Grant alerts (cap and expiry warnings, late reports), recorded once per grant and kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.billing.grant_alerts import CAP_REACHED
from petaport.domain.tenancy import Scope
from petaport.storage.drawdown_tables import GrantAlertRow


@dataclass(frozen=True)
class GrantAlert:
    id: str
    grant_id: str
    org_id: str
    project_id: str
    kind: str
    at: datetime
    message: str


def _alert(r: GrantAlertRow) -> GrantAlert:
    return GrantAlert(r.id, r.grant_id, r.org_id, r.project_id, r.kind, r.at, r.message)


class GrantAlertRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, alert: GrantAlert) -> bool:
        """Record ``alert`` once per grant and kind; False if it was there already."""
        try:
            with self.s.begin_nested():
                self.s.add(GrantAlertRow(
                    id=alert.id, grant_id=alert.grant_id, org_id=alert.org_id,
                    project_id=alert.project_id, kind=alert.kind, at=alert.at,
                    message=alert.message,
                ))  # fmt: skip
        except IntegrityError:
            return False
        return True

    def kinds(self, grant_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(grant id, kind) of the alerts already recorded."""
        if not grant_ids:
            return set()
        q = select(GrantAlertRow.grant_id, GrantAlertRow.kind).where(
            GrantAlertRow.grant_id.in_(list(grant_ids))
        )
        return {(g, k) for g, k in self.s.execute(q)}

    def capped_at(self, grant_ids: Sequence[str]) -> dict[str, datetime]:
        """Grant id -> when a cap was first recorded reached."""
        if not grant_ids:
            return {}
        q = (
            select(GrantAlertRow.grant_id, func.min(GrantAlertRow.at))
            .where(GrantAlertRow.grant_id.in_(list(grant_ids)))
            .where(GrantAlertRow.kind.in_(sorted(CAP_REACHED)))
            .group_by(GrantAlertRow.grant_id)
        )
        return {g: at for g, at in self.s.execute(q)}

    def list_alerts(self, scope: Scope, grant_id: str | None = None, limit: int = 200
                    ) -> list[GrantAlert]:  # fmt: skip
        """Newest first; only the orgs and projects ``scope`` allows."""
        q = select(GrantAlertRow).order_by(GrantAlertRow.at.desc(), GrantAlertRow.id.desc())
        if grant_id is not None:
            q = q.where(GrantAlertRow.grant_id == grant_id)
        if not scope.everything:
            q = q.where(
                GrantAlertRow.org_id.in_(sorted(scope.org_ids))
                | GrantAlertRow.project_id.in_(sorted(scope.project_ids))
            )
        rows = [_alert(r) for r in self.s.scalars(q.limit(limit))]
        return [a for a in rows if scope.allows(a.org_id, a.project_id)]
