"""Tenant isolation: every object endpoint x (anonymous, other tenant, wrong role).

Only 401/403/404 come back, another tenant's objects are "not found" (never "forbidden"), and
no error body carries an identifier of tenant A that the caller did not already send. A final
check makes the matrix fail when a new object endpoint is added without a row here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from petaport.domain.tenancy import Role
from tests.integration.catalogue_helpers import entry, publish, version, write_dataset
from tests.integration.conftest import World
from tests.integration.money import post_usage
from tests.integration.subsidy_helpers import PDF, PROPOSAL, add_staff, draft, scheme_and_call
from tests.unit.billing.builders import usage

# (method, path template, body) for every endpoint that names an object in its path.
OBJECT_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/orgs/{org_a}", None),
    ("GET", "/v1/projects/{prj_a}", None),
    ("GET", "/v1/users/{usr_a_member}", None),
    ("PATCH", "/v1/users/{usr_a_member}", {"is_active": False}),
    ("DELETE", "/v1/memberships/{mem_a_member}", None),
    ("DELETE", "/v1/tokens/{tok_a_member}", None),
    ("GET", "/v1/jobs/{job_a}", None),
    ("POST", "/v1/jobs/{job_a}/cancel", None),
    ("POST", "/v1/jobs/{job_a}/requeue", None),
    ("GET", "/v1/jobs/{job_a}/attempts", None),
    ("GET", "/v1/jobs/{job_a}/events", None),
    ("GET", "/v1/jobs/{job_a}/logs", None),
    ("GET", "/v1/quotas/{quo_a}", None),
    ("PUT", "/v1/quotas/{quo_a}", {"nominal_gpus": 64}),
    ("DELETE", "/v1/quotas/{quo_a}", None),
    ("GET", "/v1/invoices/{inv_a}", None),
    ("GET", "/v1/invoices/{inv_a}/pdf", None),
    ("GET", "/v1/invoices/{inv_a}/csv", None),
    ("GET", "/v1/orgs/{org_a}/invoices/draft", None),
    ("GET", "/v1/budgets/{bud_a}", None),
    ("DELETE", "/v1/budgets/{bud_a}", None),
    ("GET", "/v1/orgs/{org_a}/account", None),
    ("GET", "/v1/orgs/{org_a}/spend", None),
    ("PUT", "/v1/orgs/{org_a}/plan", {"plan": "payg"}),
    ("POST", "/v1/orgs/{org_a}/top-ups", {"amount": "1.00", "reference": "x"}),
    ("GET", "/v1/catalogue/entries/{cat_a}", None),
    ("POST", "/v1/catalogue/entries/{cat_a}/publish", {"published": True}),
    ("POST", "/v1/catalogue/entries/{cat_a}/versions", {"version": "9", "path": "models/m"}),
    ("POST", "/v1/catalogue/entries/{cat_a}/versions/{ver_a}/verify", None),
    (
        "POST",
        "/v1/catalogue/entries/{cat_a}/access-requests",
        {"project": "org-b/proj-b", "purpose": "let us read it", "accept_data_use_agreement": True},
    ),
    ("POST", "/v1/catalogue/entries/{cat_a}/versions/{ver_a}/assessments", {"project": "x/y"}),
    ("GET", "/v1/catalogue/entries/{cat_a}/assessments", None),
    ("GET", "/v1/catalogue/assessments/{asm_a}", None),
    (
        "POST",
        "/v1/catalogue/assessments/{asm_a}/signoff",
        {"approve": True, "risk_level": "low", "conditions": ""},
    ),
    ("GET", "/v1/catalogue/grants/{agr_a}", None),
    ("POST", "/v1/catalogue/grants/{agr_a}/decision", {"approve": False, "reason": "no"}),
    ("GET", "/v1/lab/runs/{job_a}/outputs", None),
    ("GET", "/v1/grants/{grt_a}", None),
    ("POST", "/v1/grants/{grt_a}/suspend", {"reason": "x"}),
    ("POST", "/v1/grants/{grt_a}/resume", {}),
    ("POST", "/v1/grants/{grt_a}/close", {}),
    ("GET", "/v1/grants/{grt_a}/audit", None),
    ("GET", "/v1/grants/{grt_a}/reports", None),
    ("POST", "/v1/grants/{grt_a}/reports", {"summary": "all on track"}),
    ("GET", "/v1/subsidy/applications/{app_a}", None),
    ("PUT", "/v1/subsidy/applications/{app_a}", PROPOSAL),
    ("POST", "/v1/subsidy/applications/{app_a}/submit", None),
    ("POST", "/v1/subsidy/applications/{app_a}/attachments", None),
    ("GET", "/v1/subsidy/applications/{app_a}/attachments/{atc_a}", None),
    ("POST", "/v1/subsidy/applications/{app_a}/screening", {"eligible": True, "reason": ""}),
    ("POST", "/v1/subsidy/applications/{app_a}/assignments", {"reviewer": "rev1"}),
    ("POST", "/v1/subsidy/applications/{app_a}/coi", {"coi": "none", "statement": ""}),
    (
        "POST",
        "/v1/subsidy/applications/{app_a}/scores",
        {"scores": [{"criterion": "team", "score": 5, "comment": ""}]},
    ),
    ("GET", "/v1/subsidy/applications/{app_a}/reviews", None),
    (
        "POST",
        "/v1/subsidy/applications/{app_a}/decision",
        {"outcome": "rejected", "reasons": "no"},
    ),
]
# Centre-wide objects: every tenant may read them; only centre admins may change them.
CENTRE_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/node-pools/{pool}", None),
    (
        "PUT",
        "/v1/node-pools/{pool}",
        {
            "name": "local",
            "gpu_model": "H800",
            "gpus_per_node": 8,
            "cpus_per_node": 8,
            "memory_mb_per_node": 8192,
            "node_count": 1,
        },
    ),
    ("DELETE", "/v1/node-pools/{pool}", None),
    ("GET", "/v1/lab/templates/{template}", None),
    ("POST", "/v1/lab/templates/{template}/estimate", {"project": "org-a/proj-a"}),
    ("POST", "/v1/lab/templates/{template}/runs", {"project": "org-a/proj-a"}),
    ("GET", "/v1/subsidy/schemes/{sch}", None),
    ("PUT", "/v1/subsidy/schemes/{sch}", {"name": "AISS", "funder": "hk-gov"}),
    (
        "PUT",
        "/v1/subsidy/calls/{call}",
        {"name": "x", "opens_at": "2027-01-01T00:00:00Z", "closes_at": "2027-02-01T00:00:00Z"},
    ),
]
# Actions a weaker role of the same org may not take: 403, with nothing changed.
WRONG_ROLE = {
    ("PATCH", "/v1/users/{usr_a_member}"): "a_org_admin",
    ("DELETE", "/v1/memberships/{mem_a_member}"): "a_member",
    ("POST", "/v1/jobs/{job_a}/cancel"): "a_viewer",
    ("POST", "/v1/jobs/{job_a}/requeue"): "a_viewer",
    ("PUT", "/v1/node-pools/{pool}"): "a_org_admin",
    ("DELETE", "/v1/node-pools/{pool}"): "a_org_admin",
    ("PUT", "/v1/quotas/{quo_a}"): "a_org_admin",
    ("DELETE", "/v1/quotas/{quo_a}"): "a_org_admin",
    ("GET", "/v1/invoices/{inv_a}"): "a_member",
    ("GET", "/v1/invoices/{inv_a}/pdf"): "a_viewer",
    ("GET", "/v1/invoices/{inv_a}/csv"): "a_member",
    ("GET", "/v1/orgs/{org_a}/invoices/draft"): "a_viewer",
    ("DELETE", "/v1/budgets/{bud_a}"): "a_member",
    ("PUT", "/v1/orgs/{org_a}/plan"): "a_org_admin",
    ("POST", "/v1/orgs/{org_a}/top-ups"): "a_org_admin",
    ("POST", "/v1/catalogue/entries/{cat_a}/publish"): "a_member",
    ("POST", "/v1/catalogue/entries/{cat_a}/versions"): "a_viewer",
    ("POST", "/v1/catalogue/entries/{cat_a}/versions/{ver_a}/verify"): "a_viewer",
    ("POST", "/v1/catalogue/assessments/{asm_a}/signoff"): "a_org_admin",
    ("POST", "/v1/catalogue/grants/{agr_a}/decision"): "a_org_admin",
    ("POST", "/v1/grants/{grt_a}/suspend"): "a_org_admin",
    ("POST", "/v1/grants/{grt_a}/resume"): "a_org_admin",
    ("POST", "/v1/grants/{grt_a}/close"): "a_org_admin",
    ("GET", "/v1/grants/{grt_a}/audit"): "a_org_admin",
    ("POST", "/v1/grants/{grt_a}/reports"): "a_member",
    ("PUT", "/v1/subsidy/applications/{app_a}"): "a_member",
    ("POST", "/v1/subsidy/applications/{app_a}/submit"): "a_viewer",
    ("POST", "/v1/subsidy/applications/{app_a}/screening"): "a_org_admin",
    ("POST", "/v1/subsidy/applications/{app_a}/assignments"): "a_org_admin",
    ("POST", "/v1/subsidy/applications/{app_a}/decision"): "a_org_admin",
    ("PUT", "/v1/subsidy/schemes/{sch}"): "a_org_admin",
    ("PUT", "/v1/subsidy/calls/{call}"): "a_org_admin",
}
JAN = datetime(2026, 1, 5, tzinfo=UTC)
ID_RE = re.compile(
    r"\b(?:org|prj|usr|mem|tok|pool|job|att|evt|ses|quo|inv|bud|alr|cat|ver|agr|use|asm|"
    r"sch|call|app|atc|rva|dec|grt|aud|rpt)"
    r"_[0-9a-z]{26}\b"
)


def _prepare(world: World) -> dict[str, str]:
    job = world.submit("a_member", "prj_a", gpus=1)
    world.cycle()
    pools = world.call("root", "GET", "/v1/node-pools").json()
    quota = world.call("root", "POST", "/v1/quotas", json={"org": "org-a", "nominal_gpus": 4})
    assert quota.status_code == 201, quota.text
    post_usage(world.ctx.db, usage(JAN, 600, org=world.ids["org_a"], project=world.ids["prj_a"]))
    issued = world.call("root", "POST", "/v1/invoices/issue",
                        json={"month": "2026-01", "org": "org-a"})  # fmt: skip
    assert issued.status_code == 200, issued.text
    budget = world.call("root", "PUT", "/v1/budgets",
                        json={"org": "org-a", "project": "proj-a", "limit": "100"})  # fmt: skip
    assert budget.status_code == 200, budget.text
    ids = {**world.ids, "job_a": job["id"], "pool": pools[0]["id"], "quo_a": quota.json()["id"],
           "inv_a": issued.json()["issued"][0]["id"], "bud_a": budget.json()["id"],
           **_catalogue(world), **_subsidy(world)}  # fmt: skip
    ids["grt_a"] = _grant(world, ids["sch"])
    return ids


def _grant(world: World, scheme_id: str) -> str:
    """A subsidy grant on org a's project, made directly by the centre."""
    made = world.call("root", "POST", "/v1/grants",
                      json={"scheme_id": scheme_id, "project": "org-a/proj-a",
                            "valid_from": "2026-01-01T00:00:00Z",
                            "valid_until": "2027-01-01T00:00:00Z"})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _catalogue(world: World) -> dict[str, str]:
    """A private model of org a with version 1 and an assessment; a grant of org a's project
    for a dataset the centre owns."""
    model = entry(world, "a_member", "private-model", kind="model")
    version(world, "a_member", model["id"], write_dataset(world, "org-a", "private-model"))
    started = world.call("a_member", "POST",
                         f"/v1/catalogue/entries/{model['id']}/versions/1/assessments",
                         json={"project": "org-a/proj-a"})  # fmt: skip
    assert started.status_code == 201, started.text
    centre = entry(world, "root", "centre-data", owner=None)
    version(world, "root", centre["id"], write_dataset(world, "_centre", "centre-data"))
    assert publish(world, "root", centre["id"]).status_code == 200
    asked = world.call("a_member", "POST", f"/v1/catalogue/entries/{centre['id']}/access-requests",
                       json={"project": "org-a/proj-a", "purpose": "centre data for our model",
                             "accept_data_use_agreement": True})  # fmt: skip
    assert asked.status_code == 201, asked.text
    return {"cat_a": model["id"], "ver_a": "1", "asm_a": started.json()["id"],
            "agr_a": asked.json()["id"], "template": "image-throughput"}  # fmt: skip


