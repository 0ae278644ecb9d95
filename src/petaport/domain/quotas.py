"""GPU quotas of orgs and projects: Kueue's cohort model with one cohort, the whole centre.

A quota says, for one org (``project_id`` None) or one project, and one GPU model (``gpu_model``
None: all models together), how many GPUs it may hold at once:

- ``nominal_gpus``: guaranteed; work within it may reclaim lent capacity by preemption;
- ``borrowing_limit_gpus``: how far beyond nominal it may go on idle capacity (None: no limit
  but the cluster; 0: never borrows);
- ``lending_limit_gpus``: how much of its idle nominal others may use (None: all of it; 0:
  its guarantee is kept free for it). Never more than nominal.

Invariant: a stored quota has passed ``quota_problems``; GPU figures have at most three decimals
(thousandths of a GPU, the scheduler's unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from petaport.domain.errors import ValidationFailed

MAX_GPUS = Decimal(1_000_000)


@dataclass(frozen=True)
class GpuQuota:
    id: str
    org_id: str
    project_id: str | None
    gpu_model: str | None
    nominal_gpus: Decimal
    borrowing_limit_gpus: Decimal | None
    lending_limit_gpus: Decimal | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        problems = quota_problems(self)
        if problems:
            raise ValidationFailed("; ".join(problems), errors=problems)

    @property
    def scope_key(self) -> str:
        """One quota per org/project and model: ``org/project/model`` with ``*`` for none."""
        model = self.gpu_model.lower() if self.gpu_model else "*"
        return f"{self.org_id}/{self.project_id or '*'}/{model}"


def _gpus_ok(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return (
        value.is_finite()
        and Decimal(0) <= value <= MAX_GPUS
        and isinstance(exponent, int)
        and (exponent >= -3 or value == value.quantize(Decimal("0.001")))
    )


def quota_problems(q: GpuQuota) -> list[str]:
    out: list[str] = []
    for name, value in (
        ("nominal_gpus", q.nominal_gpus),
        ("borrowing_limit_gpus", q.borrowing_limit_gpus),
        ("lending_limit_gpus", q.lending_limit_gpus),
    ):
        if value is not None and not _gpus_ok(value):
            out.append(f"{name} must be between 0 and 1,000,000 GPUs, in thousandths at most")
    if not out and q.lending_limit_gpus is not None and q.lending_limit_gpus > q.nominal_gpus:
        out.append("lending_limit_gpus cannot exceed nominal_gpus (one can only lend one's own)")
    if q.gpu_model is not None and not 1 <= len(q.gpu_model) <= 64:
        out.append("gpu_model must be 1-64 characters")
    return out
