"""Inventory: node pools of identical nodes, and capacity in GPUs and PFLOPS.

Capacity figures are peak dense throughput per GPU x GPU count, always with their precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class NodePool:
    id: str
    name: str
    gpu_model: str | None
    gpus_per_node: int
    cpus_per_node: int
    memory_mb_per_node: int
    node_count: int
    pflops_per_gpu: Decimal
    precision: str
    backend: str
    created_at: datetime
    in_hong_kong: bool = False  # resident-only catalogue entries run only on such pools

    @property
    def total_gpus(self) -> int:
        return self.gpus_per_node * self.node_count

    @property
    def peak_pflops(self) -> Decimal:
        return self.pflops_per_gpu * self.total_gpus

    def node_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}-{i:03d}" for i in range(1, self.node_count + 1))


@dataclass(frozen=True)
class Capacity:
    gpus: int
    gpus_allocated: int
    peak_pflops: Decimal
    precision: str


# Peak dense throughput per GPU in PFLOPS, by model and precision (vendor data sheets).
PEAK_PFLOPS: dict[str, dict[str, Decimal]] = {
    "H800": {"BF16 dense": Decimal("0.99"), "FP8 dense": Decimal("1.98")},
    "H100": {"BF16 dense": Decimal("0.99"), "FP8 dense": Decimal("1.98")},
    "H200": {"BF16 dense": Decimal("0.99"), "FP8 dense": Decimal("1.98")},
    "A100": {"BF16 dense": Decimal("0.312")},
    "A800": {"BF16 dense": Decimal("0.312")},
    "L40S": {"BF16 dense": Decimal("0.362"), "FP8 dense": Decimal("0.733")},
    "Ascend 910B": {"BF16 dense": Decimal("0.32")},
}


def peak_pflops_for(model: str | None, precision: str) -> Decimal | None:
    """The data-sheet peak for a GPU model name such as 'NVIDIA H100 80GB HBM3', if known."""
    if not model:
        return None
    for known, table in PEAK_PFLOPS.items():
        if known.lower() in model.lower():
            return table.get(precision)
    return None
