"""Association sync on the Slurm test cluster: Petaport's tenants become Slurm's accounts, user
associations, GPU limits and never-refilling GPU-hour budgets that Slurm enforces by itself on
a user who calls ``sbatch`` directly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from petaport.app import build_context, create_app
from petaport.domain.tenancy import Principal, Role
from petaport.services import auth, quotas, seeding, tenancy
from petaport.services.context import Context
from petaport.services.slurm_ports import AssociationSync, GpuBudget, Tenancy
from petaport.services.slurm_sync import sync
from petaport.settings import Settings, SlurmSettings
from tests.slurm.test_jobs_on_slurm import slurm_server
from tests.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow
DIRECT = "ppdirect"  # a Unix user of the test cluster (scripts/slurm-test-cluster.sh)
PROJECT_ACCOUNT = "harbour-u_llm-pretrain"


@pytest.fixture
def centre(tmp_path: Path, slurm_cluster: SlurmCluster) -> Iterator[tuple[Context, Principal]]:
    """The demo centre on the slurm backend, with ``ppdirect`` a member of harbour-u's
    llm-pretrain project; Slurm's Petaport accounts are removed afterwards."""
    settings = Settings(
        data_dir=tmp_path / "data", backend="slurm", slurm=SlurmSettings(conf=slurm_cluster.conf)
    )
    ctx = build_context(settings)
    passwords = {u.username: u.password for u in seeding.seed_demo(ctx)}
    admin = auth.authenticate_password(ctx, "admin", passwords["admin"])
    org = tenancy.resolve_project(ctx, admin, "harbour-u/llm-pretrain")
    new = tenancy.NewUser(DIRECT, f"{DIRECT}@example.org", "Direct", password="pw-" * 6)
    user = tenancy.create_user(ctx, admin, new)
    tenancy.add_membership(
        ctx, admin, org_id=org.org_id, user_id=user.id, role=Role.MEMBER, project_id=org.id
    )
    yield ctx, admin
    _cancel_jobs_of(slurm_cluster, DIRECT)
    assert isinstance(ctx.backend, AssociationSync)
    ctx.backend.sync_associations(Tenancy((), ()), dry_run=False)
    ctx.db.dispose()


def _cancel_jobs_of(cluster: SlurmCluster, user: str) -> None:
    cluster.run("scancel", f"--user={user}")
    deadline = time.monotonic() + 15
    while cluster.run("squeue", "-h", f"--user={user}").strip() and time.monotonic() < deadline:
        time.sleep(0.2)


def associations(cluster: SlurmCluster) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """(account, user) -> (parent, GrpTRES, QOS, default QOS) for Petaport's accounts."""
    out = cluster.run(
        "sacctmgr", "-P", "-n", "show", "assoc",
        "format=account,user,parentname,grptres,qos,defaultqos",
    )  # fmt: skip
    rows = [line.split("|") for line in out.splitlines()]
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows if r[0] != "root"}


