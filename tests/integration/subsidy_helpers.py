"""Building the subsidy workflow in a test World: staff users with tokens, a scheme with an open
call, and an application of org a carried to any state through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from petaport.domain.ids import new_id
from petaport.domain.tenancy import Membership, Principal, Role, User
from petaport.services import auth
from petaport.storage.repos.tenancy import TenancyRepo
from tests.integration.conftest import World

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SCORES = {"alignment": 8, "compute": 6, "merit": 7, "team": 9, "impact": 5}  # total 6.95
PROPOSAL: dict[str, Any] = {
    "title": "Cantonese LLM pre-training",
    "description": "A 7B model trained on a Cantonese corpus.",
    "gpu_model": "H800",
    "gpu_hours": "29480",
    "duration_months": 6,
    "milestones": [{"title": "Corpus ready", "due_on": "2027-01-31", "planned_gpu_hours": "0"},
                   {"title": "Model trained", "due_on": "2027-05-31",
                    "planned_gpu_hours": "29480"}],
    "declarations": ["accurate", "compliance", "no_double_funding", "reports"],
}  # fmt: skip


def add_staff(world: World, name: str, role: Role, org: str | None = None) -> str:
    """A user ``name`` with centre ``role`` (and membership of ``org``); a token under ``name``."""
    ctx = world.ctx
    user = User(new_id("usr"), name, f"{name}@example.org", name.title(), frozenset({role}),
                True, ctx.clock())  # fmt: skip
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        repo.add_user(user, None)
        s.flush()
        if org is not None:
            repo.add_membership(Membership(new_id("mem"), user.id, world.ids[org],
                                           Role.MEMBER, ctx.clock()))  # fmt: skip
        memberships = repo.memberships_of(user.id)
    issued = auth.issue_token(ctx, Principal(user, memberships), name="t",
                              scopes=frozenset({"*"}), ttl_days=1)  # fmt: skip
    world.tokens[name] = issued.secret
    world.ids[f"usr_{name}"] = user.id
    return user.id


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def scheme_and_call(world: World) -> tuple[str, str]:
    scheme = ok(world.call("root", "POST", "/v1/subsidy/schemes",
                           json={"name": "AISS", "funder": "hk-gov"}), 201)  # fmt: skip
    now = datetime.now(UTC)
    call = ok(world.call("root", "POST", "/v1/subsidy/calls", json={
        "scheme": "AISS", "name": "Call 1", "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=30)).isoformat()}), 201)  # fmt: skip
    return scheme["id"], call["id"]


def draft(world: World, call_id: str, **changes: Any) -> dict[str, Any]:
    body = {**PROPOSAL, "call_id": call_id, "project": "org-a/proj-a", **changes}
    return dict(ok(world.call("a_org_admin", "POST", "/v1/subsidy/applications", json=body), 201))


def submitted(world: World, call_id: str) -> str:
    app = draft(world, call_id)
    ok(world.call("a_org_admin", "POST", f"/v1/subsidy/applications/{app['id']}/submit"))
    return str(app["id"])


def in_review(world: World, call_id: str, *reviewers: str) -> str:
    app_id = submitted(world, call_id)
    ok(world.call("root", "POST", f"/v1/subsidy/applications/{app_id}/screening",
                  json={"eligible": True, "reason": "startup, eligible"}))  # fmt: skip
    for name in reviewers:
        ok(world.call("root", "POST", f"/v1/subsidy/applications/{app_id}/assignments",
                      json={"reviewer": name}), 201)  # fmt: skip
    return app_id


def coi(world: World, who: str, app_id: str, conflicted: bool = False) -> Any:
    body = {"coi": "conflicted", "statement": "I advise this start-up"} if conflicted else {
        "coi": "none"}  # fmt: skip
    return world.call(who, "POST", f"/v1/subsidy/applications/{app_id}/coi", json=body)


def score(world: World, who: str, app_id: str, scores: dict[str, int] | None = None) -> Any:
    body = {"scores": [{"criterion": k, "score": v, "comment": f"{k} ok"}
                       for k, v in (scores or SCORES).items()]}  # fmt: skip
    return world.call(who, "POST", f"/v1/subsidy/applications/{app_id}/scores", json=body)


def at_committee(world: World, call_id: str) -> str:
    """An application of org a scored by reviewer ``rev1`` (add_staff first), at the committee."""
    app_id = in_review(world, call_id, "rev1")
    ok(coi(world, "rev1", app_id))
    ok(score(world, "rev1", app_id), 201)
    return app_id


def approve_body(rate: str | None = "0.70", cap: str | None = "150000.00") -> dict[str, Any]:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    terms: dict[str, Any] = {"gpu_hours": "20000", "valid_from": start.isoformat(),
                             "valid_until": (start + timedelta(days=182)).isoformat(),
                             "cap": cap, "rate": rate, "allowed_gpu_models": ["H800"],
                             "on_cap": "bill_org", "conditions": "Quarterly reports."}  # fmt: skip
    return {"outcome": "approved", "reasons": "Strong, well-sized request.", "terms": terms}
