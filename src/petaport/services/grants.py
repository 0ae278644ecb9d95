"""Grants after they are made: read them with their drawdown against the caps, create one
directly for a scheme, and suspend, resume or close one (docs/subsidy.md).

Who may do what:
- read: centre admins and the committee every grant; an org's members their org's (or
  project's) grants; another tenant's grant is not found (404);
- create, suspend, resume, close: centre admins and the committee (403 for others who can
  see the grant). Every change is recorded in the subsidy audit trail.

Status moves: active <-> suspended, active or suspended -> closed; a closed grant is final
(409 ``illegal_transition``). A rate above the scheme's maximum is 422 ``rate_above_maximum``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.billing.copay import Drawn, cap_gpu_s
from petaport.domain.errors import Forbidden, IllegalTransition
from petaport.domain.ids import new_id
from petaport.domain.money import Money
from petaport.domain.progress import Milestone, ReportingTerms
from petaport.domain.subsidy import Grant, GrantStatus, OnCap, new_grant_for
from petaport.domain.tenancy import Principal, Scope, scope_of
from petaport.services.authz import require_scope
from petaport.services.context import Context
from petaport.services.subsidy_access import sees_all
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.grant_alerts import GrantAlert, GrantAlertRepo
from petaport.storage.repos.progress import ProgressRepo
from petaport.storage.repos.subsidy import AuditRecord, AuditRepo, GrantRepo, SchemeRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
MOVES = {
    "suspend": ({GrantStatus.ACTIVE}, GrantStatus.SUSPENDED),
    "resume": ({GrantStatus.SUSPENDED}, GrantStatus.ACTIVE),
    "close": ({GrantStatus.ACTIVE, GrantStatus.SUSPENDED}, GrantStatus.CLOSED),
}


def grant_scope(p: Principal) -> Scope:
    return EVERYTHING if sees_all(p) else scope_of(p)


def require_committee(p: Principal) -> None:
    require_scope(p, "admin")
    if not sees_all(p):
        raise Forbidden("only the committee or a centre admin may do this")


@dataclass(frozen=True)
class GrantView:
    grant: Grant
    drawn: Drawn
    terms: ReportingTerms
    alerts: tuple[GrantAlert, ...] = ()

    @property
    def funded(self) -> Money:
        return Money(self.drawn.funded)

    @property
    def gpu_hours(self) -> Decimal:
        return (self.drawn.gpu_s / 3600).quantize(Decimal("0.001"))

    def percent(self) -> tuple[Decimal | None, Decimal | None]:
        """(HKD, GPU-hours) used of each cap, percent; None where there is no cap."""
        g, q = self.grant, Decimal("0.1")
        hkd = None if g.cap is None else (self.drawn.funded * 100 / g.cap.amount).quantize(q)
        cap_s = cap_gpu_s(g)
        gpu = None if cap_s is None else (self.drawn.gpu_s * 100 / cap_s).quantize(q)
        return hkd, gpu


def _views(s: Session, grants: list[Grant], scope: Scope) -> list[GrantView]:
    drawn = DrawdownRepo(s).drawn(g.id for g in grants)
    progress, alerts = ProgressRepo(s), GrantAlertRepo(s)
    return [
        GrantView(g, drawn.get(g.id, Drawn()), progress.terms(g.id),
                  tuple(alerts.list_alerts(scope, g.id)))
        for g in grants
    ]  # fmt: skip


def list_grants(ctx: Context, p: Principal, *, org: str | None = None,
                funder: str | None = None) -> list[GrantView]:  # fmt: skip
    scope = grant_scope(p)
    with ctx.db.transaction() as s:
        org_id = None
        if org is not None:
            tenancy = TenancyRepo(s)
            found = tenancy.find_org_by_slug(org)
            org_id = found.id if found is not None and scope.allows(found.id) else org
        grants = GrantRepo(s).list_grants(scope, org_id=org_id)
        if funder is not None:
            grants = [g for g in grants if g.funder_id == funder]
        return _views(s, grants, scope)


def get_grant(ctx: Context, p: Principal, grant_id: str) -> GrantView:
    scope = grant_scope(p)
    with ctx.db.transaction() as s:
        return _views(s, [GrantRepo(s).get(grant_id, scope)], scope)[0]


@dataclass(frozen=True)
class GrantFields:
    scheme_id: str
    project: str  # id or org-slug/project-slug
    rate: Decimal | None  # None: the scheme's rate for the org's category
    valid_from: datetime
    valid_until: datetime
    cap: Money | None = None
    cap_gpu_hours: Decimal | None = None
    allowed_gpu_models: frozenset[str] = frozenset()
    on_cap: OnCap = OnCap.BILL_ORG
    conditions: str = ""
    milestones: tuple[Milestone, ...] = ()
    report_every_months: int = 3
    grace_days: int = 30
    suspend_when_late: bool = False
    application_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def create_grant(ctx: Context, p: Principal, f: GrantFields) -> GrantView:
    """A grant made directly (migrating an existing grant, or by the committee)."""
    require_committee(p)
    now = ctx.clock()
    with ctx.db.transaction() as s:
        scheme = SchemeRepo(s).get(f.scheme_id)
        tenancy = TenancyRepo(s)
        project = tenancy.resolve_project(EVERYTHING, f.project)
        org = tenancy.get_org(EVERYTHING, project.org_id)
        rate = f.rate if f.rate is not None else scheme.rate_for(org.category)
        grant = new_grant_for(scheme, Grant(
            new_id("grt"), scheme.id, scheme.funder_id, org.id, project.id, rate, f.valid_from,
            f.valid_until, f.cap, f.cap_gpu_hours, f.allowed_gpu_models, f.on_cap,
            GrantStatus.ACTIVE, f.application_id, f.conditions,
        ))  # fmt: skip
        terms = ReportingTerms(grant.id, f.milestones, f.report_every_months, f.grace_days,
                               f.suspend_when_late)  # fmt: skip
        GrantRepo(s).add(grant, p.user.id, now)
        ProgressRepo(s).save_terms(terms, now)
        _audit(s, grant, "grant.created", p.user.id, now, {"rate": str(rate)})
    return get_grant(ctx, p, grant.id)


def change_status(ctx: Context, p: Principal, grant_id: str, action: str, reason: str = ""
                  ) -> GrantView:  # fmt: skip
    """Suspend, resume or close a grant (the committee), recorded in the audit trail."""
    if action not in MOVES:
        raise IllegalTransition(f"unknown action {action!r}")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo = GrantRepo(s)
        grant = repo.get(grant_id, grant_scope(p))  # another tenant's: not found
        require_committee(p)
        set_status(s, grant, action, p.user.id, now, reason)
    return get_grant(ctx, p, grant_id)


def set_status(s: Session, grant: Grant, action: str, actor_id: str | None, now: datetime,
               reason: str) -> Grant:  # fmt: skip
    allowed, to = MOVES[action]
    if grant.status not in allowed:
        raise IllegalTransition(f"a {grant.status.value} grant cannot be {to.value}")
    changed = GrantRepo(s).update(replace(grant, status=to), now)
    _audit(s, changed, f"grant.{to.value}", actor_id, now,
           {"from": grant.status.value, "reason": reason})  # fmt: skip
    return changed


def _audit(s: Session, g: Grant, action: str, actor_id: str | None, now: datetime,
           details: dict[str, object]) -> None:  # fmt: skip
    AuditRepo(s).record(AuditRecord(new_id("aud"), now, actor_id, action, "grant", g.id,
                                    g.application_id, g.id, g.org_id, details))  # fmt: skip


def list_alerts(ctx: Context, p: Principal, grant_id: str | None = None) -> list[GrantAlert]:
    scope = grant_scope(p)
    with ctx.db.transaction() as s:
        if grant_id is not None:
            GrantRepo(s).get(grant_id, scope)
        return GrantAlertRepo(s).list_alerts(scope, grant_id)


def audit_trail(ctx: Context, p: Principal, grant_id: str) -> list[AuditRecord]:
    with ctx.db.transaction() as s:
        GrantRepo(s).get(grant_id, grant_scope(p))  # another tenant's: not found
        require_committee(p)
        return AuditRepo(s).list_records(grant_id=grant_id)
