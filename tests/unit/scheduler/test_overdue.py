"""``overdue.reserve_now``: the reservation that starts now because overdue work frees its
nodes, decided without a ``Projection``, is the one the projection finds."""

from __future__ import annotations

import dataclasses

from hypothesis import event, given, settings

from petaport.scheduler import Snapshot, schedule
from petaport.scheduler.backfill import Projection, need_of
from petaport.scheduler.config import Blocked
from petaport.scheduler.cycle import new_cycle
from petaport.scheduler.overdue import reserve_now

from .builders import T0, job, node, running, snap
from .test_kept_indexes import kept_running_index
from .test_properties import CONFIGS, snapshots

RESERVING = tuple(c for c in CONFIGS if c.blocked is Blocked.RESERVE)


def with_index(s: Snapshot) -> Snapshot:
    """``s`` with the running index a caller keeps (overdue work summed per node)."""
    return dataclasses.replace(s, running_index=kept_running_index(s))


def test_overdue_work_gives_a_reservation_now_on_the_fullest_node() -> None:
    nodes = [node("a", 8, free=()), node("b", 8, free=()), node("c", 8, free=(7,))]
    held = [
        running("late_a", {"a": (0, 1, 2, 3)}, started_s_ago=7_200, walltime_s=3_600),
        running("late_b", {"b": (0, 1, 2, 3, 4, 5)}, started_s_ago=7_200, walltime_s=3_600),
        running("rest_b", {"b": (6, 7)}, started_s_ago=60, walltime_s=3_600),
        running("rest_c", {"c": (0, 1, 2, 3, 4, 5, 6)}, started_s_ago=60, walltime_s=3_600),
    ]
    s = with_index(snap(nodes, [job("big", 4, walltime_s=600.0)], running=held))
    cycle = new_cycle(s)
    big = s.pending[0]
    found = reserve_now(cycle, cycle.cap.models_for(big), need_of(big), 1, None)
    assert found is not None
    key, chosen = found
    assert key == "h800" and [name for _, name, _, _ in chosen] == ["a"]  # 4 free, not 6
    d = schedule(s)
    assert [(r.job_id, r.start_at, r.nodes) for r in d.reservations] == [("big", T0, ("a",))]
    assert d == schedule(dataclasses.replace(s, running_index=None))


@settings(max_examples=300, deadline=None)
@given(snapshots(RESERVING))
def test_reserve_now_is_what_the_projection_finds(s: Snapshot) -> None:
    s = with_index(s)
    for pending in s.pending:
        cycle = new_cycle(s)  # nothing started yet: each job reserved on its own
        keys, need = cycle.cap.models_for(pending), need_of(pending)
        outside = cycle.cap.outside(pending)
        found = reserve_now(cycle, keys, need, pending.nodes, outside)
        event("reserved now" if found is not None else "projected")
        if found is None:
            continue
        projection = Projection(cycle, keys, need, outside)
        assert not projection.enough(pending.nodes)
        assert projection.release_until(pending.nodes) == cycle.now_s
        chosen = projection.best(pending.nodes)
        key, ranked = found
        assert [name for _, name, _, _ in ranked] == chosen
        assert key == projection.key[chosen[0]]
        for gpus, name, cpus, mem in ranked:
            assert [gpus, cpus, mem] == projection.free[name]


@settings(max_examples=200, deadline=None)
@given(snapshots(RESERVING))
def test_reservations_with_the_overdue_shortcut_are_unchanged(s: Snapshot) -> None:
    kept = with_index(s)
    assert schedule(kept) == schedule(s)
