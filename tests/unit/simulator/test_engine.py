"""The event loop around the production core: hand-computed replays, exact pruning,
preemption, fractional GPUs, fragmentation."""

from __future__ import annotations

import pytest

from petaport.simulator import metrics
from petaport.simulator.cluster import homogeneous
from petaport.simulator.engine import Replay, replay
from petaport.simulator.model import ClusterSpec, NodePool, TraceJob, make_trace
from petaport.simulator.policies import POLICY_NAMES, SimPolicy
from petaport.simulator.traces import SyntheticSpec, load_philly, synthetic_trace
from tests.unit.simulator.builders import ORIGIN, PHILLY, one_node, trace

EXACT = SimPolicy("fifo", walltime_round="none")


def times(result: object, policy: str) -> dict[str, tuple[float, float]]:
    assert hasattr(result, "outcomes")
    return {o.id: (o.start_s, o.end_s) for o in result.outcomes}


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_three_jobs_on_one_node_have_the_hand_computed_jcts(policy: str) -> None:
    # 8 GPUs busy until 100; then the two 4-GPU jobs run side by side.
    jobs = trace((0, 100, 8, "a"), (10, 50, 4, "b"), (20, 30, 4, "a"))
    result = replay(jobs, one_node(), SimPolicy(policy, walltime_round="none"))
    assert {o.id: o.jct_s for o in result.outcomes} == {"j0": 100, "j1": 140, "j2": 110}
    assert {o.id: o.wait_s for o in result.outcomes} == {"j0": 0, "j1": 90, "j2": 80}


# A holds 6 of 8 GPUs until 100; B wants 4 (blocked); C wants 2 for 50 s.
BLOCKED_HEAD = ((0, 100, 6, "a"), (1, 10, 4, "b"), (2, 50, 2, "c"))


@pytest.mark.parametrize(
    ("policy", "c_start"),
    [("fifo", 100), ("fifo_backfill", 2), ("sjf_oracle", 2), ("default", 2)],
)
def test_only_strict_fifo_keeps_a_short_job_behind_the_blocked_head(
    policy: str, c_start: float
) -> None:
    result = replay(trace(*BLOCKED_HEAD), one_node(), SimPolicy(policy, walltime_round="none"))
    starts = times(result, policy)
    assert starts["j1"] == (100, 110)
    assert starts["j2"][0] == c_start


def test_backfill_never_delays_the_reserved_job_but_greedy_does() -> None:
    # B needs the whole node at 100; C (2 GPUs, 500 s) would still run then.
    jobs = trace((0, 100, 6, "a"), (1, 10, 8, "b"), (2, 500, 2, "c"))
    easy = times(replay(jobs, one_node(), SimPolicy("fifo_backfill", walltime_round="none")), "")
    greedy = times(replay(jobs, one_node(), SimPolicy("sjf_oracle", walltime_round="none")), "")
    assert easy["j1"] == (100, 110) and easy["j2"] == (110, 610)
    assert greedy["j2"] == (2, 502) and greedy["j1"] == (502, 512)


def test_a_preempted_job_is_requeued_and_its_work_counted_lost() -> None:
    jobs = make_trace(
        "p",
        ORIGIN,
        [TraceJob("a", 0, 1000, 8, "x", qos="preemptible"), TraceJob("b", 100, 50, 8, "y")],
    )
    result = replay(jobs, one_node(), SimPolicy("default", walltime_round="none"))
    by_id = {o.id: o for o in result.outcomes}
    assert (by_id["b"].start_s, by_id["b"].end_s) == (100, 150)
    assert (by_id["a"].preemptions, by_id["a"].lost_gpu_s, by_id["a"].end_s) == (1, 800, 1150)
    assert metrics.summary(result, {})["gpu_hours_lost"] == pytest.approx(800 / 3600)


def test_fractional_jobs_share_one_gpu() -> None:
    cluster = ClusterSpec("t4", (NodePool("t4", "T4", 1, 8, 16384, 1),))
    jobs = make_trace(
        "f",
        ORIGIN,
        [
            TraceJob("a", 0, 100, 1, "x", gpu_milli=500, gpu_models=("T4",)),
            TraceJob("b", 10, 100, 1, "x", gpu_milli=500),
            TraceJob("c", 20, 10, 1, "x", gpu_milli=600),
        ],
    )
    result = replay(jobs, cluster, SimPolicy("default", walltime_round="none"))
    assert times(result, "") == {"a": (0, 100), "b": (10, 110), "c": (110, 120)}
    assert result.busy_gpu_s == pytest.approx(0.5 * 100 + 0.5 * 100 + 0.6 * 10)


def test_free_gpus_no_pending_job_can_use_count_as_fragmented() -> None:
    # From 1 to 2 s only B (4 GPUs) waits while 2 GPUs are free; C (2 GPUs) could use them.
    result = replay(trace(*BLOCKED_HEAD), one_node(), EXACT)
    assert result.fragmented_gpu_s == 2.0


def test_a_job_no_pool_can_hold_is_reported_not_replayed() -> None:
    result = replay(trace((0, 10, 16, "a"), (0, 10, 1, "a")), one_node(), EXACT)
    assert (result.unschedulable, len(result.outcomes)) == (1, 1)


def test_multi_node_gangs_start_whole() -> None:
    result = replay(trace((0, 10, 4, "a"), (1, 10, 16, "b")), homogeneous("two", 2, 8), EXACT)
    assert times(result, "")["j1"] == (10, 20)


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_pruned_cycles_decide_exactly_as_the_whole_queue(policy: str) -> None:
    """Selection shows the core a pruned queue; the replay must not change."""
    philly = load_philly(PHILLY, max_rows=300)
    cluster = homogeneous("small", 2, 8)
    pruned = Replay(philly, cluster, SimPolicy(policy)).run()
    whole = Replay(philly, cluster, SimPolicy(policy), exact_reference=True).run()
    assert pruned.outcomes == whole.outcomes
    assert pruned.core_calls <= whole.core_calls


@pytest.mark.parametrize("policy", ["default", "fifo_backfill"])
def test_pruning_is_exact_with_preemptible_work_and_tiers(policy: str) -> None:
    jobs = synthetic_trace(SyntheticSpec(jobs=250, seed=3, gpus=16, load=1.2, tenants=4))
    mixed = make_trace(
        "mixed",
        jobs.start,
        [
            TraceJob(
                j.id,
                j.submit_s,
                j.duration_s,
                j.gpus,
                j.tenant,
                walltime_s=j.walltime_s,
                qos=("preemptible", "on-demand", "reserved")[i % 3],
            )
            for i, j in enumerate(jobs.jobs)
        ],
    )
    cluster = homogeneous("sixteen", 2, 8)
    pruned = Replay(mixed, cluster, SimPolicy(policy)).run()
    whole = Replay(mixed, cluster, SimPolicy(policy), exact_reference=True).run()
    assert pruned.outcomes == whole.outcomes


def test_default_without_backfill_stops_the_queue_in_its_own_order() -> None:
    jobs = trace(*BLOCKED_HEAD)
    policy = SimPolicy("default", walltime_round="none", core={"backfill": False})
    pruned = replay(jobs, one_node(), policy)
    assert times(pruned, "")["j2"] == (100, 150)
    assert pruned.outcomes == Replay(jobs, one_node(), policy, exact_reference=True).run().outcomes
