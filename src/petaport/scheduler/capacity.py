"""Free capacity during one cycle: an index over the snapshot's nodes, updated as jobs start.

It is mutable working state private to one ``schedule`` call (the call stays a pure function of
its snapshot). Indexes, so that placing a job never scans every node:
- per GPU model, ``buckets[k]`` holds the schedulable nodes with exactly ``k`` wholly free GPUs
  (an insertion-ordered dict used as an ordered set: node-name order at first, deterministic
  after every move);
- per GPU model, shared GPUs (held in part by fractional jobs) sit in ``shares[b]`` by their free
  thousandths, ``b = free // SHARE_STEP``.

Invariants: a GPU index is either wholly free (``FreeNode.free``), shared with 1..999 free
thousandths (``FreeNode.shared``) or fully taken; taking more than is free raises ValueError.
Model keys are lower-case model names, ``""`` for nodes without a model.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from operator import attrgetter

from petaport.scheduler.node_index import NodeIndex
from petaport.scheduler.snapshot import MILLI, NodeState, PendingJob

SHARE_STEP = 50
SHARE_BUCKETS = MILLI // SHARE_STEP
Slot = tuple[str, int]  # (node name, GPU index) of a shared GPU
# node names in bucket order: an ordered set, or a caller's list (``NodeIndex``) until changed
Bucket = dict[str, None] | list[str]


def model_key(model: str | None) -> str:
    return "" if model is None else model.lower()


def key_matches(node_key: str, wanted: str) -> bool:
    """``h100`` matches a node reporting NVML's fuller ``H100 80GB HBM3`` (case-insensitive)."""
    return node_key == wanted or node_key.split(" ", 1)[0] == wanted


def wanted_models(job: PendingJob) -> frozenset[str] | None:
    """The model keys a job accepts, or None when any model will do."""
    if job.gpu_model is None and job.allowed_models is None:
        return None
    wanted = {m.lower() for m in job.allowed_models or ()}
    if job.gpu_model is not None:
        wanted.add(job.gpu_model.lower())
    return frozenset(wanted)


class FreeNode:
    """What is free on one node now (mutable during the cycle)."""

    __slots__ = ("cpus", "free", "key", "mem", "name", "schedulable", "shared")

    def __init__(self, name: str, key: str, schedulable: bool = True) -> None:
        self.name, self.key, self.schedulable = name, key, schedulable
        self.free: list[int] = []
        self.shared: dict[int, int] = {}
        self.cpus = self.mem = 0

    @classmethod
    def of(cls, state: NodeState) -> FreeNode:
        node = cls(state.name, model_key(state.gpu_model), state.schedulable)
        node.free = list(state.free_gpus)
        node.shared = {gpu: milli for gpu, milli in state.gpu_free_milli if 0 < milli < MILLI}
        node.cpus, node.mem = state.cpus_free, state.memory_mb_free
        return node

    def holds(self, cpus: int, mem: int) -> bool:
        return self.cpus >= cpus and self.mem >= mem


_by_name = attrgetter("name")


class Outside:
    """The nodes a job limited to node ``pools`` may not use, as a container of node names,
    together with ``also`` (other nodes to leave out, or None). A node the snapshot leaves out
    is outside: its pool is not known. Built only for jobs with a pool limit, so that other
    jobs pay nothing per node."""

    __slots__ = ("also", "pools", "states")

    def __init__(self, states: dict[str, NodeState], pools: frozenset[str],
                 also: Container[str] | None = None) -> None:  # fmt: skip
        self.states, self.pools, self.also = states, pools, also

    def __contains__(self, name: object) -> bool:
        if self.also is not None and name in self.also:
            return True
        state = self.states.get(name) if isinstance(name, str) else None
        return state is None or state.pool not in self.pools


class _Lazy(dict[str, FreeNode]):
    """Free nodes by name, each built from its NodeState on first access."""

    def __init__(self, states: dict[str, NodeState]) -> None:
        super().__init__()
        self.states = states

    def __missing__(self, name: str) -> FreeNode:
        node = self[name] = FreeNode.of(self.states[name])
        return node


