"""The subsidy workflow through the real ``petaport`` CLI against a real server with the demo
centre (its AISS scheme and open call): calculate, apply with a PDF, screen, assign, declare,
score, decide (a rate above the maximum refused), and read the stage clock and audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.e2e import test_cli
from tests.e2e.test_cli import Cli
from tests.integration.subsidy_helpers import PDF, PROPOSAL

server = test_cli.server  # the module's server and logged-in CLIs (fixtures)
make_cli = test_cli.make_cli


def test_apply_review_and_approve(make_cli: Callable[[str], Cli], tmp_path: Path) -> None:
    applicant, secretariat = make_cli("harbour-u-admin"), make_cli("admin")
    reviewer, committee = make_cli("reviewer"), make_cli("committee")
    estimate = applicant.ok("subsidy", "calculate", "-N", "7e9", "-D", "1e12", "--gpu", "H800")
    assert "29479.2" in estimate and "6·N·D" in estimate and "MFU" in estimate
    call = applicant.json("subsidy", "calls", "--open")[0]["id"]
    (tmp_path / "p.json").write_text(json.dumps(PROPOSAL))
    (tmp_path / "plan.pdf").write_bytes(PDF)
    app_id = applicant.ok("subsidy", "apply", "--call", call, "-p", "harbour-u/llm-pretrain",
                          str(tmp_path / "p.json")).strip()  # fmt: skip
    assert len(applicant.ok("subsidy", "attach", app_id, str(tmp_path / "plan.pdf")).strip()) == 64
    assert "version 1" in applicant.ok("subsidy", "submit", app_id)
    frozen = applicant("subsidy", "edit", app_id, str(tmp_path / "p.json"))
    assert frozen.returncode == 1 and "frozen" in frozen.stderr
    assert secretariat.ok("subsidy", "screen", app_id).strip() == "review"
    secretariat.ok("subsidy", "assign", app_id, "reviewer")
    assert "no conflict" in reviewer.ok("subsidy", "coi", app_id)
    scored = reviewer.ok("subsidy", "score", app_id, *[f"-s{k}={v}" for k, v in
                         {"alignment": 8, "compute": 6, "merit": 7, "team": 9,
                          "impact": 5}.items()])  # fmt: skip
    assert "6.95" in scored
    hidden = applicant("subsidy", "reviews", app_id)
    assert hidden.returncode == 3  # not found: the applicant never sees reviews
    assert "6.95" in committee.ok("subsidy", "reviews", app_id)
    terms = ["--gpu-hours", "20000", "--cap", "150000", "--model", "H800"]
    above = committee("subsidy", "decide", app_id, "approve", "--rate", "0.95", *terms)
    assert above.returncode == 1 and "maximum" in above.stderr
    grant = committee.ok("subsidy", "decide", app_id, "approve", "--rate", "0.70", *terms)
    assert grant.strip().startswith("grt_")
    assert applicant.json("subsidy", "show", app_id)["state"] == "approved"
    stages = secretariat.json("subsidy", "stages")
    assert any(r["application_id"] == app_id and r["state"] == "approved" for r in stages)
    actions = [r["action"] for r in secretariat.json("subsidy", "audit", "--application", app_id)]
    assert set(actions[:2]) == {"grant.created", "decision.approved"}  # the same moment
    assert "review.scored" in actions
    assert applicant("subsidy", "audit").returncode == 1
