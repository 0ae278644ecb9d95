"""Exact metering input on the Slurm test cluster: each attempt's usage from ``sacct``.

A real ``petaport serve`` runs jobs on Slurm and reads accounting every half second; the test
checks the stored records against what ran and against ``sacct`` itself, that a read again
keeps nothing new, and that a record whose job ended while the server was down is not lost.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from petaport.app import build_context
from petaport.services import auth
from petaport.services.slurm_accounting import collect_usage, list_usage
from petaport.settings import Settings, SlurmSettings
from tests.e2e.test_jobs_live import submit, wait_for
from tests.slurm.test_jobs_on_slurm import attempts, cancel_leftovers, slurm_server
from tests.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow
SLEEP_S = 4


def usage_rows(db: Path, wanted: int, timeout_s: float = 30) -> dict[str, dict[str, Any]]:
    """The ``slurm_usage`` rows by attempt id, once there are ``wanted`` (the server reads
    accounting in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            rows = {r["attempt_id"]: dict(r) for r in conn.execute("SELECT * FROM slurm_usage")}
        if len(rows) >= wanted or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def sacct_line(cluster: SlurmCluster, job_id: str) -> list[str]:
    out = cluster.run(
        "env", "SLURM_TIME_FORMAT=%s", "sacct", "-P", "-n", "-X", "--allusers", f"--jobs={job_id}",
        "--format=State,ExitCode,Start,End,ElapsedRaw,AllocTRES",
    )  # fmt: skip
    return out.splitlines()[-1].split("|")


def epoch(text: str) -> str:
    return datetime.fromtimestamp(int(text), UTC).isoformat()


def test_sacct_usage_equals_what_ran_is_read_once_and_survives_a_restart(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    server = slurm_server(tmp_path, slurm_cluster)
    server.env.update(PETAPORT_SLURM__ACCOUNTING_INTERVAL_S="0.5")
    db = server.data_dir / "petaport.db"
    server.start()
    try:
        with server.client("harbour-u-alice") as c:
            two = submit(c, ["sleep", str(SLEEP_S)], gpus=2, cpus=3, memory_mb=1500, name="two")
            bad = submit(c, ["bash", "-c", "exit 3"], gpus=1, name="bad")
            wait_for(c, two, {"COMPLETED"}, timeout_s=60)
            wait_for(c, bad, {"FAILED"}, timeout_s=60)
            (two_try,), (bad_try,) = attempts(c, two), attempts(c, bad)
            rows = usage_rows(db, 2)

            # what ran: 2 GPUs for SLEEP_S seconds, 3 CPUs, 1500 MB, one node, exit 0
            u = rows[two_try["id"]]
            got = (u["state"], u["exit_code"], u["gpus"], u["cpus"], u["memory_mb"], u["nodes"])
            assert got == ("COMPLETED", 0, 2, 3, 1500, 1)
            assert SLEEP_S <= u["elapsed_s"] <= SLEEP_S + 2
            f = rows[bad_try["id"]]
            assert (f["state"], f["exit_code"], f["gpus"]) == ("FAILED", 3, 1)

            # the records are sacct's, and the attempts' measured times and exit codes agree
            state, code, start, end, elapsed, tres = sacct_line(slurm_cluster, u["slurm_job_id"])
            assert (state, code, int(elapsed)) == ("COMPLETED", "0:0", u["elapsed_s"])
            assert "gres/gpu=2" in tres.split(",")
            measured = attempts(c, two)[0]
            assert datetime.fromisoformat(measured["started_at"]).isoformat() == epoch(start)
            assert datetime.fromisoformat(measured["ended_at"]).isoformat() == epoch(end)
            assert attempts(c, bad)[0]["exit_code"] == 3

            # a job that ends while the server is down is read after the restart
            late = submit(c, ["sleep", "2"], gpus=1, name="late")
            wait_for(c, late, {"RUNNING"}, timeout_s=30)
            (late_try,) = attempts(c, late)
        server.kill9()
        _wait_until_ended_in_accounting(slurm_cluster, late_try["id"])
        server.start()
        with server.client("harbour-u-alice") as c:
            wait_for(c, late, {"COMPLETED"}, timeout_s=60)
        rows = usage_rows(db, 3)
        assert set(rows) == {two_try["id"], bad_try["id"], late_try["id"]}
        assert rows[late_try["id"]]["gpus"] == 1
    finally:
        server.stop()
        cancel_leftovers(server, slurm_cluster)

    # read again (the overlap window covers all three): nothing new, nothing twice
    settings = Settings(
        data_dir=server.data_dir, backend="slurm", slurm=SlurmSettings(conf=slurm_cluster.conf)
    )
    ctx = build_context(settings)
    assert collect_usage(ctx) == []
    admin = auth.authenticate_password(ctx, "admin", server.credentials["admin"])
    listed = list_usage(ctx, admin)
    assert sorted(m.usage.attempt_id for m in listed) == sorted(rows)
    assert {m.usage.attempt_id: m.gpu_seconds for m in listed}[two_try["id"]] == 2 * u["elapsed_s"]
    alice = auth.authenticate_password(
        ctx, "harbour-u-alice", server.credentials["harbour-u-alice"]
    )
    assert len(list_usage(ctx, alice)) == 3  # her org's
    outsider = auth.authenticate_password(
        ctx, "kowloon-rd-admin", server.credentials["kowloon-rd-admin"]
    )
    assert list_usage(ctx, outsider) == []  # another tenant sees none of them
    ctx.db.dispose()


def _wait_until_ended_in_accounting(cluster: SlurmCluster, attempt_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = cluster.run(
            "sacct", "-P", "-n", "-X", "--allusers", f"--name=petaport-{attempt_id}",
            "--starttime=now-1days", "--format=State",
        )  # fmt: skip
        if "COMPLETED" in out:
            return
        time.sleep(0.2)
    raise AssertionError(f"the Slurm job of {attempt_id} did not complete")
