"""GPU quotas (Kueue's cohort model) and the fair-share state (Slurm's ``sshare``).

Centre admins set quotas; an org's members read its quotas, with the GPUs its running jobs
hold against each. The fair-share view shows, per project, decayed usage, entitlement and the
factor the scheduler uses, computed by the same pure functions the scheduler calls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.jobs import RunningWork, held_gpus
from petaport.domain.quotas import GpuQuota
from petaport.domain.tenancy import Principal, Scope, scope_of
from petaport.scheduler import Quota, Usage
from petaport.scheduler.fairshare import decayed_usage, factors, org_weights, project_weights
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.quotas import QuotaRepo, UsageRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)
MILLI = 1000


@dataclass(frozen=True)
class QuotaFields:
    """``org``: an org id or slug; ``project``: a project id or ``org-slug/project-slug``."""

    org: str
    project: str | None
    gpu_model: str | None
    nominal_gpus: Decimal
    borrowing_limit_gpus: Decimal | None = None
    lending_limit_gpus: Decimal | None = None


@dataclass(frozen=True)
class QuotaView:
    quota: GpuQuota
    used_gpus: Decimal  # GPUs its running jobs hold now (of the model, if it names one)


@dataclass(frozen=True)
class FairShareRow:
    org_id: str
    project_id: str
    usage_gpu_s: float  # decayed to now, running work included
    usage_share: float  # of all decayed usage
    entitlement_share: float  # of all entitlements
    factor: float  # 2 ** -(usage share / entitlement share); 1.0 without usage


def create_quota(ctx: Context, p: Principal, f: QuotaFields) -> GpuQuota:
    """A new quota; ``quota_exists`` (409) when the org/project and model has one."""
    return _store(ctx, p, f, replace_existing=False)


def set_quota(ctx: Context, p: Principal, f: QuotaFields) -> GpuQuota:
    """Create the quota, or change the figures of the one with the same org/project/model."""
    return _store(ctx, p, f, replace_existing=True)


def _store(ctx: Context, p: Principal, f: QuotaFields, *, replace_existing: bool) -> GpuQuota:
    require_centre_admin(p)
    now = ctx.clock()
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        by_slug = tenancy.find_org_by_slug(f.org)
        org = by_slug or tenancy.get_org(EVERYTHING, f.org)
        project_id = None
        if f.project is not None:
            project = tenancy.resolve_project(EVERYTHING, f.project)
            if project.org_id != org.id:
                raise ValidationFailed(f"project {f.project} is not in organisation {f.org}")
            project_id = project.id
        quota = GpuQuota(
            new_id("quo"),
            org.id,
            project_id,
            f.gpu_model,
            f.nominal_gpus,
            f.borrowing_limit_gpus,
            f.lending_limit_gpus,
            now,
            now,
        )
        repo = QuotaRepo(s)
        taken = Conflict(
            "a quota for this org/project and GPU model exists; update it instead",
            code="quota_exists",
        )
        existing = repo.find(quota.scope_key)
        if existing is not None and not replace_existing:
            raise taken
        if existing is not None:
            quota = replace(quota, id=existing.id, created_at=existing.created_at)
            repo.update(quota)
        else:
            try:
                repo.add(quota)
            except IntegrityError as exc:
                raise taken from exc
    ctx.poke_scheduler()
    return quota


def update_quota(
    ctx: Context,
    p: Principal,
    quota_id: str,
    nominal_gpus: Decimal,
    borrowing_limit_gpus: Decimal | None,
    lending_limit_gpus: Decimal | None,
) -> GpuQuota:
    with ctx.db.transaction() as s:
        repo = QuotaRepo(s)
        visible = repo.get(quota_id, scope_of(p))  # another tenant's quota is not found
        require_centre_admin(p)
        quota = replace(
            visible,
            nominal_gpus=nominal_gpus,
            borrowing_limit_gpus=borrowing_limit_gpus,
            lending_limit_gpus=lending_limit_gpus,
            updated_at=ctx.clock(),
        )
        repo.update(quota)
    ctx.poke_scheduler()
    return quota


def delete_quota(ctx: Context, p: Principal, quota_id: str) -> None:
    with ctx.db.transaction() as s:
        repo = QuotaRepo(s)
        repo.get(quota_id, scope_of(p))  # another tenant's quota is not found
        require_centre_admin(p)
        repo.delete(quota_id)
    ctx.poke_scheduler()


def get_quota(ctx: Context, p: Principal, quota_id: str) -> QuotaView:
    with ctx.db.transaction() as s:
        quota = QuotaRepo(s).get(quota_id, scope_of(p))
        running = JobRepo(s).running_work()
    return _view(quota, running, _models(ctx))


def list_quotas(ctx: Context, p: Principal, org_id: str | None = None) -> list[QuotaView]:
    with ctx.db.transaction() as s:
        quotas = QuotaRepo(s).list(scope_of(p))
        running = JobRepo(s).running_work()
    models = _models(ctx)
    return [_view(q, running, models) for q in quotas if org_id is None or q.org_id == org_id]


def _models(ctx: Context) -> dict[str, str]:
    """GPU model of each node, lower case (running allocations name nodes)."""
    return {node.name: (node.gpu_model or "").lower() for node in ctx.backend.inventory()}


def _view(q: GpuQuota, running: list[RunningWork], models: dict[str, str]) -> QuotaView:
    milli = 0
    wanted = q.gpu_model.lower() if q.gpu_model else None
    for r in running:
        if r.org_id != q.org_id or (q.project_id is not None and r.project_id != q.project_id):
            continue
        for a in r.allocations:
            if wanted is not None and models.get(a.node, "") != wanted:
                continue
            milli += r.gpu_milli if r.gpu_milli else len(a.gpu_indices) * MILLI
    return QuotaView(q, Decimal(milli) / MILLI)


def scheduler_quotas(quotas: list[GpuQuota]) -> tuple[Quota, ...]:
    """The scheduler's view of stored quotas (GPU figures as floats of whole GPUs)."""

    def f(x: Decimal | None) -> float | None:
        return None if x is None else float(x)

    return tuple(
        Quota(
            q.org_id,
            q.project_id,
            q.gpu_model,
            float(q.nominal_gpus),
            f(q.borrowing_limit_gpus),
            f(q.lending_limit_gpus),
        )
        for q in quotas
    )


