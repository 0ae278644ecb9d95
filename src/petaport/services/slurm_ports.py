"""Ports for what only a Slurm-like backend can do, beyond the ``Backend`` protocol: report each
attempt's measured usage from accounting, and mirror Petaport's tenants into associations.

The services test ``isinstance(ctx.backend, UsageSource)`` / ``AssociationSync``; a backend
that is not one (local, fake) simply has nothing to report or sync. Plain frozen data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from petaport.domain.usage import MeasuredUsage


@runtime_checkable
class UsageSource(Protocol):
    name: str

    def usage_since(self, since: datetime) -> list[MeasuredUsage]:
        """Every ended Petaport attempt whose job was running at or after ``since``."""
        ...


@dataclass(frozen=True)
class ProjectRef:
    org: str  # slug
    project: str  # slug


@dataclass(frozen=True)
class Member:
    """A user who may submit: in one project, or (``project`` None) in every project of the org."""

    username: str
    org: str
    project: str | None


@dataclass(frozen=True)
class GpuLimit:
    """At most ``gpus`` GPUs at once for an org (``project`` None) or a project."""

    org: str
    project: str | None
    gpus: int


@dataclass(frozen=True)
class GpuBudget:
    """At most ``gpu_hours`` GPU-hours in all, never replenished, for an org or a project."""

    org: str
    project: str | None
    gpu_hours: Decimal


@dataclass(frozen=True)
class Tenancy:
    """What Slurm's associations should say: Petaport's tenants, members, limits, budgets."""

    orgs: tuple[str, ...]
    projects: tuple[ProjectRef, ...]
    members: tuple[Member, ...] = ()
    gpu_limits: tuple[GpuLimit, ...] = ()
    budgets: tuple[GpuBudget, ...] = ()


@runtime_checkable
class AssociationSync(Protocol):
    def sync_associations(self, desired: Tenancy, *, dry_run: bool) -> Sequence[Sequence[str]]:
        """Make the associations say ``desired``; the commands run (or, dry, that would run)."""
        ...
