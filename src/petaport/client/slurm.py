"""Endpoints for Slurm operations (centre admins)."""

from __future__ import annotations

from petaport.client.transport import Transport
from petaport.schemas.slurm import SlurmSyncCreate, SlurmSyncPublic


class SlurmApi(Transport):
    def sync_slurm(self, *, dry_run: bool = False) -> SlurmSyncPublic:
        body = SlurmSyncCreate(dry_run=dry_run).model_dump(mode="json")
        # a sync plans against what Slurm says now: running it twice is harmless
        return self.one(SlurmSyncPublic, "POST", "/v1/admin/slurm/sync", body=body, idempotent=True)
