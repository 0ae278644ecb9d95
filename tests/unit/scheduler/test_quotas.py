"""Quotas with borrowing and lending (Kueue's cohort model)."""

from __future__ import annotations

import pytest

from petaport.domain.jobs import PendingReason
from petaport.scheduler import Quota

from .builders import job, node, quota, run, running, snap


@pytest.mark.parametrize(
    ("used", "asked", "outcome", "borrowing"),
    [
        (0, 4, "start", False),  # within the guarantee
        (0, 6, "start", True),  # 4 nominal + 2 borrowed
        (0, 7, PendingReason.QUOTA_EXCEEDED, None),  # beyond nominal + borrowing limit
        (4, 2, "start", True),
        (4, 3, PendingReason.QUOTA_EXCEEDED, None),
        (6, 1, PendingReason.QUOTA_EXCEEDED, None),
    ],
)
def test_nominal_plus_borrowing_limit(
    used: int, asked: int, outcome: object, borrowing: bool | None
) -> None:
    held = [running("r", {"n2": tuple(range(used))}, org="org_a", project="prj_a")] if used else []
    nodes = [node("n1"), node("n2", free=tuple(range(used, 8)))]
    _, d = run(snap(nodes, [job("j", asked)], running=held, quotas=[quota("prj_a", 4, borrow=2)]))
    if outcome == "start":
        assert [s.borrowing for s in d.starts] == [borrowing]
    else:
        assert d.waits == {"j": outcome}


def test_a_tenant_without_quota_borrows_when_others_have_guarantees() -> None:
    _, d = run(snap([node()], [job("j", 1, project="prj_z")], quotas=[quota("prj_a", 4)]))
    assert [s.borrowing for s in d.starts] == [True]
    _, d = run(snap([node()], [job("j", 1, project="prj_z")]))
    assert [s.borrowing for s in d.starts] == [False]  # no quotas at all: nothing to borrow


@pytest.mark.parametrize(
    ("lend", "asked", "starts"),
    [(None, 8, True), (0, 1, False), (4, 4, True), (4, 5, False)],
)
def test_lending_limit_keeps_idle_guarantee_for_its_owner(
    lend: float | None, asked: int, starts: bool
) -> None:
    quotas = [quota("prj_b", 8, org="org_b", lend=lend)]
    _, d = run(snap([node()], [job("j", asked)], quotas=quotas))
    assert bool(d.starts) is starts
    if not starts:
        assert d.waits == {"j": PendingReason.RESOURCES}  # capacity, not the job's own quota


def test_the_owner_itself_may_use_what_it_does_not_lend() -> None:
    quotas = [quota("prj_b", 8, org="org_b", lend=0)]
    _, d = run(snap([node()], [job("j", 8, org="org_b", project="prj_b")], quotas=quotas))
    assert d.starts and not d.starts[0].borrowing


def test_an_org_quota_covers_all_its_projects() -> None:
    jobs = [job("p1", 3, project="prj_1", age_s=2), job("p2", 3, project="prj_2", age_s=1)]
    _, d = run(snap([node()], jobs, quotas=[quota(None, 4, borrow=0)]))
    assert [s.job_id for s in d.starts] == ["p1"]
    assert d.waits == {"p2": PendingReason.QUOTA_EXCEEDED}


def test_a_per_model_quota_sends_the_job_to_another_allowed_model() -> None:
    nodes = [node("a", model="H100"), node("b", model="H800")]
    quotas = [quota("prj_a", 0, model="H100", borrow=0)]
    starts, _ = run(snap(nodes, [job("j", 2)], quotas=quotas))
    assert [a.node for a in starts["j"]] == ["b"]
    _, d = run(snap(nodes, [job("j", 2, model="H100")], quotas=quotas))
    assert d.waits == {"j": PendingReason.QUOTA_EXCEEDED}


def test_work_within_its_guarantee_goes_before_borrowing_work() -> None:
    jobs = [
        job("borrower", 1, org="org_b", project="prj_b", age_s=100),
        job("owner", 1, age_s=1),
    ]
    quotas = [quota("prj_a", 4), quota("prj_b", 0, org="org_b")]
    _, d = run(snap([node(free=(0,))], jobs, quotas=quotas))
    assert [s.job_id for s in d.starts] == ["owner"]
    assert d.waits == {"borrower": PendingReason.RESOURCES}


def test_this_cycles_starts_count_against_the_quota() -> None:
    jobs = [job(f"j{i}", 2, age_s=10 - i) for i in range(4)]
    _, d = run(snap([node()], jobs, quotas=[quota("prj_a", 2, borrow=2)]))
    assert [s.job_id for s in d.starts] == ["j0", "j1"]
    assert d.waits == {"j2": PendingReason.QUOTA_EXCEEDED, "j3": PendingReason.QUOTA_EXCEEDED}


def test_quota_fields_have_the_documented_order() -> None:
    q = Quota("org_a", "prj_a", "H100", 8, 2, 1)
    assert (q.nominal_gpus, q.borrowing_limit_gpus, q.lending_limit_gpus) == (8, 2, 1)
