"""The default policy's queue order: predicted size on a log scale, QoS strict, age bounded."""

from __future__ import annotations

from petaport.domain.jobs import QosTier
from petaport.scheduler.config import PolicyConfig
from petaport.scheduler.cycle import new_cycle
from petaport.scheduler.ordering import keys
from petaport.scheduler.snapshot import PendingJob

from .builders import job, node, run, snap

DAY = 86_400.0


def order(jobs: list[PendingJob], config: PolicyConfig | None = None) -> list[str]:
    cycle = new_cycle(snap([node(free=(0,))], jobs, config=config))
    return [entry[4] for entry in sorted(keys(cycle, jobs))]


def test_shorter_predicted_gpu_time_goes_first_at_every_scale() -> None:
    """A ratio ref / (ref + g) cannot tell 10 s from 100 s; the log scale can."""
    for short, long in ((10.0, 100.0), (3_600.0, 36_000.0), (1e5, 1e6)):
        jobs = [job("long", 1, predicted_s=long, age_s=600), job("short", 1, predicted_s=short)]
        assert order(jobs) == ["short", "long"], (short, long)


def test_size_counts_gpu_time_not_duration() -> None:
    jobs = [job("wide", 8, predicted_s=1_000.0), job("narrow", 1, predicted_s=4_000.0)]
    assert order(jobs) == ["narrow", "wide"]


def test_a_day_of_age_does_not_outweigh_a_tenfold_in_size_at_any_scale() -> None:
    for short in (10.0, 1_000.0, 100_000.0):
        jobs = [job("old", 1, predicted_s=10 * short, age_s=DAY), job("new", 1, predicted_s=short)]
        assert order(jobs) == ["new", "old"], short


def test_age_breaks_ties_between_jobs_of_one_size() -> None:
    jobs = [job("new", 1, predicted_s=500.0, age_s=60), job("old", 1, predicted_s=500.0, age_s=90)]
    assert order(jobs) == ["old", "new"]


def test_qos_tiers_stay_strict_whatever_the_size_and_age() -> None:
    jobs = [
        job("cheap", 1, qos=QosTier.PREEMPTIBLE, predicted_s=1.0, age_s=30 * DAY),
        job("paid", 1, predicted_s=1e9),
    ]
    assert order(jobs) == ["paid", "cheap"]


def test_the_size_weight_can_be_turned_off() -> None:
    jobs = [job("long", 1, predicted_s=1e6, age_s=60), job("short", 1, predicted_s=10.0)]
    assert order(jobs, PolicyConfig(weight_size=0)) == ["long", "short"]


def test_the_shortest_predicted_job_takes_the_one_free_gpu() -> None:
    jobs = [job("long", 1, predicted_s=50_000.0, age_s=3_600), job("short", 1, predicted_s=50.0)]
    starts, _ = run(snap([node(free=(0,))], jobs))
    assert list(starts) == ["short"]


def test_order_is_independent_of_the_snapshot_order() -> None:
    jobs = [job(f"j{i}", 1 + i % 2, predicted_s=100.0 * (i % 3 + 1), age_s=i) for i in range(9)]
    assert order(jobs) == order(list(reversed(jobs)))
