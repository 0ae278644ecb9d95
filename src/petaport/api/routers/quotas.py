"""GPU quotas (centre admins write; an org's members read) and the fair-share view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from petaport.api import convert
from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.schemas import FairSharePublic, QuotaCreate, QuotaPublic, QuotaUpdate
from petaport.services import quotas

router = APIRouter(tags=["quotas"])


@router.get("/quotas", responses=declare(401, 422))
def list_quotas(
    ctx: CtxDep,
    p: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64, description="Only this org's (id).")] = None,
) -> list[QuotaPublic]:
    """Quotas the caller may see, with the GPUs running jobs hold against each."""
    return [convert.quota(v) for v in quotas.list_quotas(ctx, p, org)]


@router.post(
    "/quotas", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 404, 409, 422)
)
def create_quota(ctx: CtxDep, p: PrincipalDep, body: QuotaCreate) -> QuotaPublic:
    """Set a quota for an org or a project, one GPU model or all (centre admins)."""
    fields = quotas.QuotaFields(
        body.org,
        body.project,
        body.gpu_model,
        body.nominal_gpus,
        body.borrowing_limit_gpus,
        body.lending_limit_gpus,
    )
    created = quotas.create_quota(ctx, p, fields)
    return convert.quota(quotas.get_quota(ctx, p, created.id))


@router.get("/quotas/{quota_id}", responses=declare(401, 404))
def get_quota(ctx: CtxDep, p: PrincipalDep, quota_id: str) -> QuotaPublic:
    return convert.quota(quotas.get_quota(ctx, p, quota_id))


@router.put("/quotas/{quota_id}", responses=declare(401, 403, 404, 422))
def update_quota(ctx: CtxDep, p: PrincipalDep, quota_id: str, body: QuotaUpdate) -> QuotaPublic:
    """Change a quota's figures (centre admins); its org, project and model stay."""
    quotas.update_quota(
        ctx, p, quota_id, body.nominal_gpus, body.borrowing_limit_gpus, body.lending_limit_gpus
    )
    return convert.quota(quotas.get_quota(ctx, p, quota_id))


@router.delete(
    "/quotas/{quota_id}", status_code=status.HTTP_204_NO_CONTENT, responses=declare(401, 403, 404)
)
def delete_quota(ctx: CtxDep, p: PrincipalDep, quota_id: str) -> Response:
    quotas.delete_quota(ctx, p, quota_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/fairshare", responses=declare(401))
def fair_share(ctx: CtxDep, p: PrincipalDep) -> list[FairSharePublic]:
    """Per project with usage: decayed GPU-hours, shares and the fair-share factor the
    scheduler orders by (like Slurm's ``sshare``)."""
    return [convert.fair_share(r) for r in quotas.fair_share(ctx, p)]
