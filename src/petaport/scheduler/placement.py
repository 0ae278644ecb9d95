"""Gang placement: all nodes of a job at once or not at all, packed to limit fragmentation.

- A single-node job goes to the node of an allowed model with the *fewest* free GPUs that still
  hold it (best fit), so whole nodes stay whole for large jobs.
- A multi-node gang takes ``nodes`` nodes of one model, best fit first; among models it takes
  the one that leaves the fewest free GPUs on the nodes it uses.
- A fractional job (``gpu_milli`` 1..999) goes to the shared GPU with the least free share that
  holds it; only when none does it opens a wholly free GPU (on the best-fit node).
- CPU-only jobs go to GPU-less nodes first, then to nodes with the fewest free GPUs.
- A job limited to some node pools (``PendingJob.pools``) is placed as any other, on nodes of
  those pools only.

``find`` never returns a plan using a GPU, CPU or MiB not free, nor the same node twice;
``commit`` carves the plan out of the capacity index.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Final

from petaport.domain.jobs import Allocation, PendingReason
from petaport.scheduler.capacity import (
    SHARE_BUCKETS,
    SHARE_STEP,
    Capacity,
    FreeNode,
    key_matches,
    model_key,
)
from petaport.scheduler.snapshot import MILLI, NodeState, PendingJob, PoolShape

Exclude = Container[str] | None


class Plan:
    """Where a job would start. A plain class with ``Final`` attributes, as ``entities``: one
    is built for every job placed, and a compiled dataclass's ``__init__`` is generated Python."""

    nodes: Final[tuple[FreeNode, ...]]
    gpus: Final[int]  # whole GPUs per node
    cpus: Final[int]
    memory_mb: Final[int]
    share_gpu: Final[int | None]  # fractional: the GPU index on nodes[0]
    milli: Final[int]

    def __init__(
        self,
        nodes: tuple[FreeNode, ...],
        gpus: int,
        cpus: int,
        memory_mb: int,
        share_gpu: int | None = None,
        milli: int = 0,
    ) -> None:
        self.nodes, self.gpus, self.cpus, self.memory_mb = nodes, gpus, cpus, memory_mb
        self.share_gpu, self.milli = share_gpu, milli


def gpu_model_matches(node_model: str | None, wanted: str | None) -> bool:
    """The model rule: case-insensitive; ``H100`` matches ``H100 80GB HBM3``."""
    if wanted is None:
        return True
    return node_model is not None and key_matches(model_key(node_model), wanted.lower())


def model_matches(node: NodeState, job: PendingJob) -> bool:
    if job.gpu_model is None and job.allowed_models is None:
        return True
    wanted = {*(job.allowed_models or ()), *([job.gpu_model] if job.gpu_model else [])}
    return any(gpu_model_matches(node.gpu_model, w) for w in wanted)


