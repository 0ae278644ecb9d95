"""Slurm operations for centre admins: association sync."""

from __future__ import annotations

from fastapi import APIRouter

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.schemas.slurm import SlurmSyncCreate, SlurmSyncPublic
from petaport.services import slurm_sync

router = APIRouter(tags=["slurm"])


@router.post("/admin/slurm/sync", responses=declare(401, 403, 409, 422))
def sync_associations(ctx: CtxDep, p: PrincipalDep, body: SlurmSyncCreate) -> SlurmSyncPublic:
    """Mirror orgs, projects, members and quotas into Slurm's accounts and associations
    (centre admins). 409 ``not_slurm`` when the backend is not Slurm, ``slurm_unavailable`` when
    its accounting does not answer, ``slurm_sync_failed`` when sacctmgr refuses a change."""
    result = slurm_sync.sync(ctx, p, dry_run=body.dry_run)
    return SlurmSyncPublic(dry_run=result.dry_run, commands=list(result.commands))
