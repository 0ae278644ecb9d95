"""EASY backfill: the top blocked job gets a reservation; later jobs start only if they cannot
delay it.

``reserve`` projects the free capacity of the blocked job's nodes forward, releasing running
jobs (and jobs started earlier in this cycle) at their expected ends, until the job fits: that
instant is the *shadow time*, and the best-fit nodes that hold it then are reserved. What each
reserved node can spare to longer work is its *slack*: projected free at the shadow time minus
the reserved job's need. Work whose end is unknown never releases anything, so when too much
is unknown there is no reservation and the queue is served greedily (the foundation's rule).

When the caller's ``RunningIndex`` sums the overdue work per node and that work alone lets
the job start now, ``overdue.reserve_now`` finds the same reservation without a projection.

``admit`` lets a later job start if it ends by the shadow time, or if what it takes on
reserved nodes fits in their slack (else it is placed away from the nodes it would crowd).
With walltimes as ends, this never delays the reserved job; with predictions, only a job that
outlives its prediction can. GPU shares of fractional jobs are never counted on as released.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from heapq import merge

from petaport.scheduler.capacity import Capacity, Outside
from petaport.scheduler.cycle import Cycle, Reserved
from petaport.scheduler.overdue import Candidate, reserve_now
from petaport.scheduler.placement import Plan, find
from petaport.scheduler.snapshot import MILLI, PendingJob, Release, Reservation, release_of

Need = tuple[int, int, int]  # GPUs, CPUs, MiB per node


def need_of(job: PendingJob) -> Need:
    return (1 if job.fractional else job.gpus), job.cpus, job.memory_mb


def _fits(free: list[int], need: Need) -> bool:
    return free[0] >= need[0] and free[1] >= need[1] and free[2] >= need[2]


def reserve(cycle: Cycle, job: PendingJob, keys: tuple[str, ...]) -> Reserved | None:
    """Reserve nodes for ``job`` at the earliest instant it fits, or None if none is known."""
    need, outside = need_of(job), cycle.cap.outside(job)
    found = reserve_now(cycle, keys, need, job.nodes, outside)
    if found is not None:  # the common case, without a projection (see overdue.py)
        key, chosen_now = found
        return _reserved(cycle, job, key, cycle.snapshot.now, cycle.now_s, need, chosen_now)
    projection = Projection(cycle, keys, need, outside)
    at_s: float | None = cycle.now_s
    if not projection.enough(job.nodes):
        at_s = projection.release_until(job.nodes)
    if at_s is None:
        return None
    chosen = projection.best(job.nodes)
    free, model = projection.free, projection.model
    cap = cycle.cap
    for name in chosen:
        if name not in cap.states:  # a stand-in for a node the snapshot leaves out
            cap.node_for(name, model.get(name))
    ranked = [(free[name][0], name, free[name][1], free[name][2]) for name in chosen]
    key = projection.key[chosen[0]]
    return _reserved(cycle, job, key, cycle.at(at_s), at_s, need, ranked)


def _reserved(
    cycle: Cycle,
    job: PendingJob,
    key: str,
    at: datetime,
    at_s: float,
    need: Need,
    chosen: list[Candidate],
) -> Reserved:
    """Book the reservation of ``chosen`` nodes (projected free GPUs, name, CPUs, MiB at
    ``at_s``) for ``job``: what each can spare, and which of its GPUs are wholly free now."""
    g, c, m = need
    slack = {name: [gpus - g, cpus - c, mem - m] for gpus, name, cpus, mem in chosen}
    cycle.book.charge(job.org_id, job.project_id, key, job.demand_milli)
    cycle.reservations.append(Reservation(job.id, at, tuple(sorted(slack))))
    counted = {name: _free_now(cycle.cap, name) for name in slack}
    return Reserved(job, at_s, slack, counted)


def _free_now(cap: Capacity, name: str) -> set[int]:
    """The GPUs of node ``name`` wholly free now (read without building the node)."""
    node = cap.nodes.get(name)
    return set(node.free if node is not None else cap.states[name].free_gpus)


class Projection:
    """Free GPUs, CPUs and MiB of the nodes of ``keys`` as running jobs end, in time order.
    Nodes with enough free GPUs now start it; others join as releases reach them. Nodes are
    read with ``Capacity.peek``: projecting builds no node state. Nodes in ``outside`` (a pool
    limit) are never tracked."""

    def __init__(
        self, cycle: Cycle, keys: tuple[str, ...], need: Need, outside: Outside | None = None
    ) -> None:
        self.cycle, self.need, self.outside = cycle, need, outside
        self.free: dict[str, list[int]] = {}
        self.key: dict[str, str] = {}  # model key of each tracked node
        self.model: dict[str, str | None] = {}  # model of tracked nodes the snapshot leaves out
        self.fitting: dict[str, set[str]] = {key: set() for key in keys}
        self.other: set[str] = set()  # nodes of other models, or not schedulable
        self.released: Mapping[str, Sequence[int]] = {}  # due work, once released
        for key in keys:
            for k in range(need[0], cycle.cap.top.get(key, 0) + 1):
                for name in cycle.cap.bucket(key, k):
                    self._track(name, None)

    def _track(self, name: str, model: str | None) -> list[int] | None:
        cap = self.cycle.cap
        key, schedulable, gpus, cpus, mem = cap.peek(name, model)
        outside = self.outside
        if key not in self.fitting or not schedulable or (outside and name in outside):
            self.other.add(name)
            return None
        free = self.free[name] = [gpus, cpus, mem]
        released = self.released.get(name)
        if released is not None:  # due work on it was released before it was tracked
            free[0] += released[0]
            free[1] += released[1]
            free[2] += released[2]
        self.key[name] = key
        if name not in cap.states:
            self.model[name] = model
        if _fits(free, self.need):
            self.fitting[key].add(name)
        return free

    def enough(self, nodes: int) -> bool:
        return any(len(names) >= nodes for names in self.fitting.values())

    def release_until(self, nodes: int) -> float | None:
        """Release running jobs in order of expected end (never before now) until ``nodes``
        nodes fit: when. (The order among equal ends does not matter: all of them are released
        before the nodes are counted.)"""
        releases, due = _releases(self.cycle)
        other, tracked, keyof, fitting = self.other, self.free, self.key, self.fitting
        g, c, m = self.need
        now_s = self.cycle.now_s
        following = next(releases, None)
        if due:  # every release due by now, summed per node by the caller
            self._release_due(due)
            if (following is None or following[0] > now_s) and self.enough(nodes):
                return now_s
        while following is not None:
            end, _, allocations, milli, model = following
            following = next(releases, None)
            whole = not 0 < milli < MILLI
            for a in allocations:
                name = a.node
                if name in other:
                    continue
                free = tracked.get(name)
                if free is None and (free := self._track(name, model)) is None:
                    continue
                if whole:
                    free[0] += len(a.gpu_indices)
                free[1] += a.cpus
                free[2] += a.memory_mb
                if free[0] >= g and free[1] >= c and free[2] >= m:
                    fitting[keyof[name]].add(name)
            at = max(end, now_s)
            # the next end, clamped to now, is later iff its raw value is
            if (following is None or following[0] > at) and self.enough(nodes):
                return at  # all that ends at ``at`` released: the choice of nodes is fair
        return None

    def _release_due(self, due: Mapping[str, Sequence[int]]) -> None:
        """Release the work due by now. A node not yet tracked that would still lack GPUs is
        left for later: ``_track`` adds its due work when a later release reaches it. (A node
        first reached here is tracked inline, as ``_track`` would with nothing released yet:
        this runs for some 25 nodes a reservation and reads each node once.)"""
        other, tracked, keyof, fitting = self.other, self.free, self.key, self.fitting
        g, c, m = self.need
        cap, outside = self.cycle.cap, self.outside
        built, states = cap.nodes.get, cap.states
        for name, (gpus, cpus, mem) in due.items():
            if name in other:
                continue
            free = tracked.get(name)
            if free is None:  # every node named is in ``states`` (see ``_releases``)
                node = built(name)
                if node is None:
                    state = states[name]
                    now_free = len(state.free_gpus)
                    if now_free + gpus < g:
                        continue
                    key, schedulable = cap.key_of(state.gpu_model), state.schedulable
                    free = [now_free + gpus, state.cpus_free + cpus, state.memory_mb_free + mem]
                else:
                    now_free = len(node.free)
                    if now_free + gpus < g:
                        continue
                    key, schedulable = node.key, node.schedulable
                    free = [now_free + gpus, node.cpus + cpus, node.mem + mem]
                if key not in fitting or not schedulable or (outside and name in outside):
                    other.add(name)
                    continue
                tracked[name] = free
                keyof[name] = key
            else:
                free[0] += gpus
                free[1] += cpus
                free[2] += mem
            if free[0] >= g and free[1] >= c and free[2] >= m:
                fitting[keyof[name]].add(name)
        self.released = due

    def best(self, nodes: int) -> list[str]:
        """Best fit: the ``nodes`` fitting nodes of the first model with enough, fullest first."""
        names = next(n for _, n in sorted(self.fitting.items()) if len(n) >= nodes)
        free = self.free
        # (free GPUs, name) pairs sorted as such: no key function called per node; names are
        # unique, so the order is the same as sorting names by that key
        ranked = [(free[name][0], name) for name in names]
        if nodes == 1:
            return [min(ranked)[1]]
        ranked.sort()
        return [name for _, name in ranked[:nodes]]


def _releases(cycle: Cycle) -> tuple[Iterator[Release], Mapping[str, Sequence[int]] | None]:
    """Expected ends of the jobs started this cycle and the running jobs, in time order (not
    clamped to now). From ``Snapshot.running_index`` when the caller keeps one (read in place,
    not copied); then those due by now may come summed per node (``RunningIndex.due``, else
    None) and are left out."""
    index = cycle.snapshot.running_index
    if index is not None:
        due = index.due if index.due_count and index.due_s == cycle.now_s else None
        if due is not None and not all(name in cycle.cap.states for name in due):
            due = None
        listed = index.releases
        first = 0 if due is None else index.due_count
        found: Iterator[Release] = map(listed.__getitem__, range(first, len(listed)))
        if cycle.started_ends:
            found = merge(found, sorted(cycle.started_ends))
        return found, due
    out = list(cycle.started_ends)
    predicts = cycle.config.predicts
    append = out.append
    for job in cycle.snapshot.running:
        release = release_of(job, predicts)
        if release is not None:
            append(release)
    out.sort()
    return iter(out), None


def admit(
    cycle: Cycle, reserved: Reserved, job: PendingJob, plan: Plan, keys: tuple[str, ...]
) -> Plan | None:
    """The plan (or another) that cannot delay the reservation, or None."""
    estimate = cycle.estimate_s(job)
    if estimate is not None and cycle.now_s + estimate <= reserved.at_s:
        return plan
    if not _spares(reserved, plan):
        g, c, m = need_of(job)
        exclude = {
            name: None
            for name, (sg, sc, sm) in reserved.slack.items()
            if g > sg or c > sc or m > sm
        }
        alternative = find(cycle.cap, job, keys, exclude)
        if alternative is None or not _spares(reserved, alternative):
            return None
        plan = alternative
    for node in plan.nodes:
        slack = reserved.slack.get(node.name)
        if slack is not None:
            slack[0] -= _gpus_counted_on(reserved, plan, node.name)
            slack[1] -= plan.cpus
            slack[2] -= plan.memory_mb
            if plan.share_gpu is not None:
                reserved.counted[node.name].discard(plan.share_gpu)
    return plan


def _gpus_counted_on(reserved: Reserved, plan: Plan, name: str) -> int:
    """GPUs of the plan on reserved node ``name`` that the reservation counts on: its whole
    GPUs, or for a share, the GPU if it was wholly free when the reservation was made (a share
    on it outlasting the shadow time keeps it from being whole then)."""
    if plan.share_gpu is None:
        return plan.gpus
    return 1 if plan.share_gpu in reserved.counted.get(name, ()) else 0


def _spares(reserved: Reserved, plan: Plan) -> bool:
    for node in plan.nodes:
        slack = reserved.slack.get(node.name)
        need = (_gpus_counted_on(reserved, plan, node.name), plan.cpus, plan.memory_mb)
        if slack is not None and not _fits(slack, need):
            return False
    return True
