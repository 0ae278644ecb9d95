"""Jobs through the HTTP API on both databases, with the fake backend and explicit cycles."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import World


def test_submit_runs_and_completes_with_events(world: World) -> None:
    job = world.submit("a_member", "prj_a", gpus=2, name="train-1")
    assert job["state"] == "PENDING" and job["reason"] == "None"
    world.cycle()
    running = world.call("a_member", "GET", f"/v1/jobs/{job['id']}").json()
    assert running["state"] == "RUNNING" and running["reason"] is None
    assert len(running["allocations"][0]["gpu_indices"]) == 2
    attempt_id = world.fake.running()[0]
    world.fake.finish(attempt_id, exit_code=0)
    world.cycle()
    done = world.call("a_member", "GET", f"/v1/jobs/{job['id']}").json()
    assert done["state"] == "COMPLETED" and done["exit_code"] == 0 and done["ended_at"]
    kinds = [
        e["kind"] for e in world.call("a_member", "GET", f"/v1/jobs/{job['id']}/events").json()
    ]
    assert kinds == ["submitted", "started", "attempt_ended"]


def test_third_four_gpu_job_waits_with_reason_resources(world: World) -> None:
    jobs = [world.submit("a_member", "prj_a", gpus=4, name=f"j{i}") for i in range(3)]
    world.cycle()
    states = [world.call("a_member", "GET", f"/v1/jobs/{j['id']}").json() for j in jobs]
    assert [s["state"] for s in states] == ["RUNNING", "RUNNING", "PENDING"]
    assert states[2]["reason"] == "Resources"
    gpus = [set(s["allocations"][0]["gpu_indices"]) for s in states[:2]]
    assert not gpus[0] & gpus[1]
    world.fake.finish(world.fake.running()[0], exit_code=0)
    world.cycle()
    world.cycle()
    third = world.call("a_member", "GET", f"/v1/jobs/{jobs[2]['id']}").json()
    assert third["state"] == "RUNNING"


def test_failed_exit_code_and_never_fitting_job(world: World) -> None:
    job = world.submit("a_member", "prj_a")
    huge = world.submit("a_member", "prj_a", gpus=64)
    world.cycle()
    world.fake.finish(world.fake.running()[0], exit_code=3)
    world.cycle()
    failed = world.call("a_member", "GET", f"/v1/jobs/{job['id']}").json()
    assert failed["state"] == "FAILED" and failed["exit_code"] == 3
    waiting = world.call("a_member", "GET", f"/v1/jobs/{huge['id']}").json()
    assert waiting["reason"] == "PartitionConfig"


def test_cancel_pending_and_running_and_requeue(world: World) -> None:
    pending = world.submit("a_member", "prj_a", gpus=8, name="blocker")
    queued = world.submit("a_member", "prj_a", gpus=8, name="queued")
    world.cycle()
    r = world.call("a_member", "POST", f"/v1/jobs/{queued['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "CANCELLED"
    again = world.call("a_member", "POST", f"/v1/jobs/{queued['id']}/cancel")
    assert again.status_code == 200 and again.json()["state"] == "CANCELLED"
    world.call("a_member", "POST", f"/v1/jobs/{pending['id']}/cancel")
    world.cycle()
    stopped = world.call("a_member", "GET", f"/v1/jobs/{pending['id']}").json()
    assert stopped["state"] == "CANCELLED"
    requeued = world.call("a_member", "POST", f"/v1/jobs/{pending['id']}/requeue").json()
    assert requeued["state"] == "PENDING" and requeued["reason"] == "Requeued"
    world.cycle()
    attempts = world.call("a_member", "GET", f"/v1/jobs/{pending['id']}/attempts").json()
    assert [a["number"] for a in attempts] == [1, 2] and attempts[1]["state"] == "RUNNING"


def test_completed_job_cannot_be_cancelled(world: World) -> None:
    job = world.submit("a_member", "prj_a")
    world.cycle()
    world.fake.finish(world.fake.running()[0], exit_code=0)
    world.cycle()
    r = world.call("a_member", "POST", f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_idempotent_submission(world: World) -> None:
    body = {"name": "idem", "project": world.ids["prj_a"], "command": ["echo", "x"]}
    h = {"Idempotency-Key": "key-1"}
    first = world.call("a_member", "POST", "/v1/jobs", json=body, headers=h)
    second = world.call("a_member", "POST", "/v1/jobs", json=body, headers=h)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other = world.call("a_member", "POST", "/v1/jobs", json={**body, "name": "other"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Another user may use the same key for their own job.
    theirs = world.call("a_org_admin", "POST", "/v1/jobs", json=body, headers=h)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    listed = world.call("a_member", "GET", "/v1/jobs", params={"mine": "true"}).json()["items"]
    assert len(listed) == 1


def test_project_by_slug_and_validation_problems(world: World) -> None:
    r = world.call(
        "a_member",
        "POST",
        "/v1/jobs",
        json={"name": "s", "project": "org-a/proj-a", "script": "echo hi"},
    )
    assert r.status_code == 201 and r.json()["project_id"] == world.ids["prj_a"]
    bad = world.call(
        "a_member", "POST", "/v1/jobs", json={"name": "s", "project": world.ids["prj_a"]}
    )
    assert bad.status_code == 422 and "exactly one of command or script" in bad.json()["detail"]
    garbage = world.call(
        "a_member",
        "POST",
        "/v1/jobs",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert garbage.status_code == 422 and garbage.json()["code"] == "validation_failed"
    viewer = world.call(
        "a_viewer",
        "POST",
        "/v1/jobs",
        json={"name": "s", "project": world.ids["prj_a"], "command": ["true"]},
    )
    assert viewer.status_code == 403
    assert world.call("a_member", "GET", "/v1/jobs").json()["items"][0]["name"] == "s"


def test_cursor_pagination_visits_every_job_once(world: World) -> None:
    made = {world.submit("a_member", "prj_a", name=f"p{i}")["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = world.call("a_member", "GET", "/v1/jobs", params=params).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7
    assert seen == sorted(seen, reverse=True)  # newest first
    bad = world.call("a_member", "GET", "/v1/jobs", params={"cursor": "!!!"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_cursor"


def test_logs_are_read_by_offset(world: World) -> None:
    job = world.submit("a_member", "prj_a")
    world.cycle()
    attempt_id = world.fake.running()[0]
    world.fake.write_output(attempt_id, stdout="héllo\n", stderr="warn\n")
    first = world.call("a_member", "GET", f"/v1/jobs/{job['id']}/logs").json()
    assert first["text"] == "héllo\n" and not first["complete"]
    world.fake.finish(attempt_id, exit_code=0)
    world.cycle()
    rest = world.call(
        "a_member", "GET", f"/v1/jobs/{job['id']}/logs", params={"offset": first["next_offset"]}
    ).json()
    assert rest["text"] == "" and rest["complete"]
    err = world.call("a_member", "GET", f"/v1/jobs/{job['id']}/logs", params={"stream": "stderr"})
    assert err.json()["text"] == "warn\n"


def test_metrics_and_health(world: World) -> None:
    world.submit("a_member", "prj_a", gpus=2)
    world.cycle()
    text = world.http.get("/metrics").text
    assert 'petaport_jobs{state="RUNNING"} 1.0' in text
    assert "petaport_gpus_allocated 2.0" in text and "petaport_gpus_total 8.0" in text
    assert "petaport_queue_wait_seconds_count 1.0" in text
    assert "petaport_api_request_duration_seconds_bucket" in text
    assert world.http.get("/healthz").json() == {"status": "ok"}
    assert world.http.get("/readyz").json()["status"] == "ready"


def test_concurrent_submissions_with_one_key_make_one_job(world: World) -> None:
    """Batched commits: twenty racing requests with one key give one job; other keys are
    unaffected; a different body under the same key is refused."""
    body = {"name": "race", "project": world.ids["prj_a"], "command": ["true"]}

    def post(i: int) -> tuple[int, str]:
        key = "shared" if i % 2 == 0 else f"own-{i}"
        r = world.call("a_member", "POST", "/v1/jobs", json=body, headers={"Idempotency-Key": key})
        return r.status_code, r.json()["id"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(20)))
    shared = {job_id for i, (_, job_id) in enumerate(answers) if i % 2 == 0}
    assert len(shared) == 1
    assert sorted(code for i, (code, _) in enumerate(answers) if i % 2 == 0) == [200] * 9 + [201]
    assert all(code == 201 for i, (code, _) in enumerate(answers) if i % 2)
    listed = world.call("a_member", "GET", "/v1/jobs", params={"limit": 100}).json()["items"]
    assert len(listed) == 11
    other = world.call(
        "a_member",
        "POST",
        "/v1/jobs",
        json={**body, "name": "changed"},
        headers={"Idempotency-Key": "shared"},
    )
    assert other.status_code == 422
