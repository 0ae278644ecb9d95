"""EASY backfill, the strict and greedy orders, and the baselines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from petaport.domain.jobs import PendingReason
from petaport.scheduler import PolicyConfig, Reservation, config_for

from .builders import T0, job, node, run, running, snap

HOUR = 3600.0
# n1: 6 of 8 GPUs held until T0 + 1 h (walltime), 2 free now
HELD = [running("r", {"n1": (2, 3, 4, 5, 6, 7)}, started_s_ago=0, walltime_s=HOUR)]
N1 = node("n1", free=(0, 1))


@pytest.mark.parametrize(
    ("small_walltime", "reason"),
    [
        (HOUR / 2, None),  # ends before the big job's reservation: backfilled
        (HOUR, None),  # ends exactly then
        (2 * HOUR, PendingReason.PRIORITY),  # would delay it
        (None, PendingReason.PRIORITY),  # unknown end: would delay it
    ],
)
def test_easy_backfill_lets_small_jobs_run_only_if_they_cannot_delay_the_top_job(
    small_walltime: float | None, reason: PendingReason | None
) -> None:
    jobs = [job("big", 8, age_s=100), job("small", 2, walltime_s=small_walltime)]
    starts, d = run(snap([N1], jobs, running=HELD))
    assert d.reservations == (Reservation("big", T0 + timedelta(hours=1), ("n1",)),)
    assert d.waits.get("small") == reason and ("small" in starts) == (reason is None)
    assert d.waits["big"] == PendingReason.RESOURCES


def test_a_long_job_may_use_nodes_the_reservation_does_not_need() -> None:
    jobs = [job("big", 8, age_s=100), job("long", 2)]
    starts, _ = run(snap([N1, node("n2", free=(0, 1))], jobs, running=HELD))
    assert [a.node for a in starts["long"]] == ["n2"]


def test_a_long_job_may_use_the_slack_of_a_reserved_node() -> None:
    jobs = [job("six", 6, age_s=100), job("long", 2, age_s=50), job("again", 2)]
    starts, d = run(snap([N1], jobs, running=HELD))
    assert "long" in starts  # at T0 + 1 h n1 has 8 free: 6 for "six", 2 to spare
    assert d.waits["again"] == PendingReason.RESOURCES  # nothing free any more


def test_without_known_ends_the_queue_is_served_greedily_as_before() -> None:
    held = [running("r", {"n1": (2, 3, 4, 5, 6, 7)})]  # no walltime, no prediction
    jobs = [job("big", 8, age_s=100), job("long", 2)]
    starts, d = run(snap([N1], jobs, running=held))
    assert "long" in starts and not d.reservations


def test_fifo_stops_at_the_first_blocked_job() -> None:
    jobs = [job("big", 8, age_s=100), job("short", 2, walltime_s=60)]
    starts, d = run(snap([N1], jobs, running=HELD, config=config_for("fifo")))
    assert not starts
    assert d.waits == {"big": PendingReason.RESOURCES, "short": PendingReason.PRIORITY}


def test_fifo_backfill_trusts_walltimes_only_and_the_default_policy_predictions() -> None:
    jobs = [job("big", 8, age_s=100), job("small", 2, walltime_s=4 * HOUR, predicted_s=600)]
    starts, _ = run(snap([N1], jobs, running=HELD, config=config_for("fifo_backfill")))
    assert "small" not in starts
    starts, _ = run(snap([N1], jobs, running=HELD))
    assert "small" in starts


def test_predicted_ends_of_running_jobs_set_the_reservation_in_the_default_policy() -> None:
    held = [
        running("r", {"n1": (2, 3, 4, 5, 6, 7)}, started_s_ago=0, walltime_s=10 * HOUR,
                ends_in_s=HOUR)
    ]  # fmt: skip
    jobs = [job("big", 8, age_s=100)]
    _, d = run(snap([N1], jobs, running=held))
    assert d.reservations[0].start_at == T0 + timedelta(hours=1)
    _, d = run(snap([N1], jobs, running=held, config=config_for("fifo_backfill")))
    assert d.reservations[0].start_at == T0 + timedelta(hours=10)


def test_jobs_started_earlier_in_the_cycle_count_for_the_reservation() -> None:
    jobs = [job("first", 2, priority=1, walltime_s=2 * HOUR), job("big", 8, age_s=100)]
    _, d = run(snap([N1], jobs, running=HELD))
    assert d.reservations[0].start_at == T0 + timedelta(hours=2)


def test_sjf_oracle_runs_the_shortest_true_duration_first_and_fills_greedily() -> None:
    jobs = [
        job("long", 1, age_s=30, oracle_s=900),
        job("short", 1, age_s=10, oracle_s=60),
        job("wide", 4, age_s=20, oracle_s=1),
    ]
    starts, d = run(snap([node(free=(0, 1))], jobs, config=config_for("sjf_oracle")))
    assert list(starts) == ["short", "long"] and d.waits == {"wide": PendingReason.RESOURCES}


def test_the_default_policy_runs_shorter_predicted_work_first() -> None:
    jobs = [job("long", 1, age_s=30, predicted_s=36_000), job("short", 1, predicted_s=60)]
    starts, _ = run(snap([node(free=(0,))], jobs))
    assert list(starts) == ["short"]
    starts, _ = run(snap([node(free=(0,))], jobs, config=PolicyConfig(weight_size=0)))
    assert list(starts) == ["long"]