def running_usage(running: list[RunningWork], now: datetime) -> tuple[Usage, ...]:
    """GPU-seconds running attempts have used so far, as of ``now`` (Slurm counts running
    work in fair share too; finished attempts are folded into ``project_usage``)."""
    per: dict[tuple[str, str], float] = defaultdict(float)
    for r in running:
        held = held_gpus(r.allocations, r.gpu_milli)
        per[(r.org_id, r.project_id)] += held * max(0.0, (now - r.started_at).total_seconds())
    return tuple(Usage(o, p, gpu_s, now) for (o, p), gpu_s in sorted(per.items()) if gpu_s > 0)


def stored_usage(rows: list[tuple[str, str, float, datetime]]) -> tuple[Usage, ...]:
    return tuple(Usage(o, p, gpu_s, as_of) for o, p, gpu_s, as_of in rows)


def fair_share(ctx: Context, p: Principal) -> list[FairShareRow]:
    """Per project that has used GPUs: decayed usage, shares and factor (like ``sshare``)."""
    now = ctx.clock()
    half_life = ctx.settings.fairshare_half_life_s
    with ctx.db.transaction() as s:
        stored = UsageRepo(s).all()
        running = JobRepo(s).running_work()
        quotas = scheduler_quotas(QuotaRepo(s).list())
    usage = stored_usage(stored) + running_usage(running, now)
    used = decayed_usage(usage, now, half_life)
    total_used = sum(used.values())
    orgs = org_weights(usage, quotas, ())
    weights = project_weights(usage, quotas, orgs)
    total_weight = sum(orgs.values()) or 1.0
    factor = factors(usage, quotas, (), now, half_life)
    org_of = {u.project_id: u.org_id for u in usage}
    scope = scope_of(p)
    return [
        FairShareRow(
            org_of[project],
            project,
            gpu_s,
            gpu_s / total_used if total_used else 0.0,
            weights.get(project, 0.0) / total_weight,
            factor.get(project, 1.0),
        )
        for project, gpu_s in sorted(used.items())
        if scope.allows(org_of[project], project)
    ]
