"""Association sync: Petaport's tenants mirrored into Slurm's accounting, for sites where users
also call ``sbatch`` directly (docs/backends/slurm.md).

Load (orgs, projects, members who may submit, whole-org/project GPU quotas, lifetime GPU-hour
budgets)
-> the backend plans against ``sacctmgr show`` and applies. Centre admins only.

Invariants:
- a quota becomes ``GrpTRES=gres/gpu=<nominal, whole GPUs>`` (borrowing is Petaport's own:
  Slurm has no cohorts); quotas of one GPU model are not mirrored;
- viewers and deactivated users get no association (they cannot submit in Petaport either);
- a dry run changes nothing and returns the commands a real run would issue; a re-run with
  nothing changed issues none.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from petaport.billing.budgets import BudgetPeriod, BudgetUnit
from petaport.domain.errors import Conflict, RetryLater
from petaport.domain.tenancy import Principal, Role, Scope
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.services.slurm_ports import (
    AssociationSync,
    GpuBudget,
    GpuLimit,
    Member,
    ProjectRef,
    Tenancy,
)
from petaport.storage.repos.budgets import BudgetRepo
from petaport.storage.repos.quotas import QuotaRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
PAGE = 500
SUBMITTERS = frozenset({Role.ORG_ADMIN, Role.MEMBER})
T = TypeVar("T")


@dataclass(frozen=True)
class SyncResult:
    dry_run: bool
    commands: tuple[str, ...]  # each a shell-quoted sacctmgr command line


def _every(fetch: Callable[[str | None], list[T]], key: Callable[[T], str]) -> list[T]:
    """All pages of a ``list_*`` repository call."""
    out: list[T] = []
    after: str | None = None
    while True:
        page = fetch(after)
        out += page
        if len(page) < PAGE:
            return out
        after = key(page[-1])


def desired_tenancy(ctx: Context, budgets: Sequence[GpuBudget] | None = None) -> Tenancy:
    """What Slurm's associations should say, from the database. ``budgets`` None: the stored
    lifetime GPU-hour budgets (monthly ones would need a reset Slurm cannot do by itself)."""
    with ctx.db.transaction() as s:
        stored = [
            sb.budget for sb in BudgetRepo(s).list_budgets()
            if sb.budget.unit is BudgetUnit.GPU_HOURS and sb.budget.period is BudgetPeriod.NONE
        ]  # fmt: skip
        repo = TenancyRepo(s)
        orgs = _every(lambda a: repo.list_orgs(EVERYTHING, after=a, limit=PAGE), lambda o: o.id)
        projects = _every(
            lambda a: repo.list_projects(EVERYTHING, org_id=None, after=a, limit=PAGE),
            lambda p: p.id,
        )
        users = _every(
            lambda a: repo.list_users(EVERYTHING, org_id=None, after=a, limit=PAGE), lambda u: u.id
        )
        memberships = _every(
            lambda a: repo.list_memberships(
                EVERYTHING, org_id=None, project_id=None, after=a, limit=PAGE
            ),
            lambda m: m.id,
        )
        quotas = QuotaRepo(s).list()
    org_slug = {o.id: o.slug for o in orgs}
    project_slug = {p.id: p.slug for p in projects}
    username = {u.id: u.username for u in users if u.is_active}
    members = {
        Member(username[m.user_id], org_slug[m.org_id], project_slug.get(m.project_id or ""))
        for m in memberships
        if m.role in SUBMITTERS and m.user_id in username
    }
    limits = [
        GpuLimit(org_slug[q.org_id], project_slug.get(q.project_id or ""),
                 math.floor(q.nominal_gpus))
        for q in quotas
        if q.gpu_model is None
    ]  # fmt: skip
    return Tenancy(
        orgs=tuple(sorted(org_slug.values())),
        projects=tuple(sorted({ProjectRef(org_slug[p.org_id], p.slug) for p in projects}, key=str)),
        members=tuple(sorted(members, key=lambda m: (m.username, m.org, m.project or ""))),
        gpu_limits=tuple(limits),
        budgets=tuple(budgets)
        if budgets is not None
        else tuple(
            GpuBudget(org_slug[b.org_id], project_slug.get(b.project_id or ""), b.limit)
            for b in stored
            if b.org_id in org_slug
        ),
    )


def sync(
    ctx: Context, p: Principal, *, dry_run: bool, budgets: Sequence[GpuBudget] | None = None
) -> SyncResult:
    """Make Slurm's associations say what Petaport says (or, dry, say how)."""
    require_centre_admin(p)
    backend = ctx.backend
    if not isinstance(backend, AssociationSync):
        raise Conflict(
            f"the {ctx.settings.backend} backend has no Slurm associations to sync",
            code="not_slurm",
        )
    desired = desired_tenancy(ctx, budgets)
    try:
        commands = backend.sync_associations(desired, dry_run=dry_run)
    except RetryLater as exc:
        raise Conflict(
            f"Slurm's accounting did not answer: {exc}", code="slurm_unavailable"
        ) from exc
    return SyncResult(dry_run, tuple(shlex.join(c) for c in commands))
