"""Reasons every pending job gets, the budget gate, and the policy configuration."""

from __future__ import annotations

import pytest

from petaport.domain.jobs import PendingReason
from petaport.scheduler import Policy, PolicyConfig, config_for

from .builders import job, node, quota, run, running, snap


def test_every_reason_a_job_can_wait_for() -> None:
    nodes = [node("n1", free=(0,)), node("n2", free=())]
    jobs = [
        job("starts", 1, age_s=100),
        job("broke", 1, budget_exhausted=True),
        job("broke2", 1, project="prj_broke"),
        job("over", 1, project="prj_q"),
        job("model", 1, model="MI300X"),
        job("huge", 16),
        job("waits", 4, age_s=50),
    ]
    _, d = run(snap(nodes, jobs, quotas=[quota("prj_q", 0, borrow=0)],
                    exhausted=frozenset({"prj_broke"})))  # fmt: skip
    assert [s.job_id for s in d.starts] == ["starts"]
    assert d.waits == {
        "broke": PendingReason.BUDGET_EXHAUSTED,
        "broke2": PendingReason.BUDGET_EXHAUSTED,
        "over": PendingReason.QUOTA_EXCEEDED,
        "model": PendingReason.GPU_MODEL_UNAVAILABLE,
        "huge": PendingReason.PARTITION_CONFIG,
        "waits": PendingReason.RESOURCES,
    }


def test_a_budget_gate_beats_every_other_reason() -> None:
    _, d = run(snap([node()], [job("j", 99, model="MI300X")], exhausted=frozenset({"prj_a"})))
    assert d.waits == {"j": PendingReason.BUDGET_EXHAUSTED}


def test_jobs_behind_a_stop_wait_for_priority_and_quota_still_says_no() -> None:
    jobs = [job("big", 8, age_s=9), job("small", 1, age_s=5), job("over", 1, project="prj_q")]
    _, d = run(snap([node(free=(0,))], jobs, quotas=[quota("prj_q", 0, borrow=0)],
                    config=config_for("fifo")))  # fmt: skip
    assert d.waits == {
        "big": PendingReason.RESOURCES,
        "small": PendingReason.PRIORITY,
        "over": PendingReason.QUOTA_EXCEEDED,
    }


def test_a_job_started_this_cycle_can_push_its_project_over_quota_for_the_rest() -> None:
    jobs = [job("first", 4, age_s=9), job("second", 8, age_s=5)]
    held = [running("r", {"n2": (0, 1, 2, 3)})]
    nodes = [node("n1"), node("n2", free=(4, 5, 6, 7))]
    _, d = run(snap(nodes, jobs, running=held, quotas=[quota("prj_a", 8, borrow=0)]))
    assert [s.job_id for s in d.starts] == ["first"]
    assert d.waits == {"second": PendingReason.QUOTA_EXCEEDED}


@pytest.mark.parametrize(
    ("name", "blocked", "preempts", "predicts"),
    [
        ("default", "reserve", True, True),
        ("fifo", "stop", False, False),
        ("fifo_backfill", "reserve", False, False),
        ("sjf_oracle", "skip", False, False),
    ],
)
def test_named_policies(name: str, blocked: str, preempts: bool, predicts: bool) -> None:
    config = config_for(name)
    assert config.policy is Policy(name)
    assert (config.blocked.value, config.preempts, config.predicts) == (blocked, preempts, predicts)


def test_default_policy_without_backfill_keeps_strict_order() -> None:
    assert PolicyConfig(backfill=False).blocked.value == "stop"


@pytest.mark.parametrize(
    "bad",
    [
        {"max_age_s": 0.0},
        {"size_max_gpu_s": 0.0},
        {"half_life_s": -1.0},
        {"max_preemptors": -1},
        {"weight_age": -1.0},
    ],
)
def test_policy_config_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PolicyConfig(**bad)  # type: ignore[arg-type]


def test_an_unknown_policy_name_is_refused() -> None:
    with pytest.raises(ValueError):
        config_for("lottery")
