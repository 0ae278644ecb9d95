"""Adding a price version through the API, on both databases: only centre admins, never in the
past or before the latest version, never leaving a price out; nothing stored when refused; and
a past charge stays what it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.conftest import World
from tests.integration.money import post_usage
from tests.unit.billing.builders import usage

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def _latest(world: World) -> dict[str, Any]:
    versions = world.call("a_member", "GET", "/v1/prices").json()
    return dict(versions[-1])


def _version(world: World, vid: str, at: str, **changes: str) -> dict[str, Any]:
    """The latest version's prices as a new version ``vid`` from ``at``, with ``changes``
    (``gpu_hour/H800/on-demand`` -> price)."""
    prices = []
    for p in _latest(world)["prices"]:
        name = "/".join(x for x in (p["resource"], p["gpu_model"], p["tier"]) if x)
        prices.append({**p, "unit_price": changes.get(name, p["unit_price"])})
    return {"id": vid, "effective_from": at, "prices": prices}


def _post(world: World, body: dict[str, Any], who: str = "root") -> Any:
    return world.call(who, "POST", "/v1/prices/versions", json=body)


def test_a_centre_admin_adds_a_version_that_never_reprices_the_past(world: World) -> None:
    world.ctx.clock = lambda: NOW
    a, pa = world.ids["org_a"], world.ids["prj_a"]
    post_usage(world.ctx.db, usage(datetime(2026, 11, 2, tzinfo=UTC), 3600, org=a, project=pa))
    before = world.call("a_member", "GET", "/v1/usage").json()
    body = _version(world, "list-2027", "2027-01-01T00:00:00+08:00",
                    **{"gpu_hour/H800/on-demand": "34.00"})  # fmt: skip
    assert _post(world, body, "a_org_admin").status_code == 403
    r = _post(world, body)
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["effective_from"].startswith("2026-12-31T16:00:00")
    h800 = [p for p in added["prices"] if p["gpu_model"] == "H800" and p["tier"] == "on-demand"]
    assert [p["unit_price"] for p in h800] == ["34.00"]
    assert [v["id"] for v in world.call("a_member", "GET", "/v1/prices").json()][-1] == "list-2027"
    assert world.call("a_member", "GET", "/v1/usage").json() == before  # the past stays priced
    again = _post(world, body)
    assert again.status_code == 409 and again.json()["code"] == "price_version_exists"


def test_bad_versions_are_refused_and_nothing_is_stored(world: World) -> None:
    world.ctx.clock = lambda: NOW
    first = _post(world, _version(world, "list-2027", "2027-01-01T00:00:00+08:00"))
    assert first.status_code == 201, first.text
    count = len(world.call("root", "GET", "/v1/prices").json())
    incomplete = _version(world, "no-cpu", "2027-06-01T00:00:00+08:00")
    incomplete["prices"] = [p for p in incomplete["prices"] if p["resource"] != "cpu_core_hour"]
    cpu_model = _version(world, "cpu-model", "2027-06-01T00:00:00+08:00")
    cpu_model["prices"].append({**cpu_model["prices"][-1], "resource": "cpu_core_hour",
                                "gpu_model": "H800", "tier": "reserved"})  # fmt: skip
    for body, status, code in (
        (_version(world, "past", "2026-11-01T00:00:00+08:00"), 422, "price_version_in_past"),
        (_version(world, "early", "2026-12-01T00:00:00+08:00"), 422, "price_version_not_latest"),
        (incomplete, 422, "price_version_incomplete"),
        (_version(world, "odd", "2027-06-01T00:30:00+08:00"), 422, "validation_failed"),
        (_version(world, "naive", "2027-06-01T00:00:00"), 422, "validation_failed"),
        (_version(world, "bad", "2027-06-01T00:00:00Z", **{"cpu_core_hour/reserved": "-1"}),
         422, "validation_failed"),
        (cpu_model, 422, "validation_failed"),
        (_version(world, "ancient", "0001-01-01T00:00:00+08:00"), 422, "validation_failed"),
        (_version(world, "list-2027", "2027-06-01T00:00:00Z"), 409, "price_version_exists"),
    ):  # fmt: skip
        r = _post(world, body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body["id"], r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert len(world.call("root", "GET", "/v1/prices").json()) == count
