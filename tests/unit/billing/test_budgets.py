"""Budgets: room, reservations, the admission gate, alerts, exhaustion and stops."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from petaport.billing.budgets import (
    AdmissionRequest,
    BudgetPeriod,
    BudgetUnit,
    Projection,
    RunningCost,
    admit,
    budget_left,
    crossed,
    exhausted_projects,
    observe,
    period_start,
    spent,
    stops_due,
)

from .builders import HK_FEB, T0, budget_state, charges, usage


def req(job: str, hkd: str, project: str = "prj_a", gpu_h: str = "0") -> AdmissionRequest:
    return AdmissionRequest(job, "org_a", project, Projection(Decimal(hkd), Decimal(gpu_h) * 3600))


def test_concurrent_starts_overspend_by_less_than_one_job() -> None:
    state = budget_state("100")
    decision = admit([state], [req(f"j{i}", "30") for i in range(10)])
    assert decision.admitted == ("j0", "j1", "j2", "j3")  # 0, 30, 60, 90 < 100: then 120
    assert decision.refused == tuple(f"j{i}" for i in range(4, 10))
    assert decision.states[0].reserved == Decimal(120)


def test_every_covering_budget_must_have_room() -> None:
    org = budget_state("1000", project=None)
    project_b = budget_state("10", spent="10", project="prj_b")
    decision = admit([org, project_b], [req("a", "50"), req("b", "1", "prj_b")])
    assert (decision.admitted, decision.refused) == (("a",), ("b",))
    assert decision.states[0].reserved == Decimal(50)


def test_a_gpu_hour_budget_counts_gpu_seconds() -> None:
    state = budget_state("2", unit=BudgetUnit.GPU_HOURS)
    decision = admit(
        [state], [req("a", "999", gpu_h="1.5"), req("b", "1", gpu_h="1"), req("c", "1")]
    )
    assert decision.admitted == ("a", "b") and decision.refused == ("c",)
    assert budget_left(decision.states, "org_a", "prj_a")[0][1] == Decimal("-0.5")


def test_projects_without_room_are_exhausted_for_the_scheduler() -> None:
    states = [budget_state("10", reserved="10"), budget_state("5", project="prj_b")]
    pairs = [("org_a", "prj_a"), ("org_a", "prj_b"), ("org_b", "prj_c")]
    assert exhausted_projects(states, pairs) == {"prj_a"}
    assert exhausted_projects([budget_state("0", project=None)], pairs) == {"prj_a", "prj_b"}


def test_alerts_fire_once_per_threshold_crossed() -> None:
    s0, s1, s2 = (budget_state("100", spent=x) for x in ("10", "85", "100"))
    assert crossed(s0, s1) == (50, 80)
    assert crossed(s1, s2) == (100,)
    assert crossed(s2, s2) == ()


def test_running_jobs_stop_after_the_grace_period() -> None:
    state = observe(budget_state("10", spent="10", grace_s=600), T0)
    running = [RunningCost("j1", "org_a", "prj_a"), RunningCost("j2", "org_a", "prj_b")]
    assert stops_due([state], running, T0 + timedelta(seconds=599)) == ()
    assert stops_due([state], running, T0 + timedelta(seconds=600)) == ("j1",)
    topped_up = observe(budget_state("20", spent="10"), T0)
    assert topped_up.exhausted_since is None


def test_a_monthly_budget_counts_this_hong_kong_month_only() -> None:
    state = budget_state("100", period=BudgetPeriod.MONTHLY)
    cs = charges(usage(HK_FEB - timedelta(hours=1), 7200, gpus="1"))  # one hour in each month
    assert period_start(state.budget, HK_FEB) == HK_FEB
    assert spent(state.budget, cs, HK_FEB + timedelta(days=3)) == Decimal("25.50")
    lifetime = budget_state("100").budget
    assert spent(lifetime, cs, HK_FEB) == Decimal("51.00")