def test_sync_round_trips_is_idempotent_and_slurm_enforces_the_budget(
    centre: tuple[Context, Principal], slurm_cluster: SlurmCluster
) -> None:
    ctx, admin = centre
    fields = quotas.QuotaFields("harbour-u", None, None, Decimal("8.5"))
    quotas.set_quota(ctx, admin, fields)
    budget = (GpuBudget("harbour-u", "llm-pretrain", Decimal("0.02")),)  # 1 GPU-minute

    first = sync(ctx, admin, dry_run=False, budgets=budget)
    assert first.commands
    got = associations(slurm_cluster)
    assert got[("petaport", "")][0] == "root"
    assert got[("harbour-u", "")][:2] == ("petaport", "gres/gpu=8")  # whole GPUs of the quota
    assert got[(PROJECT_ACCOUNT, "")][0] == "harbour-u"
    qos = "petaport-budget-harbour-u_llm-pretrain"
    assert got[(PROJECT_ACCOUNT, DIRECT)][2:] == (qos, qos)
    members = {user for account, user in got if account.startswith("harbour-u_") and user}
    assert members == {"harbour-u-admin", "harbour-u-alice", DIRECT}  # org-wide members too
    accounts = {account for account, user in got if not user}
    assert "kowloon-rd_speech" in accounts and len(accounts) == 1 + 5 + 6  # top, orgs, projects
    budget_qos = slurm_cluster.run("sacctmgr", "-P", "-n", "show", "qos", qos,
                                   "format=name,grptresmins,flags")  # fmt: skip
    assert budget_qos.strip() == f"{qos}|gres/gpu=1|NoDecay"

    assert sync(ctx, admin, dry_run=False, budgets=budget).commands == ()  # nothing changed

    # A dry run says what would change and changes nothing.
    quotas.set_quota(ctx, admin, quotas.QuotaFields("kowloon-rd", None, None, Decimal(4)))
    dry = sync(ctx, admin, dry_run=True, budgets=budget)
    assert dry.commands == (
        "sacctmgr -i modify account where name=kowloon-rd set GrpTRES=gres/gpu=4",
    )
    assert associations(slurm_cluster) == got
    assert sync(ctx, admin, dry_run=True, budgets=budget).commands == dry.commands

    # Slurm itself holds a direct sbatch over the budget: 1 GPU for an hour > 1 GPU-minute.
    submitted = slurm_cluster.run(
        "sbatch", "--parsable", f"--uid={DIRECT}", f"--account={PROJECT_ACCOUNT}", "--gres=gpu:1",
        "--time=60", "--chdir=/tmp", "--output=/dev/null", "--wrap=sleep 1",
    ).strip()  # fmt: skip
    reason = ""
    deadline = time.monotonic() + 20
    while "GRESMinutes" not in reason and time.monotonic() < deadline:
        reason = slurm_cluster.run("squeue", "-h", "-j", submitted, "-o", "%T %r").strip()
        time.sleep(0.2)
    assert reason == "PENDING QOSGrpGRESMinutes"
    # ... and the budget cannot be dodged with another QOS
    with pytest.raises(Exception, match="returned non-zero"):
        slurm_cluster.run(
            "sbatch", f"--uid={DIRECT}", f"--account={PROJECT_ACCOUNT}", "--qos=normal",
            "--chdir=/tmp", "--output=/dev/null", "--wrap=true",
        )  # fmt: skip


def test_the_sync_endpoint_is_for_centre_admins(
    centre: tuple[Context, Principal], slurm_cluster: SlurmCluster
) -> None:
    ctx, _ = centre
    passwords = dict(
        line.split("\t")[:2]
        for line in (ctx.settings.data_dir / "demo-credentials.txt").read_text().splitlines()[1:]
    )
    with TestClient(create_app(ctx.settings, run_scheduler=False)) as http:

        def headers(who: str) -> dict[str, str]:
            r = http.post("/v1/auth/login", json={"username": who, "password": passwords[who]})
            return {"Authorization": f"Bearer {r.json()['token']}"}

        member = http.post("/v1/admin/slurm/sync", json={}, headers=headers("harbour-u-alice"))
        assert member.status_code == 403
        assert member.headers["content-type"] == "application/problem+json"
        dry = http.post("/v1/admin/slurm/sync", json={"dry_run": True}, headers=headers("admin"))
        assert dry.status_code == 200 and dry.json()["dry_run"] is True
        assert "sacctmgr -i add account harbour-u parent=petaport" in dry.json()["commands"]
    assert ("harbour-u", "") not in associations(slurm_cluster)  # dry: nothing changed


def test_petaport_slurm_sync_dry_run_prints_the_commands(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    server = slurm_server(tmp_path, slurm_cluster)
    server.start()
    try:
        env = {**os.environ, "PETAPORT_URL": server.url, "PETAPORT_TOKEN": server.token("admin"),
               "PETAPORT_CONFIG_DIR": str(tmp_path / "cli")}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "petaport", "slurm", "sync", "--dry-run"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "sacctmgr -i add account harbour-u parent=petaport" in done.stdout
    assert "sacctmgr commands would run" in done.stdout
    assert ("harbour-u", "") not in associations(slurm_cluster)