def gang_shape(total_gpus: int, gpus_per_node: int) -> tuple[int, int]:
    """(GPUs per node, nodes) for ``total_gpus``: the fewest nodes with equal shares."""
    if total_gpus <= gpus_per_node or gpus_per_node <= 0:
        return total_gpus, 1
    nodes = -(-total_gpus // gpus_per_node)
    while total_gpus % nodes:
        nodes += 1
    return total_gpus // nodes, nodes


def find(
    cap: Capacity, job: PendingJob, keys: tuple[str, ...], exclude: Exclude = None
) -> Plan | None:
    """Where the job would start now (nodes in ``exclude`` are not used), or None."""
    if job.pools is not None:
        exclude = cap.outside(job, exclude)
    cpus, mem = job.cpus, job.memory_mb
    if job.fractional:
        return _share_plan(cap, job, keys, exclude)
    if job.nodes == 1:
        node = best_node(cap, keys, job.gpus, cpus, mem, exclude)
        return None if node is None else Plan((node,), job.gpus, cpus, mem)
    nodes = _gang(cap, keys, job, exclude)
    return None if nodes is None else Plan(tuple(nodes), job.gpus, cpus, mem)


def best_node(
    cap: Capacity, keys: Iterable[str], gpus: int, cpus: int, mem: int, exclude: Exclude = None
) -> FreeNode | None:
    keys = tuple(keys)
    if gpus == 0:
        cap.index_all()
    nodes = cap.nodes
    for k in range(gpus, cap.max_free(keys) + 1):
        for key in keys:
            for name in cap.bucket(key, k):
                node = nodes[name]
                if node.cpus >= cpus and node.mem >= mem and (not exclude or name not in exclude):
                    return node
    return None


def _gang(
    cap: Capacity, keys: tuple[str, ...], job: PendingJob, exclude: Exclude
) -> list[FreeNode] | None:
    best: list[FreeNode] | None = None
    best_left = 0
    for key in keys:
        picked = _pick(cap, key, job, exclude)
        if picked is not None:
            left = sum(len(n.free) for n in picked)
            if best is None or left < best_left:
                best, best_left = picked, left
    return best


def _pick(cap: Capacity, key: str, job: PendingJob, exclude: Exclude) -> list[FreeNode] | None:
    if job.gpus == 0:
        cap.index_all()
    picked: list[FreeNode] = []
    for k in range(job.gpus, cap.top.get(key, 0) + 1):
        for name in cap.bucket(key, k):
            node = cap.nodes[name]
            if node.holds(job.cpus, job.memory_mb) and (not exclude or name not in exclude):
                picked.append(node)
                if len(picked) == job.nodes:
                    return picked
    return None


def _share_plan(
    cap: Capacity, job: PendingJob, keys: tuple[str, ...], exclude: Exclude
) -> Plan | None:
    milli, cpus, mem = job.gpu_milli, job.cpus, job.memory_mb
    best: tuple[FreeNode, int] | None = None
    best_free = MILLI
    for b in range(milli // SHARE_STEP, SHARE_BUCKETS):
        for key in keys:
            for (name, gpu), free in cap.share_bucket(key, b).items():
                node = cap.nodes[name]
                usable = not exclude or name not in exclude
                if milli <= free < best_free and node.holds(cpus, mem) and usable:
                    best, best_free = (node, gpu), free
        if best is not None:  # buckets are ordered ranges: the best fit is in the first hit
            return Plan((best[0],), 0, cpus, mem, best[1], milli)
    opened = best_node(cap, keys, 1, cpus, mem, exclude)  # no share holds it: open a GPU
    if opened is None:
        return None
    return Plan((opened,), 0, cpus, mem, opened.free[0], milli)


def commit(cap: Capacity, plan: Plan) -> tuple[Allocation, ...]:
    """Take the plan's resources out of ``cap``; the allocations in node-name order."""
    allocations: list[Allocation] = []
    for node in plan.nodes:
        if plan.share_gpu is not None:
            cap.take_share(node, plan.share_gpu, plan.milli, plan.cpus, plan.memory_mb)
            gpus: tuple[int, ...] = (plan.share_gpu,)
        else:
            gpus = cap.take_whole(node, plan.gpus, plan.cpus, plan.memory_mb)
        allocations.append(Allocation(node.name, gpus, plan.cpus, plan.memory_mb))
    return tuple(sorted(allocations, key=lambda a: a.node))


class Shapes:
    """Could a job of some shape ever fit, were the cluster idle? From the pools when given,
    else from the nodes."""

    def __init__(self, nodes: Iterable[NodeState], pools: Iterable[PoolShape] = ()) -> None:
        # a plain dict, not a Counter: ``Counter()`` is a Python-level call, once per cycle
        counts: dict[tuple[str, int, int, int, str], int] = {}
        for p in pools:
            shape = (model_key(p.gpu_model), p.gpus_per_node, p.cpus, p.memory_mb, p.name or "")
            counts[shape] = counts.get(shape, 0) + p.count
        if not counts:
            for n in nodes:
                shape = (model_key(n.gpu_model), n.gpus_total, n.cpus_total, n.memory_mb_total,
                         n.pool)  # fmt: skip
                counts[shape] = counts.get(shape, 0) + 1
        self.classes = tuple(sorted(counts.items()))

    def never_fits(self, job: PendingJob, keys: tuple[str, ...]) -> PendingReason | None:
        if not keys and (job.gpu_model is not None or job.allowed_models is not None):
            return PendingReason.GPU_MODEL_UNAVAILABLE
        if job.fractional and job.nodes != 1:
            return PendingReason.PARTITION_CONFIG
        gpus = 1 if job.fractional else job.gpus
        cpus, mem = job.cpus, job.memory_mb
        hosts = [
            (pool, count)
            for (key, g, c, m, pool), count in self.classes
            if key in keys and g >= gpus and c >= cpus and m >= mem
        ]
        if sum(count for _, count in hosts) < job.nodes:
            return PendingReason.PARTITION_CONFIG
        allowed = job.pools
        if allowed is not None and sum(n for pool, n in hosts if pool in allowed) < job.nodes:
            return PendingReason.POOL_UNAVAILABLE
        return None
