"""What a caller may keep across cycles (``Snapshot.node_index``, the overdue releases summed
per node in ``RunningIndex.due``, ``Snapshot.fair_share``) only saves work: the decisions are
those the core derives from the snapshot alone."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.domain.jobs import QosTier
from petaport.scheduler import NodeIndex, RunningIndex, Snapshot, release_of, schedule
from petaport.scheduler.fairshare import factors
from petaport.scheduler.snapshot import MILLI, Release

from .builders import job, node, snap
from .test_properties import snapshots


def kept_node_index(s: Snapshot, rnd: random.Random) -> NodeIndex:
    """Built as a caller keeps it: in any order, each node first listed with fewer free GPUs,
    then put again as it is now."""
    index = NodeIndex()
    nodes = list(s.nodes)
    rnd.shuffle(nodes)
    for n in nodes:
        index.put(n.with_free(n.free_gpus[: rnd.randrange(3)]))
    rnd.shuffle(nodes)
    for n in nodes:
        index.put(n)
    return index


def due_by_node(releases: list[Release], now_s: float) -> tuple[int, dict[str, list[int]]]:
    count, due = 0, dict[str, list[int]]()
    for end, _, allocations, milli, _ in releases:
        if end > now_s:
            break
        count += 1
        for a in allocations:
            summed = due.setdefault(a.node, [0, 0, 0])
            summed[0] += len(a.gpu_indices) if not 0 < milli < MILLI else 0
            summed[1] += a.cpus
            summed[2] += a.memory_mb
    return count, due


def kept_running_index(s: Snapshot) -> RunningIndex:
    """The running index a caller keeps (overdue work summed per node) for ``s``."""
    now_s = s.now.timestamp()
    found = (release_of(r, s.config.predicts) for r in s.running)
    releases = sorted(r for r in found if r is not None)
    count, due = due_by_node(releases, now_s)
    victims = tuple(r for r in s.running if r.qos is QosTier.PREEMPTIBLE or r.borrowing)
    return RunningIndex(tuple(releases), victims, now_s, count, due)


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.randoms(use_true_random=False))
def test_kept_indexes_change_nothing(s: Snapshot, rnd: random.Random) -> None:
    running = kept_running_index(s)
    fair = factors(s.usage, s.quotas, s.shares, s.now, s.config.half_life_s)
    kept = dataclasses.replace(
        s, node_index=kept_node_index(s, rnd), running_index=running, fair_share=fair, usage=()
    )
    assert schedule(kept) == schedule(s)


def test_the_node_index_is_what_the_nodes_say() -> None:
    a, b = node("a", 8, free=(0, 1)), node("b", 8, free=())
    index = NodeIndex([a, b])
    assert index.open == {"h800": [[], [], ["a"]]} and index.whole_free == 2
    index.put(node("b", 8, free=(3, 4)))
    index.put(node("a", 8, free=()))
    assert index.open == {"h800": [[], [], ["b"]]} and index.milli == {"h800": 2 * MILLI}
    index.put(node("b", 8, free=()))
    assert index.open == {} and index.whole_free == 0 and set(index.states) == {"a", "b"}


def test_the_core_never_writes_the_kept_node_index() -> None:
    nodes = [node("a", 8, free=(0, 1)), node("c", 8, free=(0, 1, 2)), node("d", 8, free=(5,))]
    index = NodeIndex(nodes)
    before = [list(names) for names in index.open["h800"]]
    s = snap(nodes, [job("j", 2), job("k", 1), job("l", 3)])
    decisions = schedule(s)
    assert schedule(dataclasses.replace(s, node_index=index)) == decisions
    assert len(decisions.starts) == 3
    assert index.open["h800"] == before  # the cycle copied each bucket it changed
