"""Backfill's common case, decided without a ``Projection``: the blocked job fits now once
the work that is overdue is counted as released.

When the caller keeps a ``RunningIndex`` with the releases due by now summed per node
(``due``), ``Projection.release_until`` first releases all of them at once, and most of the
time (in a replay whose predictions are often outlived) that is enough: the shadow time is
now, and the next release comes later. ``reserve_now`` computes exactly that outcome in one
pass over the due nodes, reading each node once and building no per-node state for nodes
that cannot host the job; when the outcome is anything else (the job fits before any
release, the next release is due now too, or the due work is not enough) it returns None
and ``backfill.reserve`` projects as before. Both give the same reservation: the same
nodes are counted (those with enough free GPUs now, and those the due work frees enough
on), with the same projected free capacity, and the same best fit is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

from petaport.scheduler.capacity import Capacity, Outside
from petaport.scheduler.cycle import Cycle

Need = tuple[int, int, int]  # GPUs, CPUs, MiB per node
# a candidate node: (projected free GPUs, name, CPUs, MiB), ranked as the tuple sorts
Candidate = tuple[int, str, int, int]
Tracked = tuple[str, int, int, int]  # a node with enough free GPUs now: (model key, free now)


def reserve_now(
    cycle: Cycle, keys: tuple[str, ...], need: Need, nodes: int, outside: Outside | None
) -> tuple[str, list[Candidate]] | None:
    """The model key and the ``nodes`` best-fit nodes (fullest first) of a reservation that
    starts now because the overdue work frees them, or None when that is not the outcome."""
    index = cycle.snapshot.running_index
    now_s = cycle.now_s
    if index is None or not index.due_count or index.due_s != now_s:
        return None
    listed = index.releases
    if len(listed) > index.due_count and listed[index.due_count][0] <= now_s:
        return None  # (cannot happen with a valid index) released next, one by one
    for release in cycle.started_ends:
        if release[0] <= now_s:
            return None  # a job started this cycle ends now: released next, one by one
    now = _tracked_now(cycle.cap, keys, need, nodes, outside)
    if now is None:
        return None  # it fits before any release: ``release_until`` is never called
    due = index.due
    fitting = _release(cycle.cap, keys, need, outside, due if isinstance(due, dict) else dict(due),
                       now, nodes == 1)  # fmt: skip
    if fitting is None:
        return None
    for key in sorted(keys):
        ranked = fitting[key]
        if len(ranked) >= nodes:
            if nodes == 1:
                return key, ranked  # (only the best one kept)
            ranked.sort()
            return key, ranked[:nodes]
    return None


def _tracked_now(
    cap: Capacity, keys: tuple[str, ...], need: Need, nodes: int, outside: Outside | None
) -> dict[str, Tracked] | None:
    """The nodes with enough free GPUs now (a projection tracks them from the start, at their
    free capacity), or None if enough of one model fit the job now."""
    g, c, m = need
    now: dict[str, Tracked] = {}
    for key in keys:
        found = 0
        for k in range(g, cap.top.get(key, 0) + 1):
            for name in cap.bucket(key, k):
                if outside is not None and name in outside:
                    continue
                _, _, gpus, cpus, mem = cap.peek(name, None)
                now[name] = (key, gpus, cpus, mem)
                if cpus >= c and mem >= m:
                    found += 1
        if found >= nodes:
            return None
    return now


def _release(
    cap: Capacity,
    keys: tuple[str, ...],
    need: Need,
    outside: Outside | None,
    due: dict[str, Sequence[int]],
    now: dict[str, Tracked],
    single: bool,
) -> dict[str, list[Candidate]] | None:
    """Release ``due`` onto the nodes tracked ``now`` and onto those it frees enough GPUs on:
    the nodes that then fit, per model key (``single``: only the best one; None if a node due
    is not in the snapshot: the projection then releases one by one)."""
    g, c, m = need
    states, built, key_of = cap.states, cap.nodes, cap.key_of
    fitting: dict[str, list[Candidate]] = {key: [] for key in keys}
    last_model: str | None = None
    last_key = key_of(None)
    for name, sums in due.items():
        state = states.get(name)
        if state is None:
            return None
        if name in built or (now and name in now):  # read as the projection would
            found = _projected(cap, name, sums, need, outside, now.pop(name, None))
            if found is not None and found[0] in fitting:
                gpus, _, cpus, mem = found[1]
                _keep(fitting[found[0]], single, gpus, name, cpus, mem)
            continue
        gpus = len(state.free_gpus) + sums[0]
        if gpus < g:
            continue  # not tracked yet
        model = state.gpu_model
        if model is not last_model:
            last_model, last_key = model, key_of(model)
        fits = fitting.get(last_key)
        if fits is None or not state.schedulable or (outside is not None and name in outside):
            continue  # another model, or not to be used
        cpus = state.cpus_free + sums[1]
        mem = state.memory_mb_free + sums[2]
        if cpus >= c and mem >= m:
            _keep(fits, single, gpus, name, cpus, mem)
    for name, (key, gpus, cpus, mem) in now.items():  # tracked nodes with nothing due
        if cpus >= c and mem >= m:
            _keep(fitting[key], single, gpus, name, cpus, mem)
    return fitting


def _projected(
    cap: Capacity,
    name: str,
    sums: Sequence[int],
    need: Need,
    outside: Outside | None,
    tracked: Tracked | None,
) -> tuple[str, Candidate] | None:
    """Node ``name`` (built this cycle, or tracked from the start) with ``sums`` released:
    its model key and projected free capacity if it fits the job, else None."""
    if tracked is None:
        key, schedulable, gpus, cpus, mem = cap.peek(name, None)
        if gpus + sums[0] < need[0]:
            return None  # not tracked yet
        if not schedulable or (outside is not None and name in outside):
            return None
    else:
        key, gpus, cpus, mem = tracked
    gpus, cpus, mem = gpus + sums[0], cpus + sums[1], mem + sums[2]
    if gpus >= need[0] and cpus >= need[1] and mem >= need[2]:
        return key, (gpus, name, cpus, mem)
    return None


def _keep(fits: list[Candidate], single: bool, gpus: int, name: str, cpus: int, mem: int) -> None:
    """Add a fitting node to its model's candidates; for a one-node job (``single``) keep
    only the least ``(GPUs, name)``, the one ``min`` would pick (names are unique)."""
    if single and fits:
        best = fits[0]
        if gpus < best[0] or (gpus == best[0] and name < best[1]):
            fits[0] = (gpus, name, cpus, mem)
        return
    fits.append((gpus, name, cpus, mem))