def _subsidy(world: World) -> dict[str, str]:
    """A draft application of org a with a PDF attached; the scheme and its call."""
    add_staff(world, "rev1", Role.REVIEWER)
    scheme_id, call_id = scheme_and_call(world)
    app = draft(world, call_id)
    attached = world.call("a_org_admin", "POST", f"/v1/subsidy/applications/{app['id']}"
                          "/attachments", content=PDF)  # fmt: skip
    assert attached.status_code == 201, attached.text
    return {"app_a": app["id"], "atc_a": attached.json()["id"], "sch": scheme_id, "call": call_id}


def _check(
    world: World,
    who: str | None,
    method: str,
    template: str,
    body: dict[str, Any] | None,
    ids: dict[str, str],
    allowed: set[int],
) -> None:
    path = template.format(**ids)
    r = world.call(who, method, path, json=body)
    assert r.status_code in allowed, f"{who} {method} {path}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json")
    leaked = set(ID_RE.findall(r.text)) - set(ID_RE.findall(path))
    assert not leaked, f"{who} {method} {path} leaked {leaked}"


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS + CENTRE_ENDPOINTS)
def test_anonymous_gets_401(
    world: World, method: str, template: str, body: dict[str, Any] | None
) -> None:
    _check(world, None, method, template, body, _prepare(world), {401})


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS)
def test_other_tenant_gets_404_for_everything(
    world: World, method: str, template: str, body: dict[str, Any] | None
) -> None:
    ids = _prepare(world)
    for who in ("b_org_admin", "b_member", "b_viewer"):
        _check(world, who, method, template, body, ids, {404})
    job = world.call("a_member", "GET", f"/v1/jobs/{ids['job_a']}").json()
    assert job["state"] == "RUNNING"  # nothing changed
    user = world.call("root", "GET", f"/v1/users/{ids['usr_a_member']}").json()
    assert user["is_active"]
    quota = world.call("root", "GET", f"/v1/quotas/{ids['quo_a']}").json()
    assert quota["nominal_gpus"] == "4.000"


