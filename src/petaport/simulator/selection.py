"""What the engine shows the core each cycle: a pruned queue, the nodes and running jobs that
can matter. Pruning never changes the core's decisions (``tests/unit/simulator`` replays with
and without it and compares); ``Replay(exact_reference=True)`` turns it off.

Why each cut is exact, by how the policy treats a blocked job (``PolicyConfig.blocked``):
- SKIP (``sjf_oracle``, greedy): a job that cannot start takes nothing, so for each job shape
  only the first ``capacity(shape)`` jobs in the core's order can start; nodes without a free
  GPU can host none of them.
- STOP (``fifo``): the core walks the queue in submission order and stops at the first blocked
  job, so a head of the queue one longer than the free GPUs decides it (the engine asks again
  when the whole head started).
- RESERVE (``default``, ``fifo_backfill``): jobs of one group (``CoreAdapter.group_of``) differ
  only in submission time, so the core walks each group oldest first and a group's starts are a
  prefix no longer than its shape's capacity; its first job that does not start is the only one
  that may become the reserved (first blocked) job (under FIFO order only the oldest such head
  can). Every node and running job is shown: the reservation projects running jobs' ends.
  When running work could be preempted, the whole queue is shown (preemption scans deep).
For STOP, each pool also shows as many whole nodes as the widest gang, so that no job looks
impossible to the core (an impossible head would not stop the queue).
When no shown job could start and nothing could be preempted, the core is not called at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from petaport.scheduler import NodeState, PendingJob, RunningJob
from petaport.scheduler.config import Policy
from petaport.simulator.adapter import Blocked
from petaport.simulator.state import Shape

if TYPE_CHECKING:
    from petaport.simulator.engine import Replay


@dataclass(frozen=True)
class Ask:
    indices: list[int]  # pending jobs shown
    nodes: Collection[NodeState]
    running: Collection[RunningJob]  # the engine's live view when every job is shown
    whole: bool = False  # every node is shown (the snapshot may then list the pools too)


def select(replay: Replay, freed: bool, new: list[int]) -> Ask | None:
    """What the next core call shows, or None to skip it."""
    blocked = replay.adapter.blocked
    if not replay.fifo:
        return None  # nothing waits: nothing to decide
    if replay.exact_reference or (blocked is Blocked.RESERVE and replay.victims):
        return everything(replay)
    if blocked is Blocked.SKIP:
        return _skip(replay, freed, new)
    if blocked is Blocked.STOP:  # under an order other than FIFO: nothing to prune safely
        return _stop(replay) if replay.adapter.fifo_stop else everything(replay)
    return _reserve(replay)


def everything(replay: Replay) -> Ask:
    return Ask(list(replay.fifo), all_nodes(replay), replay.running.values(), True)


def _skip(replay: Replay, freed: bool, new: list[int]) -> Ask | None:
    groups = replay.groups.keys() if freed else {replay.jobs[i].group for i in new}
    picked: list[int] = []
    for group in groups:
        queue = replay.groups.get(group)
        cap = replay.state.capacity(replay.group_shape[group]) if queue else 0
        if cap and queue:
            picked.extend(key[1] for key in queue[:cap])
    if not picked:
        return None
    shapes = {replay.jobs[i].shape for i in picked}
    return Ask(picked, _views(replay, _open(replay, shapes)), [])


def _stop(replay: Replay) -> Ask | None:
    fifo = replay.fifo
    if not fifo or replay.state.capacity(replay.jobs[fifo[0]].shape) == 0:
        return None
    state = replay.state
    window = fifo[: state.free_gpus + sum(p.shared_open for p in state.pools) + 1]
    shapes = {replay.jobs[i].shape for i in window}
    chosen = _open(replay, shapes) | _whole(replay, shapes)
    return Ask(window, _views(replay, chosen), [])


def _reserve(replay: Replay) -> Ask | None:
    caps = _capacities(replay)
    if caps is None:
        return None  # no queued shape can start: nothing to decide
    return Ask(_group_heads(replay, caps), all_nodes(replay), replay.running.values(), True)


def _capacities(replay: Replay) -> dict[Shape, int] | None:
    """Each queued shape's capacity (``Replay.shape_count`` names the shapes of the queued
    jobs, each once), or None when none can start."""
    caps: dict[Shape, int] = {}
    startable, state = False, replay.state
    for shape in replay.shape_count:
        cap = caps[shape] = state.capacity(shape)
        if cap:
            startable = True
    return caps if startable else None


def _group_heads(replay: Replay, caps: dict[Shape, int]) -> list[int]:
    """Each group's first capacity + 1 jobs (FIFO order: one blocked head in all)."""
    picked: list[int] = []
    fifo_order = replay.adapter.config.policy is Policy.FIFO_BACKFILL
    first_blocked = -1
    jobs = replay.jobs
    for queue in replay.groups.values():
        # a group's jobs share its shape: read it off its first job (no group key hashed)
        cap = caps[jobs[queue[0][1]].shape]
        if cap:
            picked.extend([key[1] for key in queue[: cap + 1]])
        elif not fifo_order:
            picked.append(queue[0][1])
        elif first_blocked < 0 or queue[0][1] < first_blocked:
            first_blocked = queue[0][1]
    if first_blocked >= 0:
        picked.append(first_blocked)
    picked.sort()
    return picked


def _open(replay: Replay, shapes: Iterable[Shape]) -> set[int]:
    """Nodes that could host one of ``shapes`` now (all nodes for CPU-only jobs)."""
    state = replay.state
    shapes = list(shapes)
    if any(s[0] == 0 and not s[5] for s in shapes):
        return {n.index for n in state.nodes}
    least = min(0 if s[5] else s[0] for s in shapes)
    return {i for i in state.open_nodes if not least or len(state.nodes[i].free) >= least}


def _whole(replay: Replay, shapes: Iterable[Shape]) -> set[int]:
    """Per pool, as many nodes as the widest gang (so that no job looks impossible)."""
    widest = max(s[1] for s in shapes)
    return {n.index for pool in replay.state.pools for n in pool.nodes[:widest]}


def _views(replay: Replay, chosen: set[int]) -> list[NodeState]:
    view, nodes = replay.adapter.node_view, replay.state.nodes
    return [view(nodes[i]) for i in sorted(chosen)]


def all_nodes(replay: Replay) -> Collection[NodeState]:
    """Every node's view, as a live view of the engine's ``NodeIndex`` (not copied): only nodes
    changed since the last call are viewed and put into the index again."""
    view, nodes, index = replay.adapter.node_view, replay.state.nodes, replay.node_index
    if len(index.states) != len(nodes):
        for node in nodes:
            index.put(view(node))
    else:
        for i in replay.state.dirty:
            index.put(view(nodes[i]))
    replay.state.dirty.clear()
    return index.states.values()


def pending_of(replay: Replay, indices: list[int]) -> list[PendingJob]:
    return [replay.pending_for_core(i) for i in indices]