class Capacity:
    """Only nodes with a free GPU are indexed at first; the others (whose CPUs only CPU-only
    jobs can use) are indexed on first need, and any node is built on first access, so that a
    cycle costs little more than the free part of the cluster. Nodes the snapshot leaves out
    (allowed when it gives ``pools``) are fully busy: ``node_for`` makes them up on demand."""

    def __init__(
        self,
        nodes: Iterable[NodeState],
        models: Iterable[str | None] = (),
        index: NodeIndex | None = None,
    ) -> None:
        """``index``: the same nodes already indexed by the caller (``NodeIndex``); its buckets
        are copied only when this cycle changes them."""
        self.states = {n.name: n for n in nodes} if index is None else index.states
        self.nodes: dict[str, FreeNode] = _Lazy(self.states)  # built on first access
        self.buckets: dict[str, list[Bucket]] = {}
        self.shares: dict[str, list[dict[Slot, int]]] = {}
        self.top: dict[str, int] = {}
        self.milli: dict[str, int] = {}  # free thousandths per model key (schedulable nodes)
        self.whole_free = 0
        self.shared_free = 0  # shared GPUs with something free
        self._indexed: set[str] = set()  # nodes indexed after the start (open ones were then)
        self._all_indexed = False
        self._models_for: dict[tuple[str | None, frozenset[str] | None], tuple[str, ...]] = {}
        self._keys: dict[str | None, str] = {}
        listed = {n.gpu_model for n in self.states.values()} if index is None else index.models
        found = {model_key(m) for m in models} | {self.key_of(m) for m in listed}
        self.keys = tuple(sorted(found))
        if index is not None:
            self._adopt(index)
            return
        open_nodes = [n for n in self.states.values() if n.free_gpus or n.gpu_free_milli]
        open_nodes.sort(key=_by_name)
        self._index_states(open_nodes)

    def _adopt(self, index: NodeIndex) -> None:
        """Start from the caller's index: its bucket lists are shared, never written."""
        for key, lists in index.open.items():
            self.buckets[key] = list(lists)
            self.top[key] = max((k for k, names in enumerate(lists) if names), default=0)
            self.milli[key] = index.milli[key]
        self.whole_free = index.whole_free
        for name in index.shared:
            node = self.nodes[name]
            for gpu, free in list(node.shared.items()):
                self._share_in(node, gpu, free)

    def key_of(self, model: str | None) -> str:
        key = self._keys.get(model)
        if key is None:
            key = self._keys[model] = model_key(model)
        return key

    def node(self, name: str) -> FreeNode:
        """The node's free state (KeyError if the snapshot does not list it)."""
        return self.nodes[name]

    def node_for(self, name: str, model: str | None) -> FreeNode:
        """The node, or a fully busy stand-in of ``model`` when the snapshot leaves it out."""
        if name in self.states or name in self.nodes:
            return self.nodes[name]
        node = self.nodes[name] = FreeNode(name, model_key(model))
        return node

    def peek(self, name: str, model: str | None) -> tuple[str, bool, int, int, int]:
        """(model key, schedulable, free GPUs, CPUs, MiB) of a node, without building it (a
        node the snapshot leaves out is a fully busy one of ``model``)."""
        node = self.nodes.get(name)
        if node is not None:
            return node.key, node.schedulable, len(node.free), node.cpus, node.mem
        state = self.states.get(name)
        if state is None:
            return self.key_of(model), True, 0, 0, 0
        return (self.key_of(state.gpu_model), state.schedulable, len(state.free_gpus),
                state.cpus_free, state.memory_mb_free)  # fmt: skip

    def index_all(self) -> None:
        """Index the nodes without a free GPU too (CPU-only jobs may use their CPUs)."""
        if not self._all_indexed:
            self._all_indexed = True
            for name in sorted(self.states):
                if self._was_indexed(name):
                    continue
                node = self.nodes.get(name)  # already built: it may have changed this cycle
                if node is None:
                    self._index_states([self.states[name]])
                else:
                    self._index(node)

    def _was_indexed(self, name: str) -> bool:
        """Indexed at the start (an open node) or since."""
        if name in self._indexed:
            return True
        state = self.states.get(name)
        return state is not None and bool(state.free_gpus or state.gpu_free_milli)

    def _writable(self, buckets: list[Bucket], k: int) -> dict[str, None]:
        """Bucket ``k``, made this cycle's own (a shared list of names becomes an ordered
        set of its own) before its first change."""
        bucket = buckets[k]
        if isinstance(bucket, list):
            bucket = buckets[k] = dict.fromkeys(bucket)
        return bucket

    def _index(self, node: FreeNode) -> None:
        self._indexed.add(node.name)
        if not node.schedulable:
            return
        key, k = node.key, len(node.free)
        buckets = self.buckets.setdefault(key, [])
        buckets.extend({} for _ in range(len(buckets), k + 1))
        self._writable(buckets, k)[node.name] = None
        self.top[key] = max(self.top.get(key, 0), k)
        self.whole_free += k
        self.milli[key] = self.milli.get(key, 0) + k * MILLI
        for gpu, milli in list(node.shared.items()):
            self._share_in(node, gpu, milli)

    def _index_states(self, states: list[NodeState]) -> None:
        """Index nodes, in the given (node-name) order, straight from their states: one pass,
        and no FreeNode unless the node has shared GPUs."""
        self._indexed.update([s.name for s in states])
        buckets_of, top, milli, keys = self.buckets, self.top, self.milli, self._keys
        whole = 0
        for state in states:
            if not state.schedulable:
                continue
            model = state.gpu_model
            key = keys.get(model)
            if key is None:
                key = self.key_of(model)
            k = len(state.free_gpus)
            buckets = buckets_of.get(key)
            if buckets is None:
                buckets = buckets_of[key] = []
                top[key] = milli[key] = 0
            if len(buckets) <= k:
                buckets.extend({} for _ in range(len(buckets), k + 1))
            bucket = buckets[k]
            if isinstance(bucket, list):
                bucket = self._writable(buckets, k)
            bucket[state.name] = None
            if k > top[key]:  # noqa: PLR1730 - cheaper than max() per node
                top[key] = k
            whole += k
            milli[key] += k * MILLI
            if state.gpu_free_milli:
                node = self.nodes[state.name]
                for gpu, free in list(node.shared.items()):
                    self._share_in(node, gpu, free)
        self.whole_free += whole

    # -- queries ---------------------------------------------------------------------------

    def models_for(self, job: PendingJob) -> tuple[str, ...]:
        """Node model keys the job may use (empty when none of its models is here)."""
        memo = (job.gpu_model, job.allowed_models)
        found = self._models_for.get(memo)
        if found is None:
            wanted = wanted_models(job)
            found = self.keys
            if wanted is not None:
                found = tuple(k for k in self.keys if any(key_matches(k, w) for w in wanted))
            self._models_for[memo] = found
        return found

    def outside(self, job: PendingJob, also: Container[str] | None = None) -> Outside | None:
        """The nodes ``job``'s pool limit keeps it off (with ``also``), or None without one."""
        return None if job.pools is None else Outside(self.states, job.pools, also)

    def max_free(self, keys: Iterable[str]) -> int:
        """The most wholly free GPUs on any one schedulable node of these models."""
        return max((self.top.get(k, 0) for k in keys), default=0)

    def bucket(self, key: str, k: int) -> Bucket:
        buckets = self.buckets.get(key, ())
        return buckets[k] if k < len(buckets) else {}

    def share_bucket(self, key: str, b: int) -> dict[Slot, int]:
        shares = self.shares.get(key)
        return shares[b] if shares is not None else {}

    @property
    def exhausted(self) -> bool:
        """No GPU (whole or a share of one) is free anywhere."""
        return self.whole_free == 0 and self.shared_free == 0

    # -- updates ---------------------------------------------------------------------------

    def take_whole(self, node: FreeNode, gpus: int, cpus: int, mem: int) -> tuple[int, ...]:
        if gpus > len(node.free) or cpus > node.cpus or mem > node.mem:
            raise ValueError(f"taking more than is free on {node.name}")
        got = tuple(node.free[:gpus])
        if gpus:
            self._move(node, len(node.free), len(node.free) - gpus)
            del node.free[:gpus]
        node.cpus -= cpus
        node.mem -= mem
        return got

    def take_share(self, node: FreeNode, gpu: int, milli: int, cpus: int, mem: int) -> None:
        free = node.shared.get(gpu, MILLI if gpu in node.free else 0)
        if milli > free or cpus > node.cpus or mem > node.mem:
            raise ValueError(f"taking more than is free on {node.name}")
        if free < MILLI:
            self._share_out(node, gpu, free)
        else:
            node.free.remove(gpu)
            self._move(node, len(node.free) + 1, len(node.free))
        if free - milli > 0:
            self._share_in(node, gpu, free - milli)
        node.cpus -= cpus
        node.mem -= mem

    def _move(self, node: FreeNode, k_from: int, k_to: int) -> None:
        if not self._listed(node):
            return
        buckets, key = self.buckets[node.key], node.key
        del self._writable(buckets, k_from)[node.name]
        self._writable(buckets, k_to)[node.name] = None
        self.whole_free += k_to - k_from
        self.milli[key] += (k_to - k_from) * MILLI
        top = self.top[key]
        while top > 0 and not buckets[top]:
            top -= 1
        self.top[key] = top

    def _listed(self, node: FreeNode) -> bool:
        return node.schedulable and self._was_indexed(node.name)

    def _share_in(self, node: FreeNode, gpu: int, free: int) -> None:
        node.shared[gpu] = free
        if self._listed(node):
            shares = self.shares.setdefault(node.key, [{} for _ in range(SHARE_BUCKETS)])
            shares[free // SHARE_STEP][(node.name, gpu)] = free
            self.shared_free += 1
            self.milli[node.key] += free

    def _share_out(self, node: FreeNode, gpu: int, free: int) -> None:
        del node.shared[gpu]
        if self._listed(node):
            del self.shares[node.key][free // SHARE_STEP][(node.name, gpu)]
            self.shared_free -= 1
            self.milli[node.key] -= free
