"""Read models of the portal's grant pages: one call per page (docs/portal.md, docs/subsidy.md).

The grants come from ``services.grants`` under its rules (committee and centre admins see every
grant, an org's members their org's, another tenant's grant is not found); this module adds what
a page shows beside them: organisation, project and scheme names, the drawdown over time from
the stored splits, the reporting periods, and for the committee the audit trail with who acted.
Names are looked up only for grants the caller may already see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from petaport.domain.progress import PeriodStatus
from petaport.domain.tenancy import Principal, Scope
from petaport.services import grants, progress
from petaport.services.authz import can_admin_org
from petaport.services.context import Context
from petaport.services.grants import GrantView, require_committee
from petaport.services.subsidy_access import sees_all
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.subsidy import AuditRecord, SchemeRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
HOUR_S = Decimal(3600)


@dataclass(frozen=True)
class GrantRow:
    view: GrantView
    org_name: str
    project_name: str
    scheme_name: str


@dataclass(frozen=True)
class DrawPoint:
    """The funder's share and GPU-hours funded up to the end of one day (centre's zone)."""

    day: datetime
    funded: Decimal
    gpu_hours: Decimal


@dataclass(frozen=True)
class GrantPage:
    row: GrantRow
    history: tuple[DrawPoint, ...]  # from the grant's first day; one point: nothing paid yet
    last_day: datetime  # the grant's last day, in the centre's zone
    periods: tuple[PeriodStatus, ...]
    audit: tuple[AuditRecord, ...]  # empty unless the caller is on the committee
    actors: dict[str, str]  # user id -> display name, for the audit trail and reports
    may_decide: bool  # suspend, resume, close
    may_report: bool  # file a progress report


def _rows(s: Session, views: list[GrantView]) -> list[GrantRow]:
    tenancy, schemes = TenancyRepo(s), SchemeRepo(s)
    orgs = {o: tenancy.get_org(EVERYTHING, o).name for o in {v.grant.org_id for v in views}}
    names = {
        pid: tenancy.get_project(EVERYTHING, pid).name
        for pid in {v.grant.project_id for v in views}
    }
    found = {sid: schemes.find(sid) for sid in {v.grant.scheme_id for v in views}}
    return [
        GrantRow(v, orgs[v.grant.org_id], names[v.grant.project_id],
                 (sc.name if (sc := found[v.grant.scheme_id]) else v.grant.scheme_id))
        for v in views
    ]  # fmt: skip


def grant_rows(ctx: Context, p: Principal) -> list[GrantRow]:
    """Every grant the caller may see, newest validity first, with names."""
    views = grants.list_grants(ctx, p)
    with ctx.db.transaction() as s:
        rows = _rows(s, views)
    return sorted(rows, key=lambda r: (r.view.grant.valid_from, r.view.grant.id), reverse=True)


def grant_row(ctx: Context, p: Principal, grant_id: str) -> GrantRow:
    view = grants.get_grant(ctx, p, grant_id)  # another tenant's: not found
    with ctx.db.transaction() as s:
        return _rows(s, [view])[0]


def _day(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)


def daily(history: list[tuple[datetime, Decimal, Decimal]], start: datetime, zone: ZoneInfo
          ) -> list[DrawPoint]:  # fmt: skip
    """Cumulative funder share and GPU-hours per day in ``zone`` (stored splits in time order),
    from nothing on the day of ``start`` (the grant's first day)."""
    out = [DrawPoint(_day(start, zone), Decimal(0), Decimal(0))]
    funded, gpu_s = Decimal(0), Decimal(0)
    for at, amount, seconds in history:
        funded, gpu_s = funded + amount, gpu_s + seconds
        day = _day(at, zone)
        point = DrawPoint(day, funded, (gpu_s / HOUR_S).quantize(Decimal("0.001")))
        if out and out[-1].day == day:
            out[-1] = point
        else:
            out.append(point)
    return out


def grant_page(ctx: Context, p: Principal, grant_id: str) -> GrantPage:
    view = grants.get_grant(ctx, p, grant_id)  # another tenant's: not found
    committee = sees_all(p)
    audit = grants.audit_trail(ctx, p, grant_id) if committee else []
    periods = progress.reports(ctx, p, grant_id).periods
    with ctx.db.transaction() as s:
        row = _rows(s, [view])[0]
        history = DrawdownRepo(s).history(grant_id)
        tenancy = TenancyRepo(s)
        ids = {r.actor_id for r in audit if r.actor_id}
        ids |= {st.report.filed_by for st in periods if st.report is not None}
        actors = {u.id: u.display_name for i in ids if (u := tenancy.find_user(i))}
    zone, g = ZoneInfo(ctx.settings.timezone), view.grant
    return GrantPage(
        row, tuple(daily(history, g.valid_from, zone)), _day(g.valid_until, zone), periods,
        tuple(audit), actors, may_decide=committee, may_report=can_admin_org(p, g.org_id),
    )  # fmt: skip


def funders(ctx: Context, p: Principal) -> list[str]:
    """The funders of the centre's schemes, for the statement page (committee, centre admins)."""
    require_committee(p)
    with ctx.db.transaction() as s:
        return sorted({sc.funder_id for sc in SchemeRepo(s).list_schemes()})
