"""The subsidy workflow through the API on SQLite and PostgreSQL: drafts and frozen submissions,
PDF attachments, screening, assignment, conflicts of interest, blind scoring, decisions that
create the grant, the stage clock and the audit trail."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from petaport.domain.tenancy import Role
from petaport.settings import SubsidyReviewSettings
from petaport.storage.repos.subsidy import GrantRepo
from tests.integration.conftest import World
from tests.integration.subsidy_helpers import (
    PDF,
    PROPOSAL,
    add_staff,
    approve_body,
    at_committee,
    coi,
    draft,
    in_review,
    ok,
    scheme_and_call,
    score,
    submitted,
)

APPS = "/v1/subsidy/applications"


def test_a_draft_is_editable_and_a_submission_is_frozen(world: World) -> None:
    _, call_id = scheme_and_call(world)
    app = draft(world, call_id, declarations=["accurate"])
    assert app["state"] == "draft" and app["can_edit"] and app["version"] == 0
    url = f"{APPS}/{app['id']}"
    refused = world.call("a_org_admin", "POST", f"{url}/submit")
    assert refused.status_code == 422 and "declaration" in refused.json()["detail"]
    edited = ok(world.call("a_org_admin", "PUT", url, json={**PROPOSAL, "title": "Renamed"}))
    assert edited["title"] == "Renamed" and len(edited["milestones"]) == 2
    sent = ok(world.call("a_org_admin", "POST", f"{url}/submit"))
    assert (sent["state"], sent["version"], sent["can_edit"]) == ("submitted", 1, False)
    frozen = world.call("a_org_admin", "PUT", url, json=PROPOSAL)
    assert frozen.status_code == 409 and frozen.json()["code"] == "application_frozen"
    assert ok(world.call("a_viewer", "GET", url))["title"] == "Renamed"  # members read it
    assert world.call("a_member", "PUT", url, json=PROPOSAL).status_code == 403


def test_only_org_admins_apply_and_only_in_open_calls(world: World) -> None:
    _, call_id = scheme_and_call(world)
    body = {**PROPOSAL, "call_id": call_id, "project": "org-a/proj-a"}
    assert world.call("a_member", "POST", APPS, json=body).status_code == 403
    assert world.call("b_org_admin", "POST", APPS, json=body).status_code == 404
    assert world.call("root", "POST", APPS, json=body).status_code == 403  # the secretariat
    now = datetime.now(UTC)
    moved = world.call("root", "PUT", f"/v1/subsidy/calls/{call_id}", json={
        "name": "Call 1", "opens_at": (now - timedelta(days=9)).isoformat(),
        "closes_at": (now - timedelta(days=1)).isoformat()})  # fmt: skip
    assert ok(moved)["open"] is False
    closed = world.call("a_org_admin", "POST", APPS, json=body)
    assert closed.status_code == 409 and closed.json()["code"] == "call_closed"


def test_pdf_attachments_are_checked_stored_and_downloadable(world: World) -> None:
    _, call_id = scheme_and_call(world)
    app = draft(world, call_id)
    url = f"{APPS}/{app['id']}/attachments"
    bad = world.call(
        "a_org_admin",
        "POST",
        url,
        params={"filename": "x.pdf"},
        content=b"PK\x03\x04 a zip",
        headers={"Content-Type": "application/pdf"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "attachment_not_pdf"
    big = PDF + b"0" * (world.ctx.settings.subsidy_review.attachment_max_bytes)
    too_big = world.call("a_org_admin", "POST", url, params={"filename": "x.pdf"}, content=big)
    assert too_big.status_code == 422 and too_big.json()["code"] == "attachment_too_large"
    added = ok(world.call("a_org_admin", "POST", url, params={"filename": "plan.pdf"},
                          content=PDF), 201)  # fmt: skip
    assert added["sha256"] == hashlib.sha256(PDF).hexdigest() and added["size_bytes"] == len(PDF)
    got = world.call("a_viewer", "GET", f"{url}/{added['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert world.call("b_org_admin", "GET", f"{url}/{added['id']}").status_code == 404
    ok(world.call("a_org_admin", "POST", f"{APPS}/{app['id']}/submit"))
    late = world.call("a_org_admin", "POST", url, params={"filename": "more.pdf"}, content=PDF)
    assert late.status_code == 409


def test_request_changes_reopens_and_resubmission_adds_a_version(world: World) -> None:
    _, call_id = scheme_and_call(world)
    app_id = submitted(world, call_id)
    url = f"{APPS}/{app_id}"
    asked = world.call(
        "root",
        "POST",
        f"{url}/decision",
        json={"outcome": "changes_requested", "reasons": "Split milestone 2"},
    )
    assert ok(asked, 201)["application_state"] == "changes_requested"
    reopened = ok(world.call("a_org_admin", "GET", url))
    assert reopened["can_edit"] and reopened["changes_reason"] == "Split milestone 2"
    ok(world.call("a_org_admin", "PUT", url, json={**PROPOSAL, "gpu_hours": "25000"}))
    again = ok(world.call("a_org_admin", "POST", f"{url}/submit"))
    assert again["state"] == "submitted" and again["version"] == 2
    assert [v["snapshot"]["gpu_hours"] for v in again["versions"]] == ["29480", "25000"]
    assert [d["outcome"] for d in again["decisions"]] == ["changes_requested"]


def test_screening_refuses_an_ineligible_category(world: World) -> None:
    ok(world.call("root", "POST", "/v1/subsidy/schemes", json={
        "name": "Universities only", "funder": "hk-gov",
        "eligible_categories": ["university"]}), 201)  # fmt: skip
    _, call_id = scheme_and_call(world)
    calls = ok(world.call("root", "GET", "/v1/subsidy/calls"))
    assert {c["open"] for c in calls} == {True}
    app_id = submitted(world, call_id)
    ok(world.call("root", "PUT", f"/v1/subsidy/schemes/{calls[0]['scheme_id']}", json={
        "name": "AISS", "funder": "hk-gov", "eligible_categories": ["university"]}))  # fmt: skip
    refused = world.call("root", "POST", f"{APPS}/{app_id}/screening",
                         json={"eligible": True, "reason": ""})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["code"] == "category_not_eligible"
    ended = ok(
        world.call(
            "root",
            "POST",
            f"{APPS}/{app_id}/screening",
            json={"eligible": False, "reason": "start-ups are not eligible"},
        )
    )
    assert ended["state"] == "ineligible" and ended["screening"]["eligible"] is False


def test_assignment_coi_and_blind_scoring(world: World) -> None:
    for name in ("rev1", "rev2", "rev3"):
        add_staff(world, name, Role.REVIEWER)
    add_staff(world, "rev_a", Role.REVIEWER, org="org_a")
    _, call_id = scheme_and_call(world)
    app_id = in_review(world, call_id, "rev1", "rev2", "rev3")
    own = world.call("root", "POST", f"{APPS}/{app_id}/assignments", json={"reviewer": "rev_a"})
    assert own.status_code == 409 and own.json()["code"] == "reviewer_from_applicant_org"
    early = score(world, "rev1", app_id)
    assert early.status_code == 409 and early.json()["code"] == "coi_required"
    ok(coi(world, "rev3", app_id, conflicted=True))
    for path in ("reviews", "scores"):
        method = "GET" if path == "reviews" else "POST"
        body = None if method == "GET" else {"scores": [{"criterion": "team", "score": 1}]}
        recused = world.call("rev3", method, f"{APPS}/{app_id}/{path}", json=body)
        assert recused.status_code == 403 and recused.json()["code"] == "recused", path
    ok(coi(world, "rev1", app_id))
    ok(coi(world, "rev2", app_id))
    first = ok(score(world, "rev1", app_id), 201)
    assert Decimal(first["total"]) == Decimal("6.95")
    assert ok(world.call("rev2", "GET", f"{APPS}/{app_id}/reviews"))["reviews"] == []
    assert len(ok(world.call("rev1", "GET", f"{APPS}/{app_id}/reviews"))["reviews"]) == 1
    assert world.call("rev1", "GET", f"{APPS}/{app_id}").json()["state"] == "review"
    ok(score(world, "rev2", app_id, dict.fromkeys(("alignment", "compute", "merit", "team",
                                                   "impact"), 10)), 201)  # fmt: skip
    seen = ok(world.call("rev2", "GET", f"{APPS}/{app_id}/reviews"))
    assert sorted(Decimal(r["total"]) for r in seen["reviews"]) == [Decimal("6.95"), 10]
    assert Decimal(seen["mean_total"]) == Decimal("8.48") and seen["complete"]
    assert ok(world.call("root", "GET", f"{APPS}/{app_id}"))["state"] == "committee"
    twice = score(world, "rev1", app_id)
    assert twice.status_code == 409
    for who in ("a_org_admin", "a_member", "b_org_admin"):
        assert world.call(who, "GET", f"{APPS}/{app_id}/reviews").status_code == 404, who
    mine = ok(world.call("rev1", "GET", "/v1/subsidy/assignments"))
    assert [(m["application_id"], m["scored"]) for m in mine] == [(app_id, True)]


def test_the_committee_approves_within_the_maximum_and_the_grant_exists(world: World) -> None:
    add_staff(world, "rev1", Role.REVIEWER)
    add_staff(world, "chair", Role.COMMITTEE)
    _, call_id = scheme_and_call(world)
    app_id = at_committee(world, call_id)
    url = f"{APPS}/{app_id}/decision"
    assert world.call("root", "POST", url, json=approve_body()).status_code == 403
    above = world.call("chair", "POST", url, json=approve_body(rate="0.95"))
    assert above.status_code == 422 and above.json()["code"] == "rate_above_maximum"
    with world.ctx.db.transaction() as s:
        assert GrantRepo(s).list_grants(project_id=world.ids["prj_a"]) == []
    decided = ok(world.call("chair", "POST", url, json=approve_body()), 201)
    assert decided["application_state"] == "approved" and decided["grant_id"].startswith("grt_")
    with world.ctx.db.transaction() as s:
        grant = GrantRepo(s).get(decided["grant_id"])
    assert (grant.rate, grant.cap and grant.cap.amount) == (Decimal("0.70"), Decimal("150000"))
    assert grant.project_id == world.ids["prj_a"] and grant.application_id == app_id
    assert grant.cap_gpu_hours == 20000 and grant.allowed_gpu_models == {"H800"}
    seen = ok(world.call("a_viewer", "GET", f"{APPS}/{app_id}"))
    assert seen["decisions"][0]["reasons"] == "Strong, well-sized request."
    again = world.call("chair", "POST", url, json=approve_body())
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_rejection_needs_reasons(world: World) -> None:
    add_staff(world, "rev1", Role.REVIEWER)
    add_staff(world, "chair", Role.COMMITTEE)
    _, call_id = scheme_and_call(world)
    app_id = at_committee(world, call_id)
    url = f"{APPS}/{app_id}/decision"
    assert world.call("chair", "POST", url, json={"outcome": "rejected"}).status_code == 422
    done = ok(world.call("chair", "POST", url, json={"outcome": "rejected",
                                                     "reasons": "Out of scope"}), 201)  # fmt: skip
    assert done["application_state"] == "rejected" and done["grant_id"] is None


def test_the_audit_trail_and_the_stage_clock(world: World) -> None:
    add_staff(world, "rev1", Role.REVIEWER)
    add_staff(world, "chair", Role.COMMITTEE)
    _, call_id = scheme_and_call(world)
    app_id = at_committee(world, call_id)
    ok(world.call("chair", "POST", f"{APPS}/{app_id}/decision", json=approve_body()), 201)
    trail = ok(world.call("root", "GET", "/v1/subsidy/audit", params={"application": app_id}))
    assert sorted(r["action"] for r in trail) == sorted([
        "application.created", "application.submitted", "application.screened",
        "review.assigned", "review.coi_declared", "review.scored",
        "application.reviews_complete", "decision.approved", "grant.created"])  # fmt: skip
    assert [r["at"] for r in trail] == sorted((r["at"] for r in trail), reverse=True)
    assert trail[0]["actor_id"] == world.ids["usr_chair"] and trail[0]["grant_id"]
    scored = next(r for r in trail if r["action"] == "review.scored")
    assert scored["actor_id"] == world.ids["usr_rev1"] and scored["details"]["total"] == "6.95"
    for who in ("chair", "a_org_admin", "rev1"):
        assert world.call(who, "GET", "/v1/subsidy/audit").status_code == 403
    waiting = submitted(world, call_id)
    assert ok(world.call("chair", "GET", "/v1/subsidy/stages", params={"overdue": True})) == []
    world.ctx.settings.subsidy_review = SubsidyReviewSettings(screening_days=0.25)
    real = world.ctx.clock
    world.ctx.clock = lambda: real() + timedelta(hours=8)  # type: ignore[method-assign]
    late = ok(world.call("root", "GET", "/v1/subsidy/stages", params={"overdue": True}))
    assert [(r["application_id"], r["clock"]["current"]) for r in late] == [(waiting, "screening")]
    rows = {r["application_id"]: r for r in ok(world.call("root", "GET", "/v1/subsidy/stages"))}
    assert rows[app_id]["clock"]["current"] == "decided" and not rows[app_id]["clock"]["overdue"]
    assert world.call("a_org_admin", "GET", "/v1/subsidy/stages").status_code == 403


def test_the_calculator(world: World) -> None:
    body = {"parameters": "7e9", "tokens": "1e12", "gpu_model": "H800", "precision": "bf16",
            "mode": "training", "mfu": "0.4"}  # fmt: skip
    out = ok(world.call("a_member", "POST", "/v1/subsidy/calculate", json=body))
    assert Decimal(out["flops"]) == Decimal("4.2E+22") and Decimal(out["gpu_hours"]) == Decimal(
        "29479.2")  # fmt: skip
    assert any("MFU" in a for a in out["assumptions"])
    bad = world.call("a_member", "POST", "/v1/subsidy/calculate",
                     json={**body, "gpu_model": "A100", "precision": "fp8"})  # fmt: skip
    assert bad.status_code == 422
