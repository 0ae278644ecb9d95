"""What the annual report reads about grants: when each was made, the names and category of
its org and project, and its drawdown to a moment and within a period (summed by the
database from ``subsidy_drawdown``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from petaport.domain.tenancy import OrgCategory
from petaport.storage.drawdown_tables import DrawdownRow
from petaport.storage.repos.ledger import cents_sum
from petaport.storage.subsidy_tables import GrantRow
from petaport.storage.tables import OrgRow, ProjectRow


@dataclass(frozen=True)
class GrantUse:
    """A grant's drawdown: funder share and funded GPU-milliseconds before ``end`` (to date)
    and within [start, end), with the list price of the charges within it."""

    funder_to_date: Decimal = Decimal(0)
    gpu_ms_to_date: int = 0
    funder_in_period: Decimal = Decimal(0)
    gpu_ms_in_period: int = 0
    list_in_period: Decimal = Decimal(0)


@dataclass(frozen=True)
class GrantNames:
    created_at: datetime
    org_name: str
    category: OrgCategory
    project_name: str


def grant_use(s: Session, start: datetime, end: datetime) -> dict[str, GrantUse]:
    """Grant id -> its drawdown, for charges that started before ``end``."""
    d = DrawdownRow
    inside = d.start_at >= start
    q = (
        select(d.grant_id, func.sum(d.funder_amount), func.sum(d.funded_gpu_ms),
               func.sum(case((inside, d.funder_amount), else_=None)),
               func.sum(case((inside, d.funded_gpu_ms), else_=None)),
               func.sum(case((inside, d.amount), else_=None)))
        .where(d.start_at < end)
        .group_by(d.grant_id)
    )  # fmt: skip
    return {
        grant_id: GrantUse(cents_sum(f), int(ms or 0), cents_sum(fi), int(msi or 0), cents_sum(li))
        for grant_id, f, ms, fi, msi, li in s.execute(q)
    }


def grant_names(s: Session) -> dict[str, GrantNames]:
    """Grant id -> when it was made and whose it is."""
    q = (
        select(GrantRow.id, GrantRow.created_at, OrgRow.name, OrgRow.category, ProjectRow.name)
        .join(OrgRow, OrgRow.id == GrantRow.org_id)
        .join(ProjectRow, ProjectRow.id == GrantRow.project_id)
    )
    return {
        gid: GrantNames(made, org, OrgCategory(category), project)
        for gid, made, org, category, project in s.execute(q)
    }


def org_names(s: Session) -> dict[str, str]:
    return {org_id: name for org_id, name in s.execute(select(OrgRow.id, OrgRow.name))}
