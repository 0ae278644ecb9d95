"""Real server process, real local backend, real job processes (the issue's "Show it" list).

Each test starts ``python -m petaport serve`` on a fresh data dir with 8 declared GPUs and talks
to it over HTTP only. Waiting is polling with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from petaport.storage.db import Database
from tests.conftest import LiveServer, _truncate, make_live_server

PY = sys.executable


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = make_live_server(tmp_path)
    s.start()
    yield s
    s.stop()


def submit(c: httpx.Client, command: list[str], **kw: Any) -> str:
    body = {
        "name": kw.pop("name", "e2e"),
        "project": "harbour-u/llm-pretrain",
        "command": command,
        "memory_mb": 256,
        **kw,
    }
    r = c.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def job(c: httpx.Client, job_id: str) -> dict[str, Any]:
    return dict(c.get(f"/v1/jobs/{job_id}").json())


def wait_for(
    c: httpx.Client, job_id: str, states: set[str], timeout_s: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = job(c, job_id)
        if current["state"] in states:
            return current
        time.sleep(0.1)
    raise AssertionError(f"{job_id} still {current['state']} ({current['reason']}), not {states}")


def wait_for_reason(c: httpx.Client, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    current = job(c, job_id)
    while current["state"] == "PENDING" and current["reason"] in (None, "None"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{job_id} got no pending reason in {timeout_s} s")
        time.sleep(0.05)
        current = job(c, job_id)
    return current


def log(c: httpx.Client, job_id: str, stream: str = "stdout") -> str:
    return str(c.get(f"/v1/jobs/{job_id}/logs", params={"stream": stream}).json()["text"])


SHOW_GPUS = [
    PY,
    "-c",
    "import os,time; print(os.environ['CUDA_VISIBLE_DEVICES'], flush=True); time.sleep(2.5)",
]


def test_two_four_gpu_jobs_never_share_and_third_waits_for_resources(server: LiveServer) -> None:
    with server.client("harbour-u-alice") as c:
        ids = [submit(c, SHOW_GPUS, gpus=4, name=f"g{i}") for i in range(3)]
        first, second = (wait_for(c, i, {"RUNNING"}) for i in ids[:2])
        # A just-submitted job carries no reason until a scheduling cycle has looked at it
        # (Slurm's "None"); poll until the scheduler has given it one.
        third = wait_for_reason(c, ids[2])
        assert third["state"] == "PENDING" and third["reason"] == "Resources"
        ends = [wait_for(c, i, {"COMPLETED"}) for i in ids]
        seen = [set(log(c, i).strip().split(",")) for i in ids]
        assert len(seen[0]) == len(seen[1]) == 4 and not seen[0] & seen[1]
        assert set(first["allocations"][0]["gpu_indices"]) == {int(g) for g in seen[0]}
        assert set(second["allocations"][0]["gpu_indices"]) == {int(g) for g in seen[1]}
        assert ends[2]["started_at"] >= min(ends[0]["ended_at"], ends[1]["ended_at"])


def test_timeout_cancel_failure_and_memory_limit(server: LiveServer) -> None:
    with server.client("harbour-u-alice") as c:
        slow = submit(c, ["sleep", "30"], walltime_s=1, name="slow")
        victim = submit(c, ["sleep", "60"], name="victim")
        broken = submit(c, ["bash", "-c", "echo oops >&2; exit 7"], name="broken")
        hog = submit(
            c,
            [PY, "-c", "x = bytearray(400 * 1024 * 1024); import time; time.sleep(5)"],
            memory_mb=64,
            name="hog",
        )
        wait_for(c, victim, {"RUNNING"})
        assert c.post(f"/v1/jobs/{victim}/cancel").status_code == 200
        assert wait_for(c, slow, {"TIMEOUT"})["state"] == "TIMEOUT"
        assert wait_for(c, victim, {"CANCELLED"})["state"] == "CANCELLED"
        failed = wait_for(c, broken, {"FAILED"})
        assert failed["exit_code"] == 7 and log(c, broken, "stderr") == "oops\n"
        assert wait_for(c, hog, {"OUT_OF_MEMORY"})["state"] == "OUT_OF_MEMORY"


def _pids(server: LiveServer, job_id: str) -> tuple[int, int]:
    """The supervisor's pid and the job's process-group leader, from the attempt's status file."""
    path = server.data_dir / "jobs" / job_id / "1" / "status.json"
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    status = json.loads(path.read_text())
    return int(status["supervisor_pid"]), int(status["child_pid"])


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_kill_9_restart_every_job_ends_exactly_once(
    tmp_path: Path, request: pytest.FixtureRequest, database: str
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    if url:
        _reset(url)
    server = make_live_server(tmp_path, database_url=url)
    server.start()
    try:
        _crash_and_recover(server)
    finally:
        server.stop()


def _reset(url: str) -> None:
    db = Database(url)
    _truncate(db)
    db.dispose()


def _crash_and_recover(server: LiveServer) -> None:
    c = server.client("harbour-u-alice")
    work = [PY, "-c", "import time,sys; print('start', flush=True); time.sleep(4); print('done')"]
    survivors = [submit(c, work, gpus=2, name=f"s{i}") for i in range(3)]
    orphan = submit(c, ["sleep", "30"], gpus=2, requeue_on_node_fail=False, name="orphan")
    waiting = submit(c, work, gpus=4, name="waiting")
    before = {i: wait_for(c, i, {"RUNNING"}) for i in [*survivors, orphan]}
    assert wait_for_reason(c, waiting)["reason"] == "Resources"
    server.kill9()
    # While the server is down, the orphan's whole process tree dies (as on a lost node).
    supervisor, child = _pids(server, orphan)
    os.kill(supervisor, signal.SIGKILL)
    os.killpg(child, signal.SIGKILL)
    server.start()
    c = server.client("harbour-u-alice")
    for i in survivors:
        end = wait_for(c, i, {"COMPLETED"}, timeout_s=40)
        assert end["attempt_count"] == 1 and end["started_at"] == before[i]["started_at"]
        assert log(c, i) == "start\ndone\n"
        kinds = [e["kind"] for e in c.get(f"/v1/jobs/{i}/events").json()]
        assert kinds.count("started") == 1 and kinds.count("attempt_ended") == 1
    assert wait_for(c, orphan, {"NODE_FAIL"})["attempt_count"] == 1
    end = wait_for(c, waiting, {"COMPLETED"}, timeout_s=40)
    assert end["attempt_count"] == 1 and log(c, waiting) == "start\ndone\n"
    c.close()


def test_several_worker_processes_share_one_scheduler(tmp_path: Path) -> None:
    """PETAPORT_WORKERS=2: any worker takes a submission, the one scheduler starts it at once,
    and a token revoked through one worker is refused by every worker."""
    server = make_live_server(tmp_path)
    server.env["PETAPORT_WORKERS"] = "2"
    server.start()
    try:
        with server.client("harbour-u-alice") as c:
            ids = [submit(c, [PY, "-c", "print('hi')"], gpus=1, name=f"w{i}") for i in range(6)]
            for job_id in ids:
                assert wait_for(c, job_id, {"COMPLETED"})["attempt_count"] == 1
            made = c.post("/v1/tokens", json={"name": "short-lived"}).json()
            extra = {"Authorization": f"Bearer {made['token']}"}
            assert all(c.get("/v1/me", headers=extra).status_code == 200 for _ in range(6))
            assert c.delete(f"/v1/tokens/{made['id']}").status_code == 200
            assert all(c.get("/v1/me", headers=extra).status_code == 401 for _ in range(6))
            metrics = httpx.get(server.url + "/metrics").text
            assert 'petaport_jobs{state="COMPLETED"} 6.0' in metrics
            assert "petaport_api_request_duration_seconds_count" in metrics
        leaders = (server.data_dir / "server.log").read_text().count("now runs the scheduling loop")
        assert leaders == 1
    finally:
        server.stop()


def test_on_demand_work_preempts_preemptible_work_which_is_requeued(server: LiveServer) -> None:
    with server.client("harbour-u-alice") as c:
        cheap = submit(c, ["sleep", "60"], gpus=8, qos="preemptible", name="cheap")
        wait_for(c, cheap, {"RUNNING"})
        urgent = submit(c, SHOW_GPUS, gpus=2, name="urgent")
        assert wait_for(c, urgent, {"RUNNING", "COMPLETED"}, timeout_s=40)["attempt_count"] == 1
        requeued = job(c, cheap)
        assert requeued["state"] in {"PENDING", "RUNNING"} and requeued["attempt_count"] >= 1
        first = c.get(f"/v1/jobs/{cheap}/attempts").json()[0]
        assert first["state"] == "PREEMPTED"
        events = c.get(f"/v1/jobs/{cheap}/events").json()
        preempted = [e for e in events if e["kind"] == "preempted"]
        assert len(preempted) == 1 and urgent in preempted[0]["message"]
        # Once the urgent job is done, the preempted job starts again (a second attempt).
        assert wait_for(c, cheap, {"RUNNING"}, timeout_s=40)["attempt_count"] == 2
        c.post(f"/v1/jobs/{cheap}/cancel")
