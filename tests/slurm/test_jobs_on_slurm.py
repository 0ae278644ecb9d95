"""Real jobs through Petaport on the Slurm test cluster (issue 3's "Show it" list).

A real ``petaport serve`` with ``PETAPORT_BACKEND=slurm`` talks to the single-host cluster of
``scripts/slurm-test-cluster.sh`` (gpu1 and gpu2 with 8 fake GPUs each, cpu1). Petaport's
scheduler admits and places every job; Slurm runs it on the nodes Petaport chose.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, make_live_server
from tests.e2e.test_jobs_live import job, log, submit, wait_for
from tests.slurm_cluster import GPU_NODES, GPUS_PER_NODE, SlurmCluster

PY = sys.executable
SHOW = [
    PY,
    "-c",
    "import os, time; print(os.environ['SLURMD_NODENAME'], os.environ['CUDA_VISIBLE_DEVICES'],"
    " os.environ['SLURM_JOB_GPUS'], flush=True); time.sleep(3)",
]
TIMEOUT_S = 180  # Slurm counts time limits in minutes and checks them about every 30 s

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, slurm_cluster: SlurmCluster) -> Iterator[LiveServer]:
    s = slurm_server(tmp_path, slurm_cluster)
    s.start()
    yield s
    s.stop()
    cancel_leftovers(s, slurm_cluster)


def cancel_leftovers(server: LiveServer, cluster: SlurmCluster) -> None:
    """Cancel the Slurm jobs of this server's attempts that still run (after a failed test)."""
    with sqlite3.connect(server.data_dir / "petaport.db") as db:
        names = {f"petaport-{row[0]}" for row in db.execute("SELECT id FROM attempts")}
    rows = [line.split() for line in cluster.run("squeue", "-h", "-o", "%i %j").splitlines()]
    ids = [row[0] for row in rows if len(row) == 2 and row[1] in names]
    if ids:
        cluster.run("scancel", *ids)


def slurm_server(tmp_path: Path, cluster: SlurmCluster) -> LiveServer:
    s = make_live_server(tmp_path)
    s.env.update(PETAPORT_BACKEND="slurm", PETAPORT_SLURM__CONF=str(cluster.conf))
    return s


