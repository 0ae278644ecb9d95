"""The simulated cluster: mutable node state with O(1) capacity bookkeeping.

Invariants: a node's ``free`` GPU indices (wholly free) are sorted and never repeat; a GPU held
in part by fractional jobs is in ``shared`` (index -> free thousandths, 0..999) and never in
``free``; ``hist[k]`` of a pool is the number of its nodes with exactly ``k`` wholly free GPUs;
``open_nodes`` holds the nodes with a wholly free GPU or a shared GPU with room left;
``busy_milli`` is the GPU thousandths held. Taking what is not free, or giving back what is,
raises ``SimulationError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from petaport.simulator.model import ClusterSpec, SimulationError

MILLI = 1000
# (GPUs per node, nodes, CPUs per node, memory MB per node, GPU models or None, GPU thousandths)
Shape = tuple[int, int, int, int, frozenset[str] | None, int]
UNBOUNDED = 1 << 40


class Placement(Protocol):
    """One node's share of a start (``petaport.domain.jobs.Allocation`` fits)."""

    @property
    def node(self) -> str: ...
    @property
    def gpu_indices(self) -> tuple[int, ...]: ...
    @property
    def cpus(self) -> int: ...
    @property
    def memory_mb(self) -> int: ...


class SimPool:
    __slots__ = (
        "cpus",
        "cpus_free",
        "gpus_per_node",
        "hist",
        "max_free",
        "mem_free",
        "memory_mb",
        "model",
        "name",
        "nodes",
        "shared_open",
    )

    def __init__(self, name: str, model: str | None, gpn: int, cpus: int, mem: int) -> None:
        self.name, self.model, self.gpus_per_node = name, model, gpn
        self.cpus, self.memory_mb = cpus, mem
        self.hist = [0] * (gpn + 1)
        self.max_free = gpn  # the most wholly free GPUs on any one node of the pool
        self.shared_open = 0  # shared GPUs with room left
        self.nodes: list[SimNode] = []
        self.cpus_free = self.mem_free = 0


class SimNode:
    __slots__ = (
        "cached",
        "cpus_free",
        "cpus_total",
        "free",
        "gpus_total",
        "index",
        "mem_free",
        "mem_total",
        "model",
        "name",
        "pool",
        "shared",
    )

    def __init__(self, index: int, name: str, pool: SimPool) -> None:
        self.index, self.name, self.pool = index, name, pool
        self.model, self.gpus_total = pool.model, pool.gpus_per_node
        self.free: list[int] = list(range(pool.gpus_per_node))
        self.shared: dict[int, int] = {}
        self.cpus_total = self.cpus_free = pool.cpus
        self.mem_total = self.mem_free = pool.memory_mb
        self.cached: object = None  # the adapter's frozen view of this node, while unchanged