@pytest.mark.parametrize(("method", "template"), list(WRONG_ROLE))
def test_wrong_role_gets_403_and_changes_nothing(world: World, method: str, template: str) -> None:
    ids = _prepare(world)
    body = dict(
        (OBJECT_ENDPOINTS + CENTRE_ENDPOINTS)[
            [(m, t) for m, t, _ in OBJECT_ENDPOINTS + CENTRE_ENDPOINTS].index((method, template))
        ][2]
        or {}
    )
    _check(world, WRONG_ROLE[(method, template)], method, template, body or None, ids, {403})
    assert world.call("a_member", "GET", f"/v1/jobs/{ids['job_a']}").json()["state"] == "RUNNING"
    assert len(world.call("root", "GET", "/v1/node-pools").json()) == 1
    quota = world.call("root", "GET", f"/v1/quotas/{ids['quo_a']}").json()
    assert quota["nominal_gpus"] == "4.000"


def test_lists_and_references_across_tenants_show_nothing(world: World) -> None:
    ids = _prepare(world)
    for path, params in (
        ("/v1/jobs", {"project_id": ids["prj_a"]}),
        ("/v1/projects", {"org_id": ids["org_a"]}),
        ("/v1/users", {"org_id": ids["org_a"]}),
        ("/v1/memberships", {"org_id": ids["org_a"]}),
        ("/v1/orgs", {}),
    ):
        page = world.call("b_org_admin", "GET", path, params=params).json()
        assert not ID_RE.findall(str([i for i in page["items"] if ids["org_a"] in str(i)]))
        assert ids["org_a"] not in str(page) and ids["prj_a"] not in str(page)
    for path, body in (
        ("/v1/projects", {"org_id": ids["org_a"], "name": "x", "slug": "x"}),
        ("/v1/jobs", {"name": "x", "project": ids["prj_a"], "command": ["true"]}),
        ("/v1/jobs", {"name": "x", "project": "org-a/proj-a", "command": ["true"]}),
        (
            "/v1/memberships",
            {"org_id": ids["org_a"], "user_id": ids["usr_b_member"], "role": "member"},
        ),
        ("/v1/users", {"username": "sneaky", "email": "s@example.org", "org_id": ids["org_a"]}),
    ):
        r = world.call("b_org_admin", "POST", path, json=body)
        assert r.status_code == 404, (path, r.text)
    assert ids["job_a"] in [
        j["id"] for j in world.call("a_member", "GET", "/v1/jobs").json()["items"]
    ]
    for path in ("/v1/catalogue/entries", "/v1/catalogue/grants"):
        shown = world.call("b_org_admin", "GET", path).json()
        assert ids["cat_a"] not in str(shown) and ids["agr_a"] not in str(shown)
    uses = world.call("b_org_admin", "GET", "/v1/catalogue/uses", params={"job_id": ids["job_a"]})
    assert uses.status_code == 404


def test_every_object_endpoint_is_in_the_matrix(world: World) -> None:
    spec = world.http.get("/v1/openapi.json").json()
    declared = {
        (m.upper(), re.sub(r"\{[^}]+\}", "{}", p))
        for p, ops in spec["paths"].items()
        if "{" in p
        for m in ops
    }
    covered = {
        (m, re.sub(r"\{[^}]+\}", "{}", t)) for m, t, _ in OBJECT_ENDPOINTS + CENTRE_ENDPOINTS
    }
    assert declared == covered