def attempts(c: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    return list(c.get(f"/v1/jobs/{job_id}/attempts").json())


def slurm_jobs_named(cluster: SlurmCluster, attempt_id: str) -> list[str]:
    """Every Slurm job ever submitted for this attempt, as ``id|state`` from accounting (which
    slurmctld feeds asynchronously: wait until it has at least one)."""
    deadline = time.monotonic() + 15
    while True:
        out = cluster.run(
            "sacct", "-n", "-X", "-P", "--duplicates", f"--name=petaport-{attempt_id}",
            "--starttime=now-1days", "--format=JobID,State",
        )  # fmt: skip
        rows = [line for line in out.splitlines() if line]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_the_centre_shows_the_slurm_clusters_gpu_nodes(server: LiveServer) -> None:
    with server.client("harbour-u-alice") as c:
        capacity = c.get("/v1/capacity").json()
        (pool,) = [p for p in c.get("/v1/node-pools").json() if p["backend"] == "slurm"]

    assert capacity["gpus"] == 2 * GPUS_PER_NODE
    assert (pool["gpu_model"], pool["gpus_per_node"], pool["node_count"]) == ("H800", 8, 2)


def test_isolation_gang_failure_cancel_and_timeout(
    server: LiveServer, slurm_cluster: SlurmCluster
) -> None:
    with server.client("harbour-u-alice") as c:
        slow = submit(c, ["sleep", "300"], walltime_s=1, name="slow")  # first: it takes longest
        shown = [submit(c, SHOW, gpus=2, name=f"g{i}") for i in range(3)]
        gang = submit(c, SHOW, gpus=1, nodes=2, name="gang")
        broken = submit(c, ["bash", "-c", "echo oops >&2; exit 7"], name="broken")
        victim = submit(c, ["sleep", "300"], name="victim")

        wait_for(c, victim, {"RUNNING"})
        assert c.post(f"/v1/jobs/{victim}/cancel").status_code == 200
        assert wait_for(c, victim, {"CANCELLED"}, timeout_s=30)["state"] == "CANCELLED"
        (cancelled,) = attempts(c, victim)
        assert [row.split("|")[1] for row in slurm_jobs_named(slurm_cluster, cancelled["id"])] == [
            "CANCELLED by 0"
        ]

        failed = wait_for(c, broken, {"FAILED"}, timeout_s=30)
        assert failed["exit_code"] == 7 and log(c, broken, "stderr") == "oops\n"

        # GPU isolation: each job sees exactly the GPUs Petaport allocated on its node, and
        # jobs sharing a node never share a GPU; Slurm gave each the same number of GPUs.
        taken: dict[str, set[str]] = {}
        for job_id in shown:
            done = wait_for(c, job_id, {"COMPLETED"}, timeout_s=30)
            node, visible, slurm_gpus = log(c, job_id).split()
            (allocation,) = done["allocations"]
            assert node == allocation["node"]
            assert visible == ",".join(str(i) for i in allocation["gpu_indices"])
            assert len(slurm_gpus.split(",")) == 2
            assert not taken.get(node, set()) & set(visible.split(","))
            taken.setdefault(node, set()).update(visible.split(","))

        # A 2-node gang job: one task per node, each with its own node's allocation.
        done = wait_for(c, gang, {"COMPLETED"}, timeout_s=30)
        lines = sorted(log(c, gang).splitlines())
        expected = sorted(
            f"{a['node']} {','.join(map(str, a['gpu_indices']))}" for a in done["allocations"]
        )
        assert [" ".join(line.split()[:2]) for line in lines] == expected
        assert {a["node"] for a in done["allocations"]} == set(GPU_NODES)

        end = wait_for(c, slow, {"TIMEOUT"}, timeout_s=TIMEOUT_S)
        assert end["exit_code"] is None


def test_a_node_set_down_mid_job_is_node_fail_and_the_job_is_requeued(
    server: LiveServer, slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    marker = shared / "first-attempt-running"
    # The first attempt runs until its node dies; the requeued one finishes at once.
    program = f"if [ -e {marker} ]; then echo second; else touch {marker}; sleep 600; fi"
    with server.client("harbour-u-alice") as c:
        job_id = submit(c, ["bash", "-c", program], gpus=8, name="victim-of-a-node")
        first = wait_for(c, job_id, {"RUNNING"}, timeout_s=30)
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the first attempt never started on Slurm"
            time.sleep(0.1)
        node = first["allocations"][0]["node"]
        try:
            slurm_cluster.run(
                "scontrol", "update", f"nodename={node}", "state=down", "reason=petaport-test"
            )
            end = wait_for(c, job_id, {"COMPLETED"}, timeout_s=60)
        finally:
            _resume(slurm_cluster, node)
        assert end["attempt_count"] == 2
        one, two = attempts(c, job_id)
        assert one["state"] == "NODE_FAIL" and two["state"] == "COMPLETED"
        assert log(c, job_id) == "second\n"
        kinds = [e["kind"] for e in c.get(f"/v1/jobs/{job_id}/events").json()]
        assert kinds.count("started") == 2


def _resume(cluster: SlurmCluster, node: str) -> None:
    state = cluster.run("sinfo", "-h", "-n", node, "-o", "%T").strip()
    if state.startswith(("down", "drain")):
        cluster.run("scontrol", "update", f"nodename={node}", "state=resume")


def test_a_restart_mid_job_loses_nothing_and_submits_nothing_twice(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    server = slurm_server(tmp_path, slurm_cluster)
    server.start()
    try:
        c = server.client("harbour-u-alice")
        work = ["bash", "-c", "echo start; sleep 6; echo done"]
        ids = [submit(c, work, gpus=2, name=f"s{i}") for i in range(3)]
        before = {i: wait_for(c, i, {"RUNNING"}, timeout_s=30) for i in ids}
        for i in ids:  # running on Slurm, not just admitted
            deadline = time.monotonic() + 30
            while log(c, i) != "start\n":
                assert time.monotonic() < deadline, f"{i} did not start on Slurm"
                time.sleep(0.1)
        tries = {i: attempts(c, i)[0]["id"] for i in ids}
        server.kill9()
        # The first attempt looks as if the server died between sbatch and recording the
        # Slurm job id: it must be found again by its job name, not submitted again.
        with sqlite3.connect(server.data_dir / "petaport.db") as db:
            db.execute("UPDATE attempts SET backend_ref = NULL WHERE id = ?", (tries[ids[0]],))
        server.start()
        c = server.client("harbour-u-alice")
        for i in ids:
            end = wait_for(c, i, {"COMPLETED"}, timeout_s=40)
            assert end["attempt_count"] == 1 and end["started_at"] == before[i]["started_at"]
            assert log(c, i) == "start\ndone\n"
            kinds = [e["kind"] for e in c.get(f"/v1/jobs/{i}/events").json()]
            assert kinds.count("started") == 1 and kinds.count("attempt_ended") == 1
            assert len(slurm_jobs_named(slurm_cluster, tries[i])) == 1
        assert job(c, ids[0])["exit_code"] == 0
        c.close()
    finally:
        server.stop()
        cancel_leftovers(server, slurm_cluster)
