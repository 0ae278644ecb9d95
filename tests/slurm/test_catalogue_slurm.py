"""Catalogue content is read-only inside Slurm jobs (issue 6), on the real test cluster.

A real ``petaport serve`` on the slurm backend runs every job as an unprivileged Unix user
(``PETAPORT_SLURM__JOB_USER``, here ``ppjob``, created with its own Slurm association). A
dataset is registered from content first left writable by everyone: registration seals it.
A project without a grant is refused at submission; with one, the job reads the dataset at
``$PETAPORT_DATASET_<NAME>`` and its attempts to write into the directory and to change the file
fail with "Permission denied", while the content on disk stays as registered.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.e2e.test_jobs_live import log, wait_for
from tests.slurm.test_jobs_on_slurm import attempts, cancel_leftovers, slurm_server
from tests.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow
JOB_USER = "ppjob"  # the Unix user jobs run as
ACCOUNT = "ppjobs"  # its Slurm account (outside Petaport's synced tree: never touched by sync)
OWNER, MEMBER = "hk-data-office-admin", "harbour-u-alice"
GRANTED, NOT_GRANTED = "harbour-u/llm-pretrain", "harbour-u/med-imaging"
NAME = "tide-gauges"
ROWS = "station,level_m\nquarry-bay,1.42\ntai-po-kau,1.38\n"
READ_AND_TRY_TO_WRITE = """
d="$PETAPORT_DATASET_TIDE_GAUGES"
echo "user=$(id -un) group=$(id -gn)"
echo "path=$d"
echo "sha=$(sha256sum < "$d/data.csv" | cut -d' ' -f1)"
touch "$d/new-file"; echo "dir-write=$?"
echo tampered >> "$d/data.csv"; echo "file-write=$?"
wc -l < "$d/data.csv" > rows.txt
"""


def _sacctmgr(cluster: SlurmCluster, *args: str) -> str:
    return cluster.run("sacctmgr", "-i", *args)


@pytest.fixture(scope="module")
def job_user(slurm_cluster: SlurmCluster) -> Iterator[str]:
    """``ppjob``: a Unix user with no privileges and a Slurm association of its own."""
    if os.geteuid() != 0:
        pytest.skip("creating the job user (useradd) and submitting as it (sbatch --uid) need root")
    created = JOB_USER not in {entry.pw_name for entry in pwd.getpwall()}
    if created:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", JOB_USER], check=True)  # fmt: skip
    if not slurm_cluster.run("sacctmgr", "-n", "-P", "show", "account", ACCOUNT).strip():
        _sacctmgr(slurm_cluster, "add", "account", ACCOUNT, "description=petaport job user")
    if not slurm_cluster.run("sacctmgr", "-n", "-P", "show", "assoc", f"user={JOB_USER}").strip():
        _sacctmgr(slurm_cluster, "add", "user", JOB_USER, f"account={ACCOUNT}")
    yield JOB_USER
    slurm_cluster.run("scancel", f"--user={JOB_USER}")
    _sacctmgr(slurm_cluster, "delete", "user", JOB_USER)
    _sacctmgr(slurm_cluster, "delete", "account", ACCOUNT)
    if created:
        subprocess.run(["userdel", JOB_USER], check=False)


@pytest.fixture
def server(slurm_cluster: SlurmCluster, job_user: str) -> Iterator[LiveServer]:
    """A Slurm-backed server whose jobs run as the job user. Its data directory lies where that
    user can reach it (pytest's own temporary directories are closed to other users)."""
    top = Path(tempfile.mkdtemp(prefix="petaport-slurmro-"))
    top.chmod(0o711)
    s = slurm_server(top, slurm_cluster)
    s.env["PETAPORT_SLURM__JOB_USER"] = job_user
    s.start()
    yield s
    s.stop()
    cancel_leftovers(s, slurm_cluster)
    shutil.rmtree(top, ignore_errors=True)


def writable_dataset(server: LiveServer) -> Path:
    """The content, on the owner's storage, left writable by everyone (as copied in)."""
    path = server.data_dir / "storage" / "hk-data-office" / "datasets" / NAME
    path.mkdir(parents=True)
    (path / "data.csv").write_text(ROWS)
    (path / "data.csv").chmod(0o666)
    path.chmod(0o777)
    return path


def register(c: httpx.Client, path: Path) -> dict[str, Any]:
    made = c.post("/v1/catalogue/entries", json={
        "kind": "dataset", "name": NAME, "owner_org": "hk-data-office", "licence": "CC-BY-4.0",
        "sensitivity": "restricted", "description": "Tide levels", "data_use_agreement": "Research"
    })  # fmt: skip
    assert made.status_code == 201, made.text
    entry_id = made.json()["id"]
    v = c.post(f"/v1/catalogue/entries/{entry_id}/versions",
               json={"version": "1", "path": str(path)})  # fmt: skip
    assert v.status_code == 201, v.text
    assert c.post(f"/v1/catalogue/entries/{entry_id}/publish",
                  json={"published": True}).status_code == 200  # fmt: skip
    return {"entry_id": entry_id, **v.json()}


def submit(c: httpx.Client, project: str) -> httpx.Response:
    return c.post("/v1/jobs", json={
        "name": "tides", "project": project, "command": ["bash", "-c", READ_AND_TRY_TO_WRITE],
        "uses": [f"dataset:hk-data-office/{NAME}"], "memory_mb": 256, "walltime_s": 120,
    })  # fmt: skip


def grant(member: httpx.Client, owner: httpx.Client, entry_id: str) -> None:
    asked = member.post(f"/v1/catalogue/entries/{entry_id}/access-requests", json={
        "project": GRANTED, "purpose": "storm surge forecasting", "accept_data_use_agreement": True
    })  # fmt: skip
    assert asked.status_code == 201, asked.text
    decided = owner.post(f"/v1/catalogue/grants/{asked.json()['id']}/decision",
                         json={"approve": True, "expires_at": "2099-01-01T00:00:00Z"})  # fmt: skip
    assert decided.status_code == 200, decided.text


def test_a_granted_dataset_is_read_only_to_a_slurm_job(
    server: LiveServer, slurm_cluster: SlurmCluster, job_user: str
) -> None:
    path = writable_dataset(server)
    with server.client(OWNER) as owner, server.client(MEMBER) as member:
        version = register(owner, path)
        # sealed on registration: Petaport's user owns it, nobody else may write it
        assert (path.stat().st_mode & 0o777, (path / "data.csv").stat().st_mode & 0o777) == (
            0o755, 0o644)  # fmt: skip
        refused = submit(member, GRANTED)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "catalogue_access_required"
        assert NAME in refused.json()["detail"]
        grant(member, owner, version["entry_id"])
        other = submit(member, NOT_GRANTED)  # the grant is for one project only
        assert other.status_code == 403 and other.json()["code"] == "catalogue_access_required"

        r = submit(member, GRANTED)
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        done = wait_for(member, job_id, {"COMPLETED", "FAILED"}, timeout_s=90)
        stdout, stderr = log(member, job_id), log(member, job_id, "stderr")
        assert done["state"] == "COMPLETED", (stdout, stderr)

        sha = hashlib.sha256(ROWS.encode()).hexdigest()
        assert stdout.splitlines() == [
            f"user={job_user} group={job_user}", f"path={path}", f"sha={sha}",
            "dir-write=1", "file-write=1",
        ]  # fmt: skip
        assert f"touch: cannot touch '{path}/new-file': Permission denied" in stderr
        assert f"{path}/data.csv: Permission denied" in stderr
        checked = owner.post(f"/v1/catalogue/entries/{version['entry_id']}/versions/1/verify")
        assert checked.json()["status"] == "ready"  # the content is as registered
        (attempt,) = attempts(member, job_id)

    assert sorted(p.name for p in path.iterdir()) == ["data.csv"]
    assert (path / "data.csv").read_text() == ROWS
    work = server.data_dir / "jobs" / job_id / "1" / "work"
    assert (work / "rows.txt").read_text().strip() == "3"  # its outputs, readable by Petaport
    assert (work / "rows.txt").owner() == job_user
    ran = ""
    for _ in range(60):  # slurmdbd records the job a little after slurmctld ends it
        ran = slurm_cluster.run("sacct", "-n", "-X", "-P", f"--name=petaport-{attempt['id']}",
                                "--starttime=now-1days", "--format=User,State")  # fmt: skip
        if ran.split() == [f"{job_user}|COMPLETED"]:
            break
        time.sleep(0.5)
    assert ran.split() == [f"{job_user}|COMPLETED"]
