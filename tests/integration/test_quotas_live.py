"""Quotas, borrowing, preemption, fair share and fractional GPUs through the live scheduling
loop (the pure core wired to storage), on both databases, with the fake backend's 8 GPUs."""

from __future__ import annotations

from typing import Any

from petaport.services.snapshot import take_snapshot
from tests.integration.conftest import World


def job(world: World, who: str, job_id: str) -> dict[str, Any]:
    return dict(world.call(who, "GET", f"/v1/jobs/{job_id}").json())


def quota(world: World, **body: Any) -> dict[str, Any]:
    r = world.call("root", "POST", "/v1/quotas", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def kinds(world: World, who: str, job_id: str) -> list[str]:
    return [e["kind"] for e in world.call(who, "GET", f"/v1/jobs/{job_id}/events").json()]


def test_quota_crud_rights_and_errors(world: World) -> None:
    created = quota(world, org="org-a", project=world.ids["prj_a"], nominal_gpus="4",
                    borrowing_limit_gpus="2")  # fmt: skip
    assert created["org_id"] == world.ids["org_a"] and created["nominal_gpus"] == "4.000"
    again = world.call("root", "POST", "/v1/quotas",
                       json={"org": world.ids["org_a"], "project": "org-a/proj-a",
                             "nominal_gpus": 1})  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "quota_exists"
    lend_too_much = world.call("root", "POST", "/v1/quotas",
                               json={"org": "org-b", "nominal_gpus": 1,
                                     "lending_limit_gpus": 2})  # fmt: skip
    assert lend_too_much.status_code == 422
    foreign = world.call(
        "root",
        "POST",
        "/v1/quotas",
        json={"org": "org-b", "project": "org-a/proj-a", "nominal_gpus": 1},
    )
    assert foreign.status_code == 422
    member = world.call("a_member", "POST", "/v1/quotas", json={"org": "org-a", "nominal_gpus": 1})
    assert member.status_code == 403
    assert [q["id"] for q in world.call("a_member", "GET", "/v1/quotas").json()] == [created["id"]]
    assert world.call("b_member", "GET", "/v1/quotas").json() == []
    assert world.call("b_member", "GET", f"/v1/quotas/{created['id']}").status_code == 404
    updated = world.call(
        "root",
        "PUT",
        f"/v1/quotas/{created['id']}",
        json={"nominal_gpus": "6.5", "borrowing_limit_gpus": None},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["nominal_gpus"] == "6.500"
    assert updated.json()["borrowing_limit_gpus"] is None
    assert world.call("root", "DELETE", f"/v1/quotas/{created['id']}").status_code == 204
    assert world.call("root", "GET", f"/v1/quotas/{created['id']}").status_code == 404


def test_quota_caps_a_project_and_reports_use(world: World) -> None:
    q = quota(world, org="org-a", project="org-a/proj-a", nominal_gpus=4, borrowing_limit_gpus=0)
    jobs = [world.submit("a_member", "prj_a", gpus=2, name=f"j{i}") for i in range(3)]
    world.cycle()
    states = [job(world, "a_member", j["id"]) for j in jobs]
    assert [s["state"] for s in states] == ["RUNNING", "RUNNING", "PENDING"]
    assert states[2]["reason"] == "QuotaExceeded"
    assert world.call("a_member", "GET", f"/v1/quotas/{q['id']}").json()["used_gpus"] == "4"
    world.fake.finish(world.fake.running()[0])
    world.cycle()
    world.cycle()
    assert job(world, "a_member", jobs[2]["id"])["state"] == "RUNNING"


def test_reclaiming_a_guarantee_preempts_the_newest_borrower(world: World) -> None:
    quota(world, org="org-a", nominal_gpus=4)
    quota(world, org="org-b", nominal_gpus=4)
    mine = [world.submit("a_member", "prj_a", gpus=2, name=f"a{i}") for i in range(4)]
    world.cycle()
    assert all(job(world, "a_member", j["id"])["state"] == "RUNNING" for j in mine)
    theirs = world.submit("b_member", "prj_b", gpus=4, name="reclaim")
    world.cycle()
    cancelled = set(world.fake.cancel_requests)
    assert len(cancelled) == 2  # minimal victims: 2 x 2 GPUs for 4, both borrowing
    world.cycle()
    ended = [job(world, "a_member", j["id"]) for j in mine]
    requeued = [j for j in ended if j["state"] == "PENDING"]
    assert len(requeued) == 2 and {j["reason"] for j in requeued} <= {"Requeued", "Resources"}
    for j in requeued:
        assert "preempted" in kinds(world, "a_member", j["id"])
        tries = world.call("a_member", "GET", f"/v1/jobs/{j['id']}/attempts").json()
        assert tries[-1]["state"] == "PREEMPTED"
    world.cycle()
    assert job(world, "b_member", theirs["id"])["state"] == "RUNNING"
    # The borrowers' GPUs went to b; a keeps its guaranteed 4.
    running = [
        j for j in (job(world, "a_member", x["id"]) for x in mine) if j["state"] == "RUNNING"
    ]
    assert sum(len(j["allocations"][0]["gpu_indices"]) for j in running) == 4


def test_preemptible_work_yields_to_on_demand(world: World) -> None:
    cheap = world.submit("a_member", "prj_a", gpus=8, qos="preemptible", name="cheap")
    world.cycle()
    assert job(world, "a_member", cheap["id"])["state"] == "RUNNING"
    urgent = world.submit("b_member", "prj_b", gpus=2, name="urgent")
    world.cycle()
    world.cycle()
    after = job(world, "a_member", cheap["id"])
    assert after["state"] == "PENDING" and after["attempt_count"] == 1
    world.cycle()
    assert job(world, "b_member", urgent["id"])["state"] == "RUNNING"


def test_finished_work_counts_in_fair_share(world: World) -> None:
    j = world.submit("a_member", "prj_a", gpus=4, name="used")
    world.cycle()
    world.fake.finish(world.fake.running()[0])
    world.cycle()
    assert job(world, "a_member", j["id"])["state"] == "COMPLETED"
    rows = world.call("a_member", "GET", "/v1/fairshare").json()
    assert [r["project_id"] for r in rows] == [world.ids["prj_a"]]
    assert rows[0]["usage_gpu_hours"] >= 0 and rows[0]["factor"] < 1.0
    assert world.call("b_member", "GET", "/v1/fairshare").json() == []
    # The next snapshot predicts a's next job of the same shape from this one's duration.
    nxt = world.submit("a_member", "prj_a", gpus=4, name="again")
    snapshot, _ = take_snapshot(world.ctx, world.fake.inventory(), world.loop.history())
    pending = {p.id: p for p in snapshot.pending}
    assert pending[nxt["id"]].predicted_duration_s is not None
    assert pending[nxt["id"]].walltime_s is None


def test_fractional_jobs_share_one_gpu(world: World) -> None:
    halves = [world.submit("a_member", "prj_a", gpu_fraction="0.5", name=f"h{i}") for i in range(3)]
    world.cycle()
    states = [job(world, "a_member", h["id"]) for h in halves]
    assert [s["state"] for s in states] == ["RUNNING"] * 3
    assert states[0]["gpu_fraction"] == "0.5"
    gpus = [tuple(s["allocations"][0]["gpu_indices"]) for s in states]
    assert all(len(g) == 1 for g in gpus)
    assert len(set(gpus)) == 2  # two halves packed on one GPU, the third on another
    rest = world.submit("a_member", "prj_a", gpus=6, name="rest")
    one = world.submit("a_member", "prj_a", gpus=1, name="one")
    last_half = world.submit("a_member", "prj_a", gpu_fraction="0.5", name="h3")
    world.cycle()
    assert job(world, "a_member", rest["id"])["state"] == "RUNNING"
    assert job(world, "a_member", one["id"])["reason"] == "Resources"  # no whole GPU is left
    packed = job(world, "a_member", last_half["id"])
    assert packed["state"] == "RUNNING" and tuple(packed["allocations"][0]["gpu_indices"]) in gpus
    bad = world.call("a_member", "POST", "/v1/jobs",
                     json={"name": "x", "project": world.ids["prj_a"], "command": ["true"],
                           "gpus": 1, "gpu_fraction": "0.5"})  # fmt: skip
    assert bad.status_code == 422 and "fraction" in bad.text
