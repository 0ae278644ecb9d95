"""Domain objects to wire schemas (one function per type)."""

from __future__ import annotations

from petaport.domain.inventory import Capacity, NodePool
from petaport.domain.jobs import Allocation, Attempt, Job, JobEvent
from petaport.domain.tenancy import Membership, Org, Principal, Project, User
from petaport.schemas import (
    AllocationPublic,
    AttemptPublic,
    CapacityPublic,
    FairSharePublic,
    JobEventPublic,
    JobPublic,
    Me,
    MembershipPublic,
    NodePoolPublic,
    OrgPublic,
    ProjectPublic,
    QuotaPublic,
    TokenPublic,
    UserPublic,
)
from petaport.services.quotas import FairShareRow, QuotaView
from petaport.storage.repos.auth import TokenRecord


def org(o: Org) -> OrgPublic:
    return OrgPublic(
        id=o.id, name=o.name, slug=o.slug, category=o.category.value, created_at=o.created_at
    )


def project(p: Project) -> ProjectPublic:
    return ProjectPublic(
        id=p.id,
        org_id=p.org_id,
        name=p.name,
        slug=p.slug,
        description=p.description,
        created_at=p.created_at,
    )


def user(u: User) -> UserPublic:
    return UserPublic(
        id=u.id,
        username=u.username,
        email=u.email,
        display_name=u.display_name,
        centre_roles=sorted(r.value for r in u.centre_roles),
        is_active=u.is_active,
        locale=u.locale,
        created_at=u.created_at,
    )


def membership(m: Membership) -> MembershipPublic:
    return MembershipPublic(
        id=m.id,
        user_id=m.user_id,
        org_id=m.org_id,
        project_id=m.project_id,
        role=m.role.value,
        created_at=m.created_at,
    )


def me(p: Principal) -> Me:
    return Me(
        user=user(p.user),
        memberships=[membership(m) for m in p.memberships],
        scopes=sorted(p.scopes),
    )


def token(t: TokenRecord) -> TokenPublic:
    return TokenPublic(
        id=t.id,
        user_id=t.user_id,
        name=t.name,
        scopes=sorted(t.scopes),
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
    )


def pool(p: NodePool) -> NodePoolPublic:
    return NodePoolPublic(
        id=p.id,
        name=p.name,
        gpu_model=p.gpu_model,
        gpus_per_node=p.gpus_per_node,
        cpus_per_node=p.cpus_per_node,
        memory_mb_per_node=p.memory_mb_per_node,
        node_count=p.node_count,
        pflops_per_gpu=p.pflops_per_gpu,
        precision=p.precision,
        backend=p.backend,
        total_gpus=p.total_gpus,
        peak_pflops=p.peak_pflops,
        created_at=p.created_at,
        in_hong_kong=p.in_hong_kong,
    )


def capacity(c: Capacity) -> CapacityPublic:
    return CapacityPublic(
        gpus=c.gpus,
        gpus_allocated=c.gpus_allocated,
        peak_pflops=c.peak_pflops,
        precision=c.precision,
    )


def allocation(a: Allocation) -> AllocationPublic:
    return AllocationPublic(
        node=a.node, gpu_indices=list(a.gpu_indices), cpus=a.cpus, memory_mb=a.memory_mb
    )


def job(j: Job, current: Attempt | None = None) -> JobPublic:
    s = j.spec
    allocs = [allocation(a) for a in current.allocations] if current else []
    return JobPublic(
        id=j.id,
        name=s.name,
        org_id=j.org_id,
        project_id=j.project_id,
        user_id=j.user_id,
        state=j.state.value,
        reason=j.reason.value if j.reason else None,
        priority=j.priority,
        submitted_at=j.submitted_at,
        started_at=j.started_at,
        ended_at=j.ended_at,
        exit_code=j.exit_code,
        attempt_count=j.attempt_count,
        backend=j.backend,
        command=list(s.command),
        script=s.script,
        environment=dict(s.environment),
        working_dir=s.working_dir,
        gpus=s.gpus,
        gpu_fraction=s.gpu_fraction,
        gpu_model=s.gpu_model,
        cpus=s.cpus,
        memory_mb=s.memory_mb,
        nodes=s.nodes,
        walltime_s=s.walltime_s,
        qos=s.qos.value,
        labels=dict(s.labels),
        uses=[ref.label for ref in s.uses],
        allocations=allocs,
    )


def attempt(a: Attempt) -> AttemptPublic:
    return AttemptPublic(
        id=a.id,
        number=a.number,
        state=a.state.value,
        allocations=[allocation(x) for x in a.allocations],
        created_at=a.created_at,
        started_at=a.started_at,
        ended_at=a.ended_at,
        exit_code=a.exit_code,
        pid=a.pid,
        detail=a.detail,
    )


def job_event(e: JobEvent) -> JobEventPublic:
    return JobEventPublic(
        id=e.id, at=e.at, kind=e.kind, state=e.state.value if e.state else None, message=e.message
    )


def quota(v: QuotaView) -> QuotaPublic:
    q = v.quota
    return QuotaPublic(
        id=q.id,
        org_id=q.org_id,
        project_id=q.project_id,
        gpu_model=q.gpu_model,
        nominal_gpus=q.nominal_gpus,
        borrowing_limit_gpus=q.borrowing_limit_gpus,
        lending_limit_gpus=q.lending_limit_gpus,
        used_gpus=v.used_gpus,
        created_at=q.created_at,
        updated_at=q.updated_at,
    )


def fair_share(r: FairShareRow) -> FairSharePublic:
    return FairSharePublic(
        org_id=r.org_id,
        project_id=r.project_id,
        usage_gpu_hours=round(r.usage_gpu_s / 3600, 3),
        usage_share=round(r.usage_share, 6),
        entitlement_share=round(r.entitlement_share, 6),
        factor=round(r.factor, 6),
    )
