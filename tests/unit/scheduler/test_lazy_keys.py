"""Keys made only when the walk reaches a group: every group's bound is below every key of
the group, and keying late (or never) changes no decision."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petaport.domain.jobs import QosTier
from petaport.scheduler import Decisions, PendingJob, PolicyConfig, Snapshot, ordering, schedule
from petaport.scheduler import policy as policy_module
from petaport.scheduler.cycle import new_cycle
from petaport.scheduler.ordering import bounder, keys
from petaport.scheduler.snapshot import KEY_NOW, SIZE_CLASSES, order_class

from .builders import job, node, quota, snap, usage
from .test_properties import snapshots

PROJECTS = ("prj_a", "prj_b", "prj_c")
ESTIMATES = st.one_of(
    st.none(),
    st.floats(0, 1e9),
    st.sampled_from((0.0, -1e-4, 1.0, math.e - 1, 3e6, 1e12, math.inf)),  # -1e-4: log < 0
)


SANE = st.one_of(st.none(), st.floats(0, 1e6), st.sampled_from((0.0, -1e-4, math.e - 1)))


@st.composite
def a_job(draw: st.DrawFn, i: int, estimates: st.SearchStrategy[float | None]) -> PendingJob:
    project = draw(st.sampled_from(PROJECTS))
    return job(
        f"j{i:03d}", draw(st.sampled_from((0, 1, 2, 8))), draw(st.sampled_from((1, 1, 2))),
        org=project.replace("prj", "org"), project=project,
        priority=draw(st.sampled_from((0, 0, 0, 1, -2))), age_s=draw(st.floats(-60, 30 * 86_400)),
        qos=draw(st.sampled_from(list(QosTier))), milli=draw(st.sampled_from((0, 0, 250))),
        walltime_s=draw(estimates), predicted_s=draw(estimates),
    )  # fmt: skip


@st.composite
def cycles(draw: st.DrawFn, estimates: st.SearchStrategy[float | None] = ESTIMATES) -> Snapshot:
    """One node, a queue of up to 30 jobs, quotas, usage and weights; ``estimates`` for
    walltimes and predictions (extreme ones only where no reservation is placed in time)."""
    jobs = [draw(a_job(i, estimates)) for i in range(draw(st.integers(1, 30)))]
    quotas = [
        quota(p, draw(st.integers(0, 16)), org=p.replace("prj", "org"))
        for p in draw(st.lists(st.sampled_from(PROJECTS), max_size=3, unique=True))
    ]
    used = [usage(p, draw(st.floats(0, 1e7)), org=p.replace("prj", "org")) for p in PROJECTS]
    config = PolicyConfig(
        weight_qos=draw(st.sampled_from((100_000.0, 1.0, 0.0))),
        weight_fairshare=draw(st.sampled_from((1_000.0, 1e6, 0.0))),
        weight_size=draw(st.sampled_from((10_000.0, 3.0, 0.0))),
        weight_age=draw(st.sampled_from((1_000.0, 1e5, 0.0))),
    )
    return snap([node(free=(0, 1))], jobs, quotas=quotas, usage=used, config=config)


@settings(max_examples=300, deadline=None)
@given(cycles())
def test_a_groups_bound_is_below_every_key_of_the_group(s: Snapshot) -> None:
    cycle = new_cycle(s)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ordering, "LAZY_FROM", 0)  # bounds for a short queue too
        bound = bounder(cycle)
    assert bound is not None
    entries = keys(cycle, s.pending)  # fills cycle.headroom as the gate does
    for entry in entries:
        j = entry[6]
        tier = cycle.book.active and j.demand_milli > cycle.headroom[j.project_id]
        group = j.order_class + tier
        b = bound(group)
        if group >= KEY_NOW:
            assert b is None
        else:
            assert b is not None and b < entry, (b, entry)


@pytest.mark.parametrize(
    ("priority", "gpu_s", "want"),
    [
        (1, 10.0, KEY_NOW),
        (0, None, 2 * 3 * SIZE_CLASSES),
        (0, -0.5, KEY_NOW),
        (0, math.nan, KEY_NOW),
        (0, 0.0, 0),
        (0, math.e - 1, 2 * 3 * 1),
        (0, 1e12, 2 * 3 * (SIZE_CLASSES - 1)),
        (0, math.inf, 2 * 3 * (SIZE_CLASSES - 1)),
    ],
)
def test_order_class(priority: int, gpu_s: float | None, want: int) -> None:
    logged = None if gpu_s is None or gpu_s <= -1 else math.log1p(gpu_s)
    assert order_class(priority, gpu_s, logged, 0) == want


def _lazy_and_eager(s: Snapshot) -> tuple[Decisions, Decisions]:
    """The decisions with keys made late (even for a short queue) and all made at once."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ordering, "LAZY_FROM", 0)
        lazy = schedule(s)
        m.setattr(policy_module, "bounder", lambda cycle: None)
        eager = schedule(s)
    return lazy, eager


def test_a_short_queue_is_keyed_at_once() -> None:
    s = snap([node(free=(0,))], [job("a")])
    assert bounder(new_cycle(s)) is None
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ordering, "LAZY_FROM", 1)
        assert bounder(new_cycle(s)) is not None


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_keying_late_changes_no_decision(s: Snapshot) -> None:
    lazy, eager = _lazy_and_eager(s)
    assert lazy == eager


@settings(max_examples=150, deadline=None)
@given(cycles(SANE))
def test_keying_late_changes_no_decision_under_any_weights(s: Snapshot) -> None:
    lazy, eager = _lazy_and_eager(s)
    assert lazy == eager
