"""The catalogue in the live scheduling loop, on both databases and the fake backend: a job that
uses resident-only data runs only on nodes of pools in Hong Kong (and says so when none is
left), and a grant that expires between submission and start keeps the job PENDING with its
data never mounted, until access is granted again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from petaport.scheduler import schedule
from petaport.services.scheduling import apply
from petaport.services.snapshot import take_snapshot
from tests.integration.catalogue_helpers import grant, published_dataset
from tests.integration.conftest import World

OVERSEAS = {"name": "overseas", "gpu_model": "H800", "gpus_per_node": 8, "cpus_per_node": 64,
            "memory_mb_per_node": 512 * 1024, "node_count": 1}  # fmt: skip


def two_pools(world: World) -> None:
    """Node ``local`` of the backend's own pool (in Hong Kong) and ``overseas-001`` of pool
    ``overseas`` (not in Hong Kong), alike in every other way."""
    (node,) = world.fake.cluster.nodes
    world.fake.cluster.nodes = (node, replace(node, name="overseas-001"))
    world.loop.forget_inventory()
    r = world.call("root", "POST", "/v1/node-pools", json={**OVERSEAS, "in_hong_kong": False})
    assert r.status_code == 201, r.text


def submit(world: World, gpus: int, uses: list[str], name: str = "job") -> str:
    return world.submit("b_member", "prj_b", name=name, gpus=gpus, uses=uses)["id"]


def job(world: World, job_id: str) -> dict[str, Any]:
    return dict(world.call("b_member", "GET", f"/v1/jobs/{job_id}").json())


def nodes_of(world: World, job_id: str) -> list[str]:
    return [a["node"] for a in job(world, job_id)["allocations"]]


def test_resident_only_jobs_run_only_in_hong_kong(world: World) -> None:
    data = published_dataset(world, "bank-ledgers", sensitivity="resident_only")
    grant(world, data["id"])
    two_pools(world)
    first = submit(world, 8, ["dataset:bank-ledgers"], "first")
    world.cycle()
    assert nodes_of(world, first) == ["local"]
    second = submit(world, 1, ["dataset:bank-ledgers"], "second")
    plain = submit(world, 1, [], "plain")
    world.cycle()
    assert job(world, second)["state"] == "PENDING" and job(world, second)["reason"] == "Resources"
    assert nodes_of(world, plain) == ["overseas-001"]  # the free node abroad is not for it

    (local,) = [p for p in world.call("root", "GET", "/v1/node-pools").json()
                if p["name"] == "local"]  # fmt: skip
    fields = {k: local[k] for k in ("name", "gpu_model", "gpus_per_node", "cpus_per_node",
                                    "memory_mb_per_node", "node_count")}  # fmt: skip
    moved = world.call("root", "PUT", f"/v1/node-pools/{local['id']}",
                       json={**fields, "in_hong_kong": False})  # fmt: skip
    assert moved.status_code == 200, moved.text
    world.cycle()
    assert job(world, second)["reason"] == "NodePoolUnavailable"  # no capacity in Hong Kong
    world.fake.finish(world.fake.running()[0])
    world.cycle()
    assert job(world, second)["state"] == "PENDING"


def test_a_grant_that_expires_before_the_start_keeps_the_job_pending(world: World) -> None:
    data = published_dataset(world, "rainfall")
    grant(world, data["id"], hours=1)
    blocker = world.submit("a_member", "prj_a", name="blocker", gpus=8)
    world.cycle()
    waiting = submit(world, 1, ["dataset:rainfall"], "reader")
    world.cycle()
    assert job(world, waiting)["reason"] == "Resources"

    later = datetime.now(UTC) + timedelta(hours=2)
    world.ctx.clock = lambda: later
    world.fake.finish(world.fake.running()[0])
    world.cycle()
    held = job(world, waiting)
    assert held["state"] == "PENDING" and held["reason"] == "CatalogueAccess"
    done = world.call("a_member", "GET", f"/v1/jobs/{blocker['id']}").json()
    assert done["state"] == "COMPLETED"
    assert [x.job_id for x in world.fake.launches] == [blocker["id"]]  # never mounted
    events = world.call("b_member", "GET", f"/v1/jobs/{waiting}/events").json()
    assert any("access grant has expired" in e["message"] for e in events)

    grant(world, data["id"], hours=48)  # access renewed: it starts as submitted
    world.cycle()
    assert job(world, waiting)["state"] == "RUNNING"
    (launch,) = [x for x in world.fake.launches if x.job_id == waiting]
    assert [r.label for r in launch.spec.uses] == ["dataset:org-a/rainfall@1"]


def test_the_start_itself_rechecks_the_grant(world: World) -> None:
    """A grant that lapses between the cycle's snapshot and the start: the start refuses."""
    data = published_dataset(world, "rainfall")
    grant(world, data["id"], hours=1)
    waiting = submit(world, 1, ["dataset:rainfall"], "reader")
    snapshot, loaded = take_snapshot(world.ctx, world.loop.inventory())
    decisions = schedule(snapshot)
    assert [s.job_id for s in decisions.starts] == [waiting]
    later = datetime.now(UTC) + timedelta(hours=2)
    world.ctx.clock = lambda: later
    assert apply(world.ctx, decisions, loaded) == 0
    assert job(world, waiting)["reason"] == "CatalogueAccess"
    assert world.fake.launches == []