class ClusterState:
    def __init__(self, spec: ClusterSpec, matches: Callable[[str | None, str], bool]):
        """``matches(node_model, wanted_model)`` is the scheduler's model rule."""
        self.pools: list[SimPool] = []
        self.nodes: list[SimNode] = []
        for p in spec.pools:
            pool = SimPool(p.name, p.gpu_model, p.gpus_per_node, p.cpus, p.memory_mb)
            for i in range(p.count):
                pool.nodes.append(SimNode(len(self.nodes), f"{p.name}-{i:05d}", pool))
                self.nodes.append(pool.nodes[-1])
            pool.hist[p.gpus_per_node] = p.count
            pool.cpus_free, pool.mem_free = p.cpus * p.count, p.memory_mb * p.count
            self.pools.append(pool)
        self.by_name = {n.name: n for n in self.nodes}
        self.open_nodes = {n.index for n in self.nodes if n.gpus_total > 0}
        self.total_gpus = sum(n.gpus_total for n in self.nodes)
        self.busy_milli = 0
        self.version = 0  # bumped on every change of free resources
        self.dirty: set[int] = set()  # nodes changed since the adapter last read all views
        self._matches = matches
        self._pools_for: dict[frozenset[str] | None, list[SimPool]] = {}

    @property
    def free_gpus(self) -> int:
        return sum(len(self.nodes[i].free) for i in self.open_nodes)

    def pools_for(self, models: frozenset[str] | None) -> list[SimPool]:
        found = self._pools_for.get(models)
        if found is None:
            found = [
                p
                for p in self.pools
                if models is None or any(self._matches(p.model, m) for m in models)
            ]
            self._pools_for[models] = found
        return found

    def capacity(self, shape: Shape) -> int:
        """An upper bound on how many jobs of ``shape`` could start together right now."""
        gpus, nodes, cpus, mem, models, milli = shape
        slots = 0
        for pool in self._pools_for.get(models) or self.pools_for(models):
            if milli:
                bound = UNBOUNDED if pool.max_free or pool.shared_open else 0
            elif pool.max_free < gpus:
                continue
            else:
                bound = _gpu_slots(pool.hist, gpus) if gpus else UNBOUNDED
            if cpus:
                bound = min(bound, pool.cpus_free // cpus)
            if mem:
                bound = min(bound, pool.mem_free // mem)
            slots += bound
        return slots // nodes

    def ever_fits(self, shape: Shape) -> bool:
        """Would a job of ``shape`` fit the cluster if it were idle?"""
        gpus, nodes, cpus, mem, models, milli = shape
        need = 1 if milli else gpus
        hosts = sum(
            len(p.nodes)
            for p in self.pools_for(models)
            if p.gpus_per_node >= need and p.cpus >= cpus and p.memory_mb >= mem
        )
        return hosts >= nodes

    def allocate(self, placements: Iterable[Placement], milli: int = 0) -> None:
        for a in placements:
            node = self.by_name[a.node]
            if a.cpus > node.cpus_free or a.memory_mb > node.mem_free:
                raise SimulationError(f"CPUs or memory over-allocated on {node.name}")
            if milli:
                self._take_share(node, a.gpu_indices, milli)
            else:
                self._take_whole(node, a.gpu_indices)
            self._add_cpu_mem(node, -a.cpus, -a.memory_mb)

    def release(self, placements: Iterable[Placement], milli: int = 0) -> None:
        for a in placements:
            node = self.by_name[a.node]
            if milli:
                self._give_share(node, a.gpu_indices, milli)
            else:
                self._give_whole(node, a.gpu_indices)
            self._add_cpu_mem(node, a.cpus, a.memory_mb)

    def _take_whole(self, node: SimNode, gpus: tuple[int, ...]) -> None:
        taken = set(gpus)
        if len(taken) != len(gpus) or not taken <= set(node.free):
            raise SimulationError(f"GPUs {gpus} are not all free on {node.name}")
        self._set_free(node, [i for i in node.free if i not in taken])
        self.busy_milli += MILLI * len(gpus)

    def _give_whole(self, node: SimNode, gpus: tuple[int, ...]) -> None:
        if set(gpus) & (set(node.free) | set(node.shared)):
            raise SimulationError(f"GPUs {gpus} released twice on {node.name}")
        self._set_free(node, sorted(node.free + list(gpus)))
        self.busy_milli -= MILLI * len(gpus)

    def _take_share(self, node: SimNode, gpus: tuple[int, ...], milli: int) -> None:
        (gpu,) = gpus
        if gpu in node.free:
            self._set_free(node, [i for i in node.free if i != gpu])
            self._set_share(node, gpu, MILLI - milli)
        elif node.shared.get(gpu, -1) >= milli:
            self._set_share(node, gpu, node.shared[gpu] - milli)
        else:
            raise SimulationError(f"GPU {gpu} on {node.name} has no {milli} thousandths free")
        self.busy_milli += milli

    def _give_share(self, node: SimNode, gpus: tuple[int, ...], milli: int) -> None:
        (gpu,) = gpus
        left = node.shared.get(gpu, 0) + milli
        if gpu in node.free or left > MILLI:
            raise SimulationError(f"share of GPU {gpu} released twice on {node.name}")
        if left == MILLI:
            self._set_share(node, gpu, None)
            self._set_free(node, sorted([*node.free, gpu]))
        else:
            self._set_share(node, gpu, left)
        self.busy_milli -= milli

    def _set_share(self, node: SimNode, gpu: int, free: int | None) -> None:
        before = node.shared.get(gpu, 0)
        if free is None:
            del node.shared[gpu]
        else:
            node.shared[gpu] = free
        node.pool.shared_open += bool(free) - bool(before)
        self._touch(node)

    def _set_free(self, node: SimNode, free: list[int]) -> None:
        pool, before, after = node.pool, len(node.free), len(free)
        hist = pool.hist
        hist[before] -= 1
        hist[after] += 1
        if after > pool.max_free:
            pool.max_free = after
        elif before == pool.max_free and not hist[before]:
            pool.max_free = max((k for k in range(before, -1, -1) if hist[k]), default=0)
        node.free = free
        self._touch(node)

    def _touch(self, node: SimNode) -> None:
        node.cached = None
        self.version += 1
        self.dirty.add(node.index)
        if node.free or any(node.shared.values()):
            self.open_nodes.add(node.index)
        else:
            self.open_nodes.discard(node.index)

    def _add_cpu_mem(self, node: SimNode, cpus: int, mem: int) -> None:
        node.cpus_free += cpus
        node.mem_free += mem
        node.pool.cpus_free += cpus
        node.pool.mem_free += mem
        node.cached = None
        self.version += 1
        self.dirty.add(node.index)

    def fragmented_gpus(self, smallest_need: dict[str, int]) -> int:
        """Wholly free GPUs on nodes where no pending job's per-node GPU count fits.

        ``smallest_need`` maps a pool name to the smallest per-node GPU count among pending jobs
        that may use that pool; pools absent from it have no pending GPU job at all.
        """
        total = 0
        for pool in self.pools:
            need = smallest_need.get(pool.name, pool.gpus_per_node + 1)
            hist = pool.hist
            total += sum(k * hist[k] for k in range(1, min(need, len(hist))))
        return total


def _gpu_slots(hist: list[int], gpus: int) -> int:
    return sum(hist[k] * (k // gpus) for k in range(gpus, len(hist)))
