"""``NodeIndex``: the nodes of a Snapshot as the capacity index starts from them, kept by a
caller across cycles (the simulator) so that a cycle need not index every open node again.

It holds every listed node's ``NodeState`` by name and, per GPU model key and count ``k`` of
wholly free GPUs, the names of the schedulable *open* nodes (a free GPU, or a GPU shared by
fractional jobs) in name order: exactly what ``Capacity`` builds from ``Snapshot.nodes``. The
caller ``put``s a node's new state whenever it changes, between calls only; during one
``schedule`` call the core reads it and never writes it (``Capacity`` copies a bucket before
its first change). Pure: no I/O.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from petaport.scheduler.snapshot import MILLI, NodeState


def _key(model: str | None) -> str:
    return "" if model is None else model.lower()


class NodeIndex:
    __slots__ = ("milli", "models", "open", "shared", "states", "whole_free")

    def __init__(self, nodes: Iterable[NodeState] = ()) -> None:
        self.states: dict[str, NodeState] = {}
        self.models: dict[str | None, int] = {}  # GPU model -> listed nodes of it
        # model key -> [names of open schedulable nodes with k wholly free GPUs, for each k]
        self.open: dict[str, list[list[str]]] = {}
        self.shared: list[str] = []  # open schedulable nodes with shared GPUs, name order
        self.milli: dict[str, int] = {}  # model key -> wholly free GPUs x MILLI (open nodes)
        self.whole_free = 0
        for node in nodes:
            self.put(node)

    def put(self, state: NodeState) -> None:
        """List ``state`` (replacing the node's former state)."""
        old = self.states.get(state.name)
        if old is not None:
            self._drop(old)
        self.states[state.name] = state
        self.models[state.gpu_model] = self.models.get(state.gpu_model, 0) + 1
        if not state.schedulable or not (state.free_gpus or state.gpu_free_milli):
            return
        key, k = _key(state.gpu_model), len(state.free_gpus)
        buckets = self.open.setdefault(key, [])
        buckets.extend([] for _ in range(len(buckets), k + 1))
        insort(buckets[k], state.name)
        self.milli[key] = self.milli.get(key, 0) + k * MILLI
        self.whole_free += k
        if state.gpu_free_milli:
            insort(self.shared, state.name)

    def _drop(self, state: NodeState) -> None:
        left = self.models[state.gpu_model] - 1
        if left:
            self.models[state.gpu_model] = left
        else:
            del self.models[state.gpu_model]
        if not state.schedulable or not (state.free_gpus or state.gpu_free_milli):
            return
        key, k = _key(state.gpu_model), len(state.free_gpus)
        _remove(self.open[key][k], state.name)
        self.milli[key] -= k * MILLI
        self.whole_free -= k
        if state.gpu_free_milli:
            _remove(self.shared, state.name)
        if not any(self.open[key]):
            del self.open[key], self.milli[key]


def _remove(names: list[str], name: str) -> None:
    at = bisect_left(names, name)
    if at == len(names) or names[at] != name:
        raise KeyError(name)
    del names[at]
