"""Tenancy and access through the API on both databases: orgs, projects, users, tokens."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.integration.conftest import World


def test_centre_admin_builds_a_tenant_and_org_admin_runs_it(world: World) -> None:
    org = world.call(
        "root",
        "POST",
        "/v1/orgs",
        json={"name": "Neon Labs", "slug": "neon", "category": "startup"},
    )
    assert org.status_code == 201 and org.json()["category"] == "startup"
    dup = world.call(
        "root",
        "POST",
        "/v1/orgs",
        json={"name": "Neon 2", "slug": "neon", "category": "enterprise"},
    )
    assert dup.status_code == 409 and dup.json()["code"] == "slug_taken"
    boss = world.call(
        "root",
        "POST",
        "/v1/users",
        json={
            "username": "neon-boss",
            "email": "boss@neon.example",
            "password": "s3cret-pass!",
            "org_id": org.json()["id"],
            "org_role": "org_admin",
        },
    )
    assert boss.status_code == 201
    login = world.http.post(
        "/v1/auth/login", json={"username": "neon-boss", "password": "s3cret-pass!"}
    )
    assert login.status_code == 201 and login.json()["token"].startswith("tok_")
    h = {"Authorization": f"Bearer {login.json()['token']}"}
    project = world.http.post(
        "/v1/projects",
        headers=h,
        json={"org_id": org.json()["id"], "name": "Vision", "slug": "vision"},
    )
    assert project.status_code == 201
    member = world.http.post(
        "/v1/users",
        headers=h,
        json={"username": "neon-dev", "email": "dev@neon.example", "org_id": org.json()["id"]},
    )
    assert member.status_code == 201
    me = world.http.get("/v1/me", headers=h).json()
    assert me["user"]["username"] == "neon-boss" and me["memberships"][0]["role"] == "org_admin"
    assert [o["slug"] for o in world.http.get("/v1/orgs", headers=h).json()["items"]] == ["neon"]
    other = world.http.post(
        "/v1/orgs", headers=h, json={"name": "X", "slug": "x", "category": "startup"}
    )
    assert other.status_code == 403


def test_wrong_password_and_bad_tokens_are_401(world: World) -> None:
    r = world.http.post("/v1/auth/login", json={"username": "root", "password": "nope-nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    ghost = world.http.post("/v1/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert ghost.status_code == 401 and ghost.json()["detail"] == r.json()["detail"]
    for token in ("garbage", "tok_x.y", world.tokens["root"] + "x"):
        resp = world.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert world.http.get("/v1/me").status_code == 401


def test_tokens_are_shown_once_scoped_and_revocable(world: World) -> None:
    made = world.call(
        "a_member",
        "POST",
        "/v1/tokens",
        json={"name": "ro", "scopes": ["jobs:read"], "ttl_days": 7},
    ).json()
    ro = {"Authorization": f"Bearer {made['token']}"}
    listed = world.call("a_member", "GET", "/v1/tokens").json()["items"]
    assert made["id"] in [t["id"] for t in listed]
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    assert world.http.get("/v1/jobs", headers=ro).status_code == 200
    submit = world.http.post(
        "/v1/jobs",
        headers=ro,
        json={"name": "x", "project": world.ids["prj_a"], "command": ["true"]},
    )
    assert submit.status_code == 403 and "scope" in submit.json()["detail"]
    widen = world.http.post("/v1/tokens", headers=ro, json={"name": "w", "scopes": ["*"]})
    assert widen.status_code == 422
    revoked = world.call("a_member", "DELETE", f"/v1/tokens/{made['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert world.http.get("/v1/jobs", headers=ro).status_code == 401


def test_expired_tokens_stop_working(world: World) -> None:
    made = world.call(
        "a_member", "POST", "/v1/tokens", json={"name": "short", "ttl_days": 1}
    ).json()
    h = {"Authorization": f"Bearer {made['token']}"}
    assert world.http.get("/v1/me", headers=h).status_code == 200
    real_clock = world.ctx.clock
    world.ctx.clock = lambda: real_clock() + timedelta(days=2)
    world.ctx.forget_principals()
    assert world.http.get("/v1/me", headers=h).status_code == 401


def test_memberships_grant_and_remove_access(world: World) -> None:
    b_user = world.ids["usr_b_member"]
    added = world.call(
        "a_org_admin",
        "POST",
        "/v1/memberships",
        json={
            "org_id": world.ids["org_a"],
            "user_id": b_user,
            "role": "viewer",
            "project_id": world.ids["prj_a"],
        },
    )
    assert added.status_code == 201
    seen = world.call("b_member", "GET", f"/v1/projects/{world.ids['prj_a']}")
    assert seen.status_code == 200
    again = world.call(
        "a_org_admin",
        "POST",
        "/v1/memberships",
        json={
            "org_id": world.ids["org_a"],
            "user_id": b_user,
            "role": "viewer",
            "project_id": world.ids["prj_a"],
        },
    )
    assert again.status_code == 409
    gone = world.call("a_org_admin", "DELETE", f"/v1/memberships/{added.json()['id']}")
    assert gone.status_code == 204
    assert world.call("b_member", "GET", f"/v1/projects/{world.ids['prj_a']}").status_code == 404


def test_disabled_users_cannot_call(world: World) -> None:
    assert world.call("a_member", "GET", "/v1/me").status_code == 200
    r = world.call(
        "root", "PATCH", f"/v1/users/{world.ids['usr_a_member']}", json={"is_active": False}
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert world.call("a_member", "GET", "/v1/me").status_code == 401


def test_node_pools_and_capacity_in_gpus_and_pflops(world: World) -> None:
    pool = world.call(
        "root",
        "POST",
        "/v1/node-pools",
        json={
            "name": "h800-a",
            "gpu_model": "H800",
            "gpus_per_node": 8,
            "cpus_per_node": 128,
            "memory_mb_per_node": 2_000_000,
            "node_count": 4,
        },
    )
    assert pool.status_code == 201
    assert (
        Decimal(pool.json()["peak_pflops"]) == Decimal("31.68") and pool.json()["total_gpus"] == 32
    )
    cap = world.call("a_member", "GET", "/v1/capacity").json()
    assert cap["gpus"] == 40 and cap["precision"] == "BF16 dense"
    assert (
        world.call(
            "a_org_admin",
            "POST",
            "/v1/node-pools",
            json={
                "name": "x",
                "gpus_per_node": 0,
                "cpus_per_node": 1,
                "memory_mb_per_node": 1,
                "node_count": 1,
            },
        ).status_code
        == 403
    )


def test_admins_cannot_lock_themselves_out_and_types_are_strict(world: World) -> None:
    me = world.ids["usr_root"]
    r = world.call("root", "PATCH", f"/v1/users/{me}", json={"is_active": False})
    assert r.status_code == 409 and r.json()["code"] == "cannot_disable_self"
    loose = world.call(
        "root", "PATCH", f"/v1/users/{world.ids['usr_a_member']}", json={"is_active": 0}
    )
    assert loose.status_code == 422
    job = world.call(
        "a_member",
        "POST",
        "/v1/jobs",
        json={"name": "x", "project": world.ids["prj_a"], "command": ["true"], "gpus": "2"},
    )
    assert job.status_code == 422
    assert world.call("root", "GET", "/v1/me").status_code == 200


def test_method_not_allowed_lists_every_allowed_method(world: World) -> None:
    r = world.call("root", "DELETE", "/v1/jobs")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert r.json()["code"] == "method_not_allowed"
