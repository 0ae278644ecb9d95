"""Preemption: borrowed and preemptible work makes room, minimal victims, newest first."""

from __future__ import annotations

import pytest

from petaport.domain.jobs import PendingReason, QosTier
from petaport.scheduler import PREEMPT_RECLAIM, PREEMPT_TIER, PolicyConfig, config_for

from .builders import job, node, quota, run, running, snap

BORROWED = [  # prj_b borrows all of n1: r1 oldest ... r3 newest
    running("r1", {"n1": (0, 1, 2, 3)}, started_s_ago=300, borrowing=True),
    running("r2", {"n1": (4, 5)}, started_s_ago=200, borrowing=True),
    running("r3", {"n1": (6, 7)}, started_s_ago=100, borrowing=True),
]
FULL = node("n1", free=())
GUARANTEE = [quota("prj_a", 8), quota("prj_b", 0, org="org_b")]


@pytest.mark.parametrize(
    ("asked", "victims"),
    [
        (2, ["r3"]),  # the newest alone is enough
        (4, ["r2", "r3"]),  # newest first: r3, then r2
        (6, ["r1", "r3"]),  # r3, r2, r1 taken, then r2 found superfluous (oldest first pruning)
        (8, ["r1", "r2", "r3"]),
    ],
)
def test_reclaiming_a_guarantee_preempts_minimal_borrowed_work_newest_first(
    asked: int, victims: list[str]
) -> None:
    _, d = run(snap([FULL], [job("owner", asked)], running=BORROWED, quotas=GUARANTEE))
    assert [p.job_id for p in d.preemptions] == victims
    assert {p.reason for p in d.preemptions} == {PREEMPT_RECLAIM}
    assert {p.for_job for p in d.preemptions} == {"owner"}
    assert d.waits == {"owner": PendingReason.RESOURCES} and not d.starts


def test_work_beyond_its_own_guarantee_cannot_reclaim() -> None:
    quotas = [quota("prj_a", 1), quota("prj_b", 0, org="org_b")]
    _, d = run(snap([FULL], [job("owner", 2)], running=BORROWED, quotas=quotas))
    assert not d.preemptions and d.waits == {"owner": PendingReason.RESOURCES}


def test_work_within_its_guarantee_is_never_preempted() -> None:
    held = [running("r", {"n1": tuple(range(8))}, qos=QosTier.ON_DEMAND, borrowing=False)]
    _, d = run(snap([FULL], [job("vip", 8, qos=QosTier.RESERVED)], running=held,
                    quotas=GUARANTEE))  # fmt: skip
    assert not d.preemptions


@pytest.mark.parametrize(
    ("tier", "preempts"),
    [(QosTier.RESERVED, True), (QosTier.ON_DEMAND, True), (QosTier.PREEMPTIBLE, False)],
)
def test_preemptible_work_makes_room_for_the_other_tiers(tier: QosTier, preempts: bool) -> None:
    held = [running("cheap", {"n1": tuple(range(8))}, qos=QosTier.PREEMPTIBLE)]
    _, d = run(snap([FULL], [job("j", 4, qos=tier)], running=held))
    assert [(p.job_id, p.reason) for p in d.preemptions] == (
        [("cheap", PREEMPT_TIER)] if preempts else []
    )


def test_freed_capacity_is_held_for_the_preemptor_during_the_cycle() -> None:
    held = [running("r", {"n1": (2, 3, 4, 5, 6, 7)}, borrowing=True)]
    jobs = [job("owner", 8, age_s=10), job("other", 2, org="org_c", project="prj_c")]
    _, d = run(snap([node("n1", free=(0, 1))], jobs, running=held, quotas=GUARANTEE))
    assert [p.job_id for p in d.preemptions] == ["r"]
    assert not d.starts and d.waits["other"] == PendingReason.RESOURCES


def test_a_gang_reclaims_on_nodes_of_one_model() -> None:
    held = [
        running("x", {"a1": tuple(range(8))}, borrowing=True, started_s_ago=10),
        running("y", {"a2": tuple(range(8))}, borrowing=True, started_s_ago=20),
        running("z", {"b1": tuple(range(8))}, borrowing=True, started_s_ago=5),
    ]
    nodes = [node("a1", free=()), node("a2", free=()), node("b1", free=(), model="H100")]
    _, d = run(snap(nodes, [job("gang", 8, 2)], running=held, quotas=[quota("prj_a", 16)]))
    assert sorted(p.job_id for p in d.preemptions) == ["x", "y"]


def test_a_victim_on_two_nodes_frees_both() -> None:
    held = [running("wide", {"a1": tuple(range(8)), "a2": tuple(range(8))}, borrowing=True)]
    nodes = [node("a1", free=()), node("a2", free=())]
    _, d = run(snap(nodes, [job("gang", 8, 2)], running=held, quotas=[quota("prj_a", 16)]))
    assert [p.job_id for p in d.preemptions] == ["wide"]


def test_each_victim_is_preempted_once() -> None:
    held = [running("cheap", {"n1": tuple(range(8))}, qos=QosTier.PREEMPTIBLE)]
    jobs = [job("a", 4, age_s=2), job("b", 4, age_s=1), job("c", 4)]
    _, d = run(snap([FULL], jobs, running=held))
    assert [(p.job_id, p.for_job) for p in d.preemptions] == [("cheap", "a")]


@pytest.mark.parametrize(
    "config",
    [PolicyConfig(preemption=False), config_for("fifo"), config_for("fifo_backfill"),
     config_for("sjf_oracle")],
)  # fmt: skip
def test_preemption_can_be_off_and_is_off_in_the_baselines(config: PolicyConfig) -> None:
    _, d = run(snap([FULL], [job("owner", 2)], running=BORROWED, quotas=GUARANTEE, config=config))
    assert not d.preemptions


def test_a_preemptor_starts_on_the_freed_gpus_next_cycle() -> None:
    quotas = GUARANTEE
    jobs = [job("owner", 4, age_s=5), job("late", 2, org="org_b", project="prj_b", age_s=50)]
    _, first = run(snap([FULL], jobs, running=BORROWED, quotas=quotas))
    gone = {p.job_id for p in first.preemptions}
    assert gone == {"r2", "r3"}
    still = [r for r in BORROWED if r.id not in gone]
    after = node("n1", free=(4, 5, 6, 7))
    starts, second = run(snap([after], jobs, running=still, quotas=quotas))
    assert list(starts) == ["owner"] and not second.preemptions
