"""Subsidy grants through the real ``petaport`` CLI against a real server with the demo centre:
list and show with the drawdown against the caps, suspend and resume (the committee; refused
to the grantee), a progress report with its GPU-hours filled in, and the funder statement as
CSV whose total row matches the ledger's split."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.e2e import test_cli
from tests.e2e.subsidy_data import (
    FUNDER,
    FUNDER_SHARE,
    LIST_PRICE,
    ORG_SHARE,
    FundedGrant,
    funded_grant,
)
from tests.e2e.test_cli import Cli, assert_clean_error

server = test_cli.server  # the module's own server and logged-in CLIs (fixtures)
make_cli = test_cli.make_cli


@pytest.fixture(scope="module")
def grant(server: LiveServer) -> FundedGrant:
    return funded_grant(server, "lantern-ai/vision-poc")


def test_grants_list_show_suspend_and_resume(make_cli: Callable[[str], Cli],
                                             grant: FundedGrant) -> None:  # fmt: skip
    owner, committee = make_cli("lantern-ai-admin"), make_cli("committee")
    listed = owner.json("grants", "list")
    assert [g["id"] for g in listed] == [grant.grant_id]
    assert (listed[0]["funded"], listed[0]["percent_cap"]) == (FUNDER_SHARE, "50.0")
    assert listed[0]["percent_gpu_hours"] == "80.0"
    assert make_cli("kowloon-rd-admin").json("grants", "list") == []  # another org's grant
    table = owner.ok("grants", "list")
    assert grant.grant_id in table and "50.0%" in table and "80.0%" in table
    shown = owner.ok("grants", "show", grant.grant_id)
    assert f"HKD {FUNDER_SHARE} of HKD 571.20 (50.0%)" in shown
    assert "16.000 of 20 (80.0%)" in shown

    refused = owner("grants", "suspend", grant.grant_id, "--reason", "mine")
    assert refused.returncode != 0 and "committee" in refused.stderr
    assert_clean_error(refused)
    out = committee.ok("grants", "suspend", grant.grant_id, "--reason", "report missing")
    assert out.strip() == f"Grant {grant.grant_id} is suspended."
    assert owner.json("grants", "show", grant.grant_id)["status"] == "suspended"
    again = committee("grants", "suspend", grant.grant_id)
    assert again.returncode != 0 and "cannot be suspended" in again.stderr
    assert_clean_error(again)
    assert committee.ok("grants", "resume", grant.grant_id).strip().endswith("is active.")
    unknown = committee("grants", "show", "grt_nothing")
    assert unknown.returncode != 0
    assert_clean_error(unknown)


def test_grants_report_and_reports(make_cli: Callable[[str], Cli], grant: FundedGrant) -> None:
    owner, member = make_cli("lantern-ai-admin"), make_cli("lantern-ai-alice")
    refused = member("grants", "report", grant.grant_id, "--summary", "not an admin")
    assert refused.returncode != 0 and "org admin" in refused.stderr
    out = owner.ok("grants", "report", grant.grant_id, "--summary", "Baseline trained",
                   "-m", "m1=done, 16 GPU-hours")  # fmt: skip
    assert out.startswith("Filed report rpt_")
    assert "16.000 GPU-hours used, 12 planned" in out and "(late)" not in out
    periods = owner.json("grants", "reports", grant.grant_id)
    assert len(periods) == 1 and not periods[0]["overdue"]
    report = periods[0]["report"]
    assert report["progress"] == {"m1": "done, 16 GPU-hours"} and report["late"] is False
    assert "filed" in owner.ok("grants", "reports", grant.grant_id)
    twice = owner("grants", "report", grant.grant_id, "--summary", "again")
    assert twice.returncode != 0 and "has its report" in twice.stderr


def test_subsidy_statement_csv(make_cli: Callable[[str], Cli], grant: FundedGrant,
                               tmp_path: Path) -> None:  # fmt: skip
    committee = make_cli("committee")
    path = tmp_path / "statement.csv"
    out = committee.ok("subsidy", "statement", "--funder", FUNDER, "--month", grant.month,
                       "--csv", "-f", str(path))  # fmt: skip
    assert out.startswith(f"Saved {path}")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    line, total = rows
    assert (line["grant_id"], line["org"], line["project"]) == (
        grant.grant_id,
        "Lantern Robotics Ltd",
        "Warehouse vision proof of concept",
    )
    for row in (line, total):
        assert (row["list_price"], row["funder_share"], row["org_share"]) == (
            LIST_PRICE,
            FUNDER_SHARE,
            ORG_SHARE,
        )
    assert total["org"] == "Total" and total["gpu_hours"] == "16.000"
    table = committee.ok("subsidy", "statement", "--funder", FUNDER, "--month", grant.month)
    assert "Lantern Robotics Ltd" in table and f"HKD {FUNDER_SHARE}" in table
    refused = make_cli("lantern-ai-admin")("subsidy", "statement", "--funder", FUNDER,
                                           "--month", grant.month, "--csv",
                                           "-f", str(tmp_path / "no.csv"))  # fmt: skip
    assert refused.returncode != 0 and "committee" in refused.stderr
