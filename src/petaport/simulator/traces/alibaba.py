"""Alibaba GPU-sharing cluster trace ``cluster-trace-gpu-v2023`` (openb): pods and nodes.

Pods: ``name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
creation_time, deletion_time, scheduled_time`` (seconds). A pod is submitted at
``creation_time`` and runs ``deletion_time - scheduled_time`` seconds (``- creation_time``
for pods the original cluster never scheduled). ``gpu_milli < 1000`` asks for a fraction of
one GPU; ``gpu_spec`` lists the allowed models (``|``-separated, empty = any). There is no
tenant column: the QoS class stands in for the tenant. QoS maps to Petaport tiers:
LS and Guaranteed -> reserved, Burstable -> on-demand, BE -> preemptible.

Nodes: ``sn, cpu_milli, memory_mib, gpu, model``; identical nodes form one pool.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from petaport.simulator.model import ClusterSpec, NodePool, Trace, TraceJob, make_trace

CITATION = (
    "Alibaba cluster-trace-gpu-v2023 (Weng et al., 'Beware of Fragmentation: Scheduling GPU-"
    "Sharing Workloads with Fragmentation Gradient Descent', USENIX ATC'23); alibaba/clusterdata."
)
PODS_FILE = "openb_pod_list_default.csv"
NODES_FILE = "openb_node_list_gpu_node.csv"
QOS_TIERS = {"LS": "reserved", "Guaranteed": "reserved", "Burstable": "on-demand"}
QOS_TIERS["BE"] = "preemptible"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _pods_path(path: Path) -> Path:
    return path / PODS_FILE if path.is_dir() else path


def _nodes_path(path: Path) -> Path:
    return path / NODES_FILE if path.is_dir() else path


def _pod(row: dict[str, str]) -> TraceJob:
    created = float(row["creation_time"])
    began = float(row["scheduled_time"]) if row["scheduled_time"] else created
    gpus = int(row["num_gpu"])
    spec = row.get("gpu_spec") or ""
    return TraceJob(
        id=row["name"],
        submit_s=created,
        duration_s=max(0.0, float(row["deletion_time"]) - began),
        gpus=gpus,
        tenant=row["qos"],
        gpu_milli=int(row["gpu_milli"]) if gpus else 1000,
        gpu_models=tuple(m for m in spec.split("|") if m),
        cpus=math.ceil(int(row["cpu_milli"]) / 1000),
        memory_mb=int(row["memory_mib"]),
        qos=QOS_TIERS.get(row["qos"], "on-demand"),
    )


def load_alibaba(path: Path, max_rows: int | None = None) -> Trace:
    """Read the pod list (``path`` is the file or the ``alibaba_openb`` directory)."""
    jobs: list[TraceJob] = []
    with _pods_path(path).open(newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if max_rows is not None and number >= max_rows:
                break
            jobs.append(_pod(row))
    return make_trace(f"alibaba:{_pods_path(path).name}", _EPOCH, jobs, CITATION)


def load_alibaba_cluster(path: Path, include_cpu_nodes: bool = False) -> ClusterSpec:
    """Node pools from the node list: one pool per distinct (model, GPUs, CPUs, memory)."""
    shapes: Counter[tuple[str, int, int, int]] = Counter()
    with _nodes_path(path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            gpus = int(row["gpu"])
            if gpus == 0 and not include_cpu_nodes:
                continue
            cpus = int(row["cpu_milli"]) // 1000
            shapes[(row["model"] or "", gpus, cpus, int(row["memory_mib"]))] += 1
    pools = tuple(
        NodePool(_pool_name(model, gpus, cpus), model or None, gpus, cpus, memory, count)
        for (model, gpus, cpus, memory), count in sorted(shapes.items())
    )
    return ClusterSpec(f"alibaba:{_nodes_path(path).name}", _unique_names(pools))


def _pool_name(model: str, gpus: int, cpus: int) -> str:
    return f"{model or 'cpu'}-{gpus}g-{cpus}c"


def _unique_names(pools: tuple[NodePool, ...]) -> tuple[NodePool, ...]:
    seen: Counter[str] = Counter()
    out = []
    for pool in pools:
        seen[pool.name] += 1
        name = pool.name if seen[pool.name] == 1 else f"{pool.name}-{seen[pool.name]}"
        out.append(
            NodePool(
                name, pool.gpu_model, pool.gpus_per_node, pool.cpus, pool.memory_mb, pool.count
            )
        )
    return tuple(out)
