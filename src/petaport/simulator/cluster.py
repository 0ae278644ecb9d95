"""Cluster descriptions: YAML node pools, capacity scaling and sizing a cluster for a load.

YAML shape (``memory`` takes MB as a number or a string with a unit: ``512GiB``, ``2TB``)::

    name: philly-0.8
    pools:
      - {name: v100, gpu_model: V100, gpus_per_node: 8, cpus: 64, memory: 512GiB, count: 59}
    entitlements: {6214e9: 0.5, 11cb48: 0.5}   # optional; default equal shares

Invariant: scaling multiplies every pool's node count and keeps at least one node per pool.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from petaport.simulator.model import ClusterSpec, NodePool, Trace

_UNITS_MB = {"": 1, "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024}
_UNITS_MB |= {"t": 1024**2, "tb": 1024**2, "tib": 1024**2}
_MEMORY_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


class ClusterConfigError(ValueError):
    """The cluster description is malformed."""


def parse_memory_mb(value: object) -> int:
    if isinstance(value, bool):
        raise ClusterConfigError(f"memory must be a size, not {value!r}")
    if isinstance(value, int | float):
        return int(value)
    match = _MEMORY_RE.match(str(value))
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS_MB:
        raise ClusterConfigError(f"cannot read memory size {value!r}")
    return int(float(match.group(1)) * _UNITS_MB[unit])


def parse_scale(text: str | float) -> float:
    """``x2.3``, ``2.3x``, ``2.3`` or ``230%`` -> 2.3."""
    raw = str(text).strip().lower().removeprefix("x").removesuffix("x")
    try:
        factor = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ClusterConfigError(f"cannot read capacity scale {text!r}") from None
    if not factor > 0:
        raise ClusterConfigError("capacity scale must be positive")
    return factor


def _pool(raw: dict[str, Any]) -> NodePool:
    try:
        memory = raw.get("memory_mb", raw.get("memory", 0))
        return NodePool(
            name=str(raw["name"]),
            gpu_model=None if raw.get("gpu_model") is None else str(raw["gpu_model"]),
            gpus_per_node=int(raw["gpus_per_node"]),
            cpus=int(raw.get("cpus", 0)),
            memory_mb=parse_memory_mb(memory),
            count=int(raw["count"]),
        )
    except KeyError as missing:
        raise ClusterConfigError(f"node pool is missing {missing}") from None


def cluster_from_dict(raw: dict[str, Any]) -> ClusterSpec:
    pools = tuple(_pool(p) for p in raw.get("pools") or ())
    if not pools:
        raise ClusterConfigError("a cluster needs at least one node pool")
    if len({p.name for p in pools}) != len(pools):
        raise ClusterConfigError("node pool names must be unique")
    shares = {str(k): float(v) for k, v in (raw.get("entitlements") or {}).items()}
    return ClusterSpec(str(raw.get("name", "cluster")), pools, shares)


def load_cluster(path: Path) -> ClusterSpec:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ClusterConfigError(f"{path}: expected a mapping at the top level")
    return cluster_from_dict(raw)


def scale_cluster(spec: ClusterSpec, factor: float) -> ClusterSpec:
    """Multiply node counts by ``factor`` (rounded half up, at least one node per pool)."""
    if factor == 1.0:
        return spec
    pools = tuple(
        NodePool(
            p.name, p.gpu_model, p.gpus_per_node, p.cpus, p.memory_mb, _scaled(p.count, factor)
        )
        for p in spec.pools
    )
    return ClusterSpec(f"{spec.name} x{factor:g}", pools, dict(spec.entitlements))


def _scaled(count: int, factor: float) -> int:
    return max(1, math.floor(count * factor + 0.5))


def nodes_for_load(trace: Trace, load: float, gpus_per_node: int) -> tuple[int, str]:
    """Nodes so the trace's offered load is ``load``, and the formula with its numbers.

    GPUs = total gpu_time / trace span / load, rounded up to whole ``gpus_per_node`` nodes.
    """
    span = max(trace.span_s, 1.0)
    gpus = trace.total_gpu_s / span / load
    nodes = max(1, math.ceil(gpus / gpus_per_node))
    formula = (
        f"GPUs = total gpu_time / trace span / load = {trace.total_gpu_s:.0f} GPU-s / "
        f"{span:.0f} s / {load:g} = {gpus:.1f} -> {nodes} nodes x {gpus_per_node} GPUs "
        f"= {nodes * gpus_per_node} GPUs"
    )
    return nodes, formula


def homogeneous(
    name: str, nodes: int, gpus_per_node: int = 8, gpu_model: str | None = None
) -> ClusterSpec:
    """One pool of identical nodes (CPU and memory left unconstrained for GPU-only traces)."""
    pool = NodePool("gpu", gpu_model, gpus_per_node, 64 * gpus_per_node, 1 << 30, nodes)
    return ClusterSpec(name, (pool,))
