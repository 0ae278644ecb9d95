"""Fair share: decayed usage against entitlement orders the queue (Slurm's classic factor)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from petaport.scheduler import PolicyConfig, Usage
from petaport.scheduler.fairshare import add_usage, decay, factors

from .builders import T0, job, node, quota, run, snap, usage

DAY = 86_400.0


@pytest.mark.parametrize(
    ("elapsed", "half_life", "left"),
    [(0, DAY, 100.0), (DAY, DAY, 50.0), (2 * DAY, DAY, 25.0), (DAY, 0, 0.0), (-5, DAY, 100.0)],
)
def test_decay(elapsed: float, half_life: float, left: float) -> None:
    assert decay(100.0, elapsed, half_life) == pytest.approx(left)


def test_add_usage_decays_the_old_total_then_adds() -> None:
    assert add_usage(100.0, T0, 10.0, T0 + timedelta(days=7), 7 * DAY) == pytest.approx(60.0)


def test_factor_is_two_to_the_minus_usage_share_over_entitlement_share() -> None:
    used = (usage("prj_a", 300.0), usage("prj_b", 100.0))
    f = factors(used, (), (), T0, DAY)
    assert f["prj_a"] == pytest.approx(2**-1.5) and f["prj_b"] == pytest.approx(2**-0.5)


def test_entitlements_come_from_quotas_or_shares() -> None:
    used = (usage("prj_a", 300.0), usage("prj_b", 100.0))
    by_quota = factors(used, (quota("prj_a", 30, org="org_a"), quota("prj_b", 10, org="org_b")),
                       (), T0, DAY)  # fmt: skip
    assert by_quota["prj_a"] == pytest.approx(0.5) == by_quota["prj_b"]  # each used its share
    by_share = factors(used, (), (("org_a", 3.0), ("org_b", 1.0)), T0, DAY)
    assert by_share == pytest.approx(by_quota)


def test_no_usage_means_no_factors_and_old_usage_fades() -> None:
    assert factors((), (), (), T0, DAY) == {}
    old = (Usage("org_a", "prj_a", 1024e6, T0 - timedelta(days=70)), usage("prj_b", 1e6))
    f = factors(old, (), (), T0, 7 * DAY)  # ten half-lives: 1024e6 GPU-s weigh as 1e6
    assert f["prj_a"] == pytest.approx(f["prj_b"]) == pytest.approx(0.5)


def test_the_light_user_goes_first_even_when_younger() -> None:
    jobs = [job("heavy", 1, project="prj_a", age_s=600), job("light", 1, project="prj_b")]
    used = [usage("prj_a", 1e6), usage("prj_b", 1e3)]
    _, d = run(snap([node(free=(0,))], jobs, usage=used))
    assert [s.job_id for s in d.starts] == ["light"]


def test_age_wins_over_fair_share_in_the_end() -> None:
    jobs = [job("heavy", 1, project="prj_a", age_s=7 * DAY), job("light", 1, project="prj_b")]
    used = [usage("prj_a", 1e6), usage("prj_b", 1e3)]
    config = PolicyConfig(weight_age=2_000.0)
    _, d = run(snap([node(free=(0,))], jobs, usage=used, config=config))
    assert [s.job_id for s in d.starts] == ["heavy"]


def test_qos_tiers_stay_strict_with_default_weights() -> None:
    from petaport.domain.jobs import QosTier

    jobs = [
        job("cheap", 1, project="prj_b", qos=QosTier.PREEMPTIBLE, age_s=30 * DAY),
        job("paid", 1, project="prj_a"),
    ]
    _, d = run(snap([node(free=(0,))], jobs, usage=[usage("prj_a", 1e9), usage("prj_b", 1)]))
    assert [s.job_id for s in d.starts] == ["paid"]
