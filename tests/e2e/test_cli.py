"""The real ``petaport`` CLI, run as a subprocess against a real server with the demo centre.

Each test uses its own ``PETAPORT_CONFIG_DIR`` (so logins never leak between tests) and checks
what a user sees: stdout, a one-line error on stderr, and the exit code.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, make_live_server
from tests.integration.money import bill_live_org

pytestmark = pytest.mark.slow
PROJECT = "harbour-u/llm-pretrain"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = make_live_server(tmp_path_factory.mktemp("cli-server"))
    live.start()
    yield live
    live.stop()


class Cli:
    """Runs ``python -m petaport`` with its own config directory."""

    def __init__(self, server: LiveServer, config_dir: Path) -> None:
        self.server, self.config_dir = server, config_dir

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PETAPORT_")}
        env.update(PETAPORT_CONFIG_DIR=str(self.config_dir), PETAPORT_TIMEZONE="Asia/Hong_Kong",
                   COLUMNS="200", **extra)  # fmt: skip
        return env

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 90,
                 **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run([sys.executable, "-m", "petaport", *args], input=stdin, check=False,
                              capture_output=True, text=True, timeout=timeout,
                              env=self.env(**env))  # fmt: skip

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def login(self, username: str) -> subprocess.CompletedProcess[str]:
        password = self.server.credentials[username] + "\n"
        return self("login", "--url", self.server.url, "--username", username,
                    "--password-stdin", stdin=password)  # fmt: skip


@pytest.fixture
def make_cli(server: LiveServer, tmp_path: Path) -> Callable[[str], Cli]:
    def make(username: str) -> Cli:
        cli = Cli(server, tmp_path / f"config-{username}")
        result = cli.login(username)
        assert result.returncode == 0, result.stderr
        return cli

    return make


def wait_for(cli: Cli, job_id: str, states: set[str], timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = cli.json("show", job_id)["job"]
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def assert_clean_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip(), "an error must say what went wrong"


def test_login_stores_a_private_token(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    config = cli.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("tok_")
    me = cli.json("whoami")
    assert me["user"]["username"] == "harbour-u-alice"
    assert "harbour-u-alice" in cli.ok("whoami")


def test_wrong_password_is_a_readable_error(server: LiveServer, tmp_path: Path) -> None:
    cli = Cli(server, tmp_path)
    result = cli("login", "--url", server.url, "-u", "harbour-u-alice", "--password-stdin",
                 stdin="not-the-password\n")  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.startswith("Error: ")
    assert_clean_error(result)
    assert not (tmp_path / "config.json").exists()


def test_gpu_job_runs_lists_logs_and_shows(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    code = "import os;print(os.environ['CUDA_VISIBLE_DEVICES'])"
    job_id = cli.ok("submit", "--gpus", "2", "--project", PROJECT, "--name", "gpu-probe",
                    "--", "python", "-c", code).strip()  # fmt: skip
    assert job_id.startswith("job_")
    listed = {j["id"]: j for j in cli.json("jobs")}
    assert listed[job_id]["name"] == "gpu-probe" and listed[job_id]["gpus"] == 2
    printed = cli("logs", "-f", job_id, timeout=60)  # returns by itself once the job is done
    assert printed.returncode == 0, printed.stderr
    shown = cli.json("show", job_id)
    indices = shown["job"]["allocations"][0]["gpu_indices"]
    assert printed.stdout.strip() == ",".join(str(i) for i in indices)
    assert len(indices) == 2
    assert shown["job"]["state"] == "COMPLETED" and shown["attempts"][0]["exit_code"] == 0
    assert "COMPLETED" in cli.ok("show", job_id)
    table = cli.ok("jobs", "--mine")
    assert job_id in table and PROJECT in table and "COMPLETED" in table


def test_cancel_of_a_running_job_ends_cancelled(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    job_id = cli.ok("submit", "-p", PROJECT, "--", "sleep", "60").strip()
    assert wait_for(cli, job_id, {"RUNNING"})["state"] == "RUNNING"
    assert job_id in cli.ok("cancel", job_id)
    assert wait_for(cli, job_id, {"CANCELLED"}, timeout_s=30)["state"] == "CANCELLED"
    assert [j["id"] for j in cli.json("jobs", "--state", "CANCELLED")] == [job_id]


def test_unknown_job_is_a_readable_error(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    for args in (("show", "job_01nonexistent0000000000000"), ("cancel", "job_nope"),
                 ("logs", "job_nope")):  # fmt: skip
        result = cli(*args)
        assert result.returncode == 3, args
        assert result.stderr.startswith("Error: ") and "(not_found)" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert_clean_error(result)


def test_bad_mem_is_a_usage_error(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    before = len(cli.json("jobs"))
    result = cli("submit", "--mem", "lots", "-p", PROJECT, "--", "true")
    assert result.returncode == 2
    assert "--mem" in result.stderr and "lots" in result.stderr
    assert_clean_error(result)
    assert len(cli.json("jobs")) == before  # nothing was submitted


def test_wait_exits_with_the_job_exit_code(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("harbour-u-alice")
    result = cli("submit", "-p", PROJECT, "--wait", "--", "bash", "-c", "echo oops >&2; exit 7")
    assert result.returncode == 7
    job_id = result.stdout.strip()
    assert "FAILED" in result.stderr
    assert cli.ok("logs", "--stderr", job_id) == "oops\n"


def test_job_file_with_flags_on_top(make_cli: Callable[[str], Cli], tmp_path: Path) -> None:
    cli = make_cli("harbour-u-alice")
    job_file = tmp_path / "job.yaml"
    job_file.write_text(f"name: from-file\nproject: {PROJECT}\nmemory_mb: 2G\nwalltime_s: '5:00'\n"
                        "command: [python, -c, \"import os; print(os.environ['A'], "
                        "os.environ['B'])\"]\nenvironment: {A: file, B: file}\n")  # fmt: skip
    result = cli("submit", "-f", str(job_file), "--env", "B=flag", "--time", "10", "--wait")
    assert result.returncode == 0, result.stderr
    job = cli.json("show", result.stdout.strip())["job"]
    assert (job["name"], job["memory_mb"], job["walltime_s"]) == ("from-file", 2048, 600)
    assert cli.ok("logs", job["id"]) == "file flag\n"


def test_admin_commands_create_and_list(make_cli: Callable[[str], Cli]) -> None:
    cli = make_cli("admin")
    org = cli.json("orgs", "create", "acme-labs", "--name", "Acme Labs", "--category", "startup")
    assert org["slug"] in {o["slug"] for o in cli.json("orgs", "list")}
    project = cli.json("projects", "create", "vision", "--org", "acme-labs", "--name", "Vision")
    assert project["org_id"] == org["id"]
    assert [p["slug"] for p in cli.json("projects", "list", "--org", "acme-labs")] == ["vision"]
    user = json.loads(cli.ok("users", "create", "bob", "--email", "bob@example.org",
                             "--password-stdin", "--org", "acme-labs", "--role", "member",
                             "-o", "json", stdin="a-long-password\n"))  # fmt: skip
    assert "bob" in {u["username"] for u in cli.json("users", "list", "--org", "acme-labs")}
    members = cli.json("members", "list", "--org", "acme-labs")
    assert [(m["user_id"], m["role"]) for m in members] == [(user["id"], "member")]
    token = cli.json("tokens", "create", "ci", "--scope", "jobs:read")
    assert token["token"].startswith(token["id"])
    assert token["id"] in {t["id"] for t in cli.json("tokens", "list")}
    assert "disabled" in cli.ok("users", "disable", "bob")
    assert not next(u for u in cli.json("users", "list") if u["username"] == "bob")["is_active"]


def test_new_token_works_and_logout_revokes(make_cli: Callable[[str], Cli], server: LiveServer,
                                            tmp_path: Path) -> None:  # fmt: skip
    cli = make_cli("harbour-u-admin")
    secret = cli.json("tokens", "create", "script")["token"]
    other = Cli(server, tmp_path / "empty")
    result = other("whoami", "-o", "json", PETAPORT_TOKEN=secret, PETAPORT_URL=server.url)
    assert json.loads(result.stdout)["user"]["username"] == "harbour-u-admin"
    stored = json.loads((cli.config_dir / "config.json").read_text())["token"]
    assert "Logged out" in cli.ok("logout")
    resp = httpx.get(server.url + "/v1/me", headers={"Authorization": f"Bearer {stored}"})
    assert resp.status_code == 401
    result = cli("whoami")
    assert result.returncode == 3 and "petaport login" in result.stderr


def test_unreachable_server_is_a_clear_error(tmp_path: Path, server: LiveServer) -> None:
    cli = Cli(server, tmp_path)
    result = cli("jobs", PETAPORT_URL="http://127.0.0.1:9", PETAPORT_TOKEN="tok_x.y")
    assert result.returncode == 4
    assert "cannot reach Petaport at http://127.0.0.1:9" in result.stderr
    assert_clean_error(result)


def test_quotas_fairshare_and_a_gpu_share(make_cli: Callable[[str], Cli]) -> None:
    admin = make_cli("admin")
    made = admin.json("quotas", "set", PROJECT, "--gpus", "2", "--borrow", "0")
    assert made["nominal_gpus"] == "2.000" and made["borrowing_limit_gpus"] == "0.000"
    changed = admin.json("quotas", "set", PROJECT, "--gpus", "4", "--borrow", "none")
    assert changed["id"] == made["id"] and changed["borrowing_limit_gpus"] is None
    table = admin.ok("quotas", "list")
    assert "harbour-u" in table and "llm-pretrain" in table and "4" in table
    bad = admin("quotas", "set", PROJECT, "--gpus", "lots")
    assert bad.returncode == 2 and "not a number of GPUs" in bad.stderr
    assert_clean_error(bad)
    alice = make_cli("harbour-u-alice")
    denied = alice("quotas", "set", PROJECT, "--gpus", "64")
    assert denied.returncode != 0 and "centre admin" in denied.stderr
    assert_clean_error(denied)
    job_id = alice.ok("submit", "--gpus", "0.5", "-p", PROJECT, "--", "true").strip()
    assert alice.json("show", job_id)["job"]["gpu_fraction"] == "0.5"
    assert wait_for(alice, job_id, {"COMPLETED"})["state"] == "COMPLETED"
    assert "0.5" in alice.ok("jobs", "--mine")
    shares = alice.json("fairshare")
    assert all(0 < s["factor"] <= 1 for s in shares)
    assert "FACTOR" in alice.ok("fairshare")
    admin.ok("quotas", "delete", made["id"], "--yes")


def test_money_commands(make_cli: Callable[[str], Cli]) -> None:
    admin, alice = make_cli("admin"), make_cli("harbour-u-alice")
    versions = admin.json("prices")
    assert versions and any(p["resource"] == "gpu_hour" for p in versions[0]["prices"])
    budget = admin.json("budgets", "set", "harbour-u", "--limit", "5000", "--monthly")
    assert (budget["limit"], budget["period"]) == ("5000", "monthly")
    dry = alice.ok("submit", "--dry-run", "--gpus", "2", "--time", "2h", "-p", PROJECT, "--",
                   "python", "train.py")  # fmt: skip
    assert "nothing submitted" in dry and "Total for 2 h" in dry and budget["id"] in dry
    assert "job_" not in dry
    listed = alice.json("budgets", "list")
    assert [b["id"] for b in listed] == [budget["id"]]
    assert "5,000" in alice.ok("budgets", "list")
    job = alice.ok("submit", "-p", PROJECT, "--", "true").strip()
    assert wait_for(alice, job, {"COMPLETED"})["state"] == "COMPLETED"
    assert isinstance(alice.json("usage", "--org", "harbour-u"), list)
    refused = alice("topup", "harbour-u", "100", "--reference", "x")
    assert refused.returncode == 1 and "centre admin" in refused.stderr
    assert_clean_error(refused)
    bad = admin("budgets", "set", "harbour-u", "--limit", "lots")
    assert bad.returncode == 2
    assert_clean_error(bad)
    acct = admin.json("plan", "harbour-u", "--plan", "poc", "--fee", "1800", "--gpu-hours", "100")
    assert (acct["plan"], acct["plan_fee"]) == ("poc", "1800.00")


def test_invoices_issue_list_show_and_download(make_cli: Callable[[str], Cli], server: LiveServer,
                                               tmp_path: Path) -> None:  # fmt: skip
    bill_live_org(server, "harbour-u", datetime(2026, 1, 20, 2, tzinfo=UTC))
    admin = make_cli("admin")
    early = admin("invoices", "issue", "--month", "2099-01")
    assert early.returncode == 1 and "has not ended" in early.stderr
    issued = admin.json("invoices", "issue", "--month", "2026-01", "--org", "harbour-u")
    number = issued["issued"][0]["number"]
    assert number.startswith("INV-202601-") and issued["issued"][0]["total"] == "408.00"
    again = admin("invoices", "issue", "--month", "2026-01", "--org", "harbour-u")
    assert again.returncode == 1 and "(invoice_issued)" in again.stderr
    assert_clean_error(again)
    org_admin = make_cli("harbour-u-admin")
    listed = org_admin.ok("invoices", "list", "--month", "2026-01")
    assert number in listed and "HKD 408.00" in listed and "Harbour University" in listed
    invoice_id = issued["issued"][0]["id"]
    shown = org_admin.ok("invoices", "show", invoice_id)
    assert "gpu_hour H800 on-demand" in shown and "16.00" in shown  # 8 GPUs x 2 h
    pdf = tmp_path / "inv.pdf"
    org_admin.ok("invoices", "download", invoice_id, "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")
    csv_out = tmp_path / "inv.csv"
    org_admin.ok("invoices", "download", invoice_id, "--csv", "-o", str(csv_out))
    assert csv_out.read_text().splitlines()[-1].endswith(",Total,,,,,408.00,0.00,408.00")
    assert make_cli("harbour-u-alice").json("invoices", "list") == []
    other = make_cli("kowloon-rd-admin")("invoices", "download", invoice_id)
    assert other.returncode == 3 and "not found" in other.stderr
    revenue = admin.ok("revenue", "--month", "2026-01")
    assert "university" in revenue and "HKD 408.00" in revenue
