"""The metering loop's look at every grant: cap and expiry warnings (once each, in the
grant's alerts and the audit trail when a cap is reached) and late progress reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from petaport.billing.copay import Drawn
from petaport.billing.grant_alerts import CAP_REACHED, alerts_due
from petaport.domain.ids import new_id
from petaport.domain.subsidy import GrantStatus
from petaport.services import progress
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.grant_alerts import GrantAlert, GrantAlertRepo
from petaport.storage.repos.subsidy import AuditRecord, AuditRepo, GrantRepo


def check_grants(s: Session, now: datetime) -> list[GrantAlert]:
    """Record the alerts every active grant owes at ``now``; returns the new ones."""
    grants = [g for g in GrantRepo(s).list_grants() if g.status is GrantStatus.ACTIVE]
    if not grants:
        return []
    drawn = DrawdownRepo(s).drawn(g.id for g in grants)
    repo = GrantAlertRepo(s)
    fired = repo.kinds([g.id for g in grants])
    out: list[GrantAlert] = []
    for g in grants:
        for due in alerts_due(g, drawn.get(g.id, Drawn()), now):
            if (g.id, due.kind) in fired:
                continue
            alert = GrantAlert(new_id("gal"), g.id, g.org_id, g.project_id, due.kind, now,
                               due.message)  # fmt: skip
            if repo.add(alert):
                out.append(alert)
                if due.kind in CAP_REACHED or due.kind == "expired":
                    AuditRepo(s).record(AuditRecord(
                        new_id("aud"), now, None, f"grant.{due.kind}", "grant", g.id,
                        g.application_id, g.id, g.org_id, {"on_cap": g.on_cap.value},
                    ))  # fmt: skip
        out += progress.watch(s, g, now)
    return out
