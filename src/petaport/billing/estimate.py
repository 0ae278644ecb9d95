"""Cost before you run: what a job would cost if it ran its whole walltime from ``start_at``.

The estimate meters and rates a hypothetical attempt with the same code as real usage, so it
follows the same hourly and month splits, price changes during the run, minimum and rounding:
a job that runs exactly its walltime from ``start_at`` (and completes) is billed the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from petaport.billing.budgets import Projection
from petaport.billing.metering import AttemptUsage, RecordKind, meter
from petaport.billing.prices import PriceBook, ResourceClass
from petaport.billing.rating import rate
from petaport.domain.errors import ValidationFailed
from petaport.domain.jobs import JobSpec, JobState
from petaport.domain.money import Money, total


@dataclass(frozen=True)
class EstimateLine:
    resource: ResourceClass
    gpu_model: str | None
    quantity: Decimal
    amount: Money


@dataclass(frozen=True)
class Estimate:
    walltime_s: int
    lines: tuple[EstimateLine, ...]
    total: Money
    gpu_s: Decimal  # GPU-seconds the job would use

    @property
    def projection(self) -> Projection:
        return Projection(self.total.amount, self.gpu_s)


def hypothetical_usage(
    spec: JobSpec, start_at: datetime, walltime_s: int, gpu_model: str | None
) -> AttemptUsage:
    gpus = spec.gpu_fraction if spec.gpu_fraction is not None else Decimal(spec.total_gpus)
    end = start_at + timedelta(seconds=walltime_s)
    return AttemptUsage(
        "estimate", "estimate", "estimate", spec.project_id, spec.qos, start_at, end,
        JobState.COMPLETED, gpus, gpu_model or spec.gpu_model, spec.cpus * spec.nodes,
        spec.memory_mb * spec.nodes,
    )  # fmt: skip


def estimate(
    spec: JobSpec,
    book: PriceBook,
    start_at: datetime,
    *,
    walltime_s: int | None = None,
    gpu_model: str | None = None,
) -> Estimate:
    """Price x resources x walltime for ``spec`` (``walltime_s`` overrides the spec's)."""
    walltime = walltime_s if walltime_s is not None else spec.walltime_s
    if walltime is None or walltime <= 0:
        raise ValidationFailed("give a walltime to estimate the cost of a job")
    usage = hypothetical_usage(spec, start_at, walltime, gpu_model)
    charges = rate(meter(usage, book, start_at + timedelta(seconds=walltime)), book)
    lines = []
    for resource, model, quantity in usage.quantities():
        amounts = [c.amount for c in charges if c.record.resource is resource]
        lines.append(EstimateLine(resource, model, quantity, total(amounts, book.currency)))
    gpu_s = sum(
        (c.record.unit_seconds for c in charges
         if c.record.resource is ResourceClass.GPU_HOUR and c.record.kind is RecordKind.USAGE),
        Decimal(0),
    )  # fmt: skip
    grand = total((line.amount for line in lines), book.currency)
    return Estimate(walltime, tuple(lines), grand, gpu_s)
