"""Wire schemas of the Slurm operations (centre admins)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from petaport.schemas import Model


class SlurmSyncCreate(Model):
    dry_run: bool = Field(False, description="Only say which sacctmgr commands would run.")


class SlurmSyncPublic(BaseModel):
    dry_run: bool
    commands: list[str] = Field(
        description="The sacctmgr command lines run (or, dry, that would run); empty when Slurm "
        "already agrees."
    )
