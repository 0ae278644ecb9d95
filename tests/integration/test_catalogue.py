"""The catalogue through the API on both databases (fake backend): entries, versions, gated
access, use in jobs and its records, expiry, checksums, residency, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.catalogue_helpers import (
    entry,
    grant,
    publish,
    published_dataset,
    storage,
    version,
    write_dataset,
)
from tests.integration.conftest import World


def submit(world: World, who: str, project: str, uses: list[str], **kw: Any) -> Any:
    body = {"name": "reader", "project": world.ids[project], "command": ["true"], "uses": uses,
            **kw}  # fmt: skip
    return world.call(who, "POST", "/v1/jobs", json=body)


def test_registering_hashes_the_content_and_refuses_other_orgs_paths(world: World) -> None:
    made = entry(world, "a_member", "rainfall")
    path = write_dataset(world, "org-a", "rainfall")
    v = version(world, "a_member", made["id"], path)
    assert v["size_bytes"] == sum(f.stat().st_size for f in path.iterdir())
    assert len(v["sha256"]) == 64 and v["status"] == "ready"
    again = world.call("a_member", "POST", f"/v1/catalogue/entries/{made['id']}/versions",
                       json={"version": "2", "path": "datasets/rainfall",
                             "sha256": "0" * 64})  # fmt: skip
    assert again.status_code == 422 and again.json()["code"] == "checksum_mismatch"
    relative = world.call("a_member", "POST", f"/v1/catalogue/entries/{made['id']}/versions",
                          json={"version": "2", "path": "datasets/rainfall",
                                "sha256": v["sha256"]})  # fmt: skip
    assert relative.status_code == 201, relative.text
    theirs = write_dataset(world, "org-b", "secret")
    for path_text in (str(theirs), "../org-b/datasets/secret", "/etc"):
        r = world.call("a_member", "POST", f"/v1/catalogue/entries/{made['id']}/versions",
                       json={"version": "3", "path": path_text})  # fmt: skip
        assert r.status_code == 404, (path_text, r.text)
    (storage(world, "org-a") / "link").symlink_to(theirs)
    linked = world.call("a_member", "POST", f"/v1/catalogue/entries/{made['id']}/versions",
                        json={"version": "3", "path": "link"})  # fmt: skip
    assert linked.status_code == 404
    dup = world.call("a_member", "POST", f"/v1/catalogue/entries/{made['id']}/versions",
                     json={"version": "1", "path": str(path)})  # fmt: skip
    assert dup.status_code == 409 and dup.json()["code"] == "version_exists"
    viewer = world.call("a_viewer", "POST", "/v1/catalogue/entries",
                        json={"kind": "dataset", "name": "x", "owner_org": "org-a",
                              "licence": "MIT"})  # fmt: skip
    assert viewer.status_code == 403


def test_another_tenant_cannot_see_a_private_entry(world: World) -> None:
    made = entry(world, "a_member", "private-notes")
    version(world, "a_member", made["id"], write_dataset(world, "org-a", "private-notes"))
    assert world.call("b_member", "GET", f"/v1/catalogue/entries/{made['id']}").status_code == 404
    assert world.call("b_member", "GET", "/v1/catalogue/entries").json() == []
    refused = submit(world, "b_member", "prj_b", ["dataset:private-notes"])
    assert refused.status_code == 404
    asked = world.call("b_member", "POST",
                       f"/v1/catalogue/entries/{made['id']}/access-requests",
                       json={"project": world.ids["prj_b"], "purpose": "please let us in",
                             "accept_data_use_agreement": True})  # fmt: skip
    assert asked.status_code == 404
    names = [e["name"] for e in world.call("a_viewer", "GET", "/v1/catalogue/entries").json()]
    assert names == ["private-notes"]
    assert world.call("root", "GET", f"/v1/catalogue/entries/{made['id']}").status_code == 200


def test_search_and_filters(world: World) -> None:
    published_dataset(world, "rainfall")
    published_dataset(world, "census", sensitivity="public")
    entry(world, "b_member", "tides", owner="org-b")

    def names(who: str, **params: str) -> list[str]:
        found = world.call(who, "GET", "/v1/catalogue/entries", params=params).json()
        return [e["name"] for e in found]

    assert names("b_member") == ["census", "rainfall", "tides"]
    assert names("b_member", q="rainfall district") == []  # words must all match
    assert names("b_member", q="RAINFALL tests") == ["rainfall"]
    assert names("b_member", sensitivity="public") == ["census"]
    assert names("b_member", owner="org-b") == ["tides"]
    assert names("a_member", kind="model") == []


def test_a_restricted_dataset_needs_a_grant_and_each_use_is_recorded(world: World) -> None:
    data = published_dataset(world, "rainfall")
    assert (
        data["env_var"] == "PETAPORT_DATASET_RAINFALL" and data["ref"] == "dataset:org-a/rainfall"
    )
    refused = submit(world, "b_member", "prj_b", ["dataset:rainfall"])
    assert refused.status_code == 403
    assert refused.json()["code"] == "catalogue_access_required"
    assert "no approved access grant" in refused.json()["detail"]
    assert world.call("a_member", "GET", "/v1/catalogue/uses",
                      params={"entry_id": data["id"]}).json() == []  # fmt: skip
    granted = grant(world, data["id"])
    assert granted["status"] == "approved" and granted["valid_now"]
    ok = submit(world, "b_member", "prj_b", ["dataset:org-a/rainfall"])
    assert ok.status_code == 201, ok.text
    assert ok.json()["uses"] == ["dataset:org-a/rainfall@1"]
    own = submit(world, "a_member", "prj_a", ["dataset:rainfall@1"])  # the owner needs none
    assert own.status_code == 201, own.text
    uses = world.call("a_org_admin", "GET", "/v1/catalogue/uses",
                      params={"entry_id": data["id"]}).json()  # fmt: skip
    assert {(u["job_id"], u["project_id"], u["version"]) for u in uses} == {
        (ok.json()["id"], world.ids["prj_b"], "1"),
        (own.json()["id"], world.ids["prj_a"], "1"),
    }
    theirs = world.call("b_member", "GET", "/v1/catalogue/uses",
                        params={"entry_id": data["id"]}).json()  # fmt: skip
    assert [u["job_id"] for u in theirs] == [ok.json()["id"]]
    world.cycle()
    launched = [x for x in world.fake.launches if x.job_id == ok.json()["id"]]
    assert launched and launched[0].spec.uses[0].source.endswith("/org-a/datasets/rainfall")


def test_decisions_rights_and_rejection(world: World) -> None:
    data = published_dataset(world, "rainfall")
    body = {"project": world.ids["prj_b"], "purpose": "flood risk research",
            "accept_data_use_agreement": False}  # fmt: skip
    path = f"/v1/catalogue/entries/{data['id']}/access-requests"
    assert world.call("b_member", "POST", path, json=body).status_code == 422
    body["accept_data_use_agreement"] = True
    asked = world.call("b_member", "POST", path, json=body).json()
    assert world.call("b_member", "POST", path, json=body).json()["code"] == "grant_pending"
    assert not asked["can_decide"]
    decision = f"/v1/catalogue/grants/{asked['id']}/decision"
    self_approve = world.call("b_org_admin", "POST", decision, json={"approve": True,
                              "expires_at": "2099-01-01T00:00:00Z"})  # fmt: skip
    assert self_approve.status_code == 403
    assert world.call("a_member", "POST", decision, json={"approve": False,
                      "reason": "no"}).status_code == 403  # fmt: skip
    no_reason = world.call("a_org_admin", "POST", decision, json={"approve": False})
    assert no_reason.status_code == 422
    rejected = world.call("a_org_admin", "POST", decision,
                          json={"approve": False, "reason": "purpose too vague"})  # fmt: skip
    assert rejected.json()["status"] == "rejected"
    assert world.call("a_org_admin", "POST", decision, json={"approve": True,
                      "expires_at": "2099-01-01T00:00:00Z"}).status_code == 409  # fmt: skip
    pending = world.call("a_org_admin", "GET", "/v1/catalogue/grants").json()
    assert [g["reason"] for g in pending] == ["purpose too vague"]
    assert world.call("b_member", "GET", f"/v1/catalogue/grants/{asked['id']}").status_code == 200
    refused = submit(world, "b_member", "prj_b", ["dataset:rainfall"])
    assert refused.json()["code"] == "catalogue_access_required"


def test_an_expired_grant_blocks_new_jobs(world: World) -> None:
    data = published_dataset(world, "rainfall")
    grant(world, data["id"], hours=1)
    assert submit(world, "b_member", "prj_b", ["dataset:rainfall"]).status_code == 201
    later = datetime.now(UTC) + timedelta(hours=2)
    world.ctx.clock = lambda: later
    refused = submit(world, "b_member", "prj_b", ["dataset:rainfall"])
    assert refused.status_code == 403 and "expired" in refused.json()["detail"]
    shown = world.call("b_member", "GET", "/v1/catalogue/grants").json()
    assert [g["valid_now"] for g in shown] == [False]


def test_a_public_dataset_needs_no_approval(world: World) -> None:
    data = published_dataset(world, "census", sensitivity="public")
    assert submit(world, "b_member", "prj_b", ["dataset:census"]).status_code == 201
    r = world.call("b_member", "POST", f"/v1/catalogue/entries/{data['id']}/access-requests",
                   json={"project": world.ids["prj_b"], "purpose": "just to be sure",
                         "accept_data_use_agreement": True})  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "grant_not_needed"
    bad = submit(world, "b_member", "prj_b", ["table:census"])
    assert bad.status_code == 422


def test_a_checksum_mismatch_is_detected_and_the_version_refused(world: World) -> None:
    data = published_dataset(world, "rainfall")
    path = f"/v1/catalogue/entries/{data['id']}/versions/1/verify"
    assert world.call("a_member", "POST", path).json()["status"] == "ready"
    (storage(world, "org-a") / "datasets" / "rainfall" / "data.csv").write_text("tampered\n")
    checked = world.call("a_member", "POST", path).json()
    assert checked["status"] == "corrupt" and checked["verified_at"]
    refused = submit(world, "a_member", "prj_a", ["dataset:rainfall"])
    assert refused.status_code == 409 and refused.json()["code"] == "version_corrupt"
    assert world.call("b_member", "POST", path).status_code == 403


def test_resident_only_data_needs_a_pool_in_hong_kong_at_submission(world: World) -> None:
    data = published_dataset(world, "bank-ledgers", sensitivity="resident_only")
    grant(world, data["id"])
    pools = world.call("root", "GET", "/v1/node-pools").json()
    assert [p["in_hong_kong"] for p in pools] == [True]  # the backend's own pool
    assert submit(world, "b_member", "prj_b", ["dataset:bank-ledgers"]).status_code == 201
    abroad = world.call("root", "POST", "/v1/node-pools", json={
        "name": "overseas", "gpu_model": "A100", "gpus_per_node": 8, "cpus_per_node": 64,
        "memory_mb_per_node": 512_000, "node_count": 2, "in_hong_kong": False})  # fmt: skip
    assert abroad.status_code == 201, abroad.text
    # the scheduler keeps it on the Hong Kong pool (test_catalogue_queue.py)
    assert submit(world, "b_member", "prj_b", ["dataset:bank-ledgers"]).status_code == 201
    refused = submit(world, "b_member", "prj_b", ["dataset:bank-ledgers"], gpus=1,
                     gpu_model="A100")  # fmt: skip
    assert refused.status_code == 422 and refused.json()["code"] == "residency_required"
    pinned = submit(world, "b_member", "prj_b", ["dataset:bank-ledgers"], gpus=1,
                    gpu_model="H800")  # fmt: skip
    assert pinned.status_code == 201, pinned.text


def test_a_model_stays_private_without_an_assessment(world: World) -> None:
    model = entry(world, "a_member", "weather-lm", kind="model")
    version(world, "a_member", model["id"], write_dataset(world, "org-a", "weather-lm"))
    r = publish(world, "a_org_admin", model["id"])
    assert r.status_code == 409 and r.json()["code"] == "assessment_required"
    assert world.call("b_member", "GET", f"/v1/catalogue/entries/{model['id']}").status_code == 404
    assert publish(world, "a_member", model["id"]).status_code == 403
