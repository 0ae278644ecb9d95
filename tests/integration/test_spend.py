"""The spend dashboard's data and new price versions, on both databases.

Usage is metered, rated and posted through the pure core (``tests/integration/money.py``), so
the spend figures can be checked against the stored charges and the ledger to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from petaport.domain.jobs import JobState, QosTier
from petaport.domain.tenancy import Membership, Principal, Role, User
from petaport.services import budgets, spend
from petaport.storage.repos.billing import UsageRepo
from petaport.storage.repos.ledger import LedgerRepo
from tests.integration.conftest import World
from tests.integration.money import post_usage
from tests.unit.billing.builders import usage

# 23:30 on 28 February in Hong Kong: March starts half an hour into the first run.
FEB_END = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 4, tzinfo=UTC)


def _second_project(world: World) -> str:
    body = {"org_id": world.ids["org_a"], "name": "Vision", "slug": "vision"}
    r = world.call("root", "POST", "/v1/projects", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _bill(world: World) -> str:
    """Usage of org a's two projects in February and March (and some of org b's)."""
    a, pa, pb = world.ids["org_a"], world.ids["prj_a"], _second_project(world)
    post_usage(
        world.ctx.db,
        usage(FEB_END, 3 * 3600 + 17, attempt="att_1", org=a, project=pa, cpus=16, mem_mib=65536),
        usage(FEB_END + timedelta(days=3, minutes=7), 5000, attempt="att_2", org=a, project=pb,
              gpus="0.5", model="A100"),
        usage(NOW - timedelta(hours=30), 4000, attempt="att_3", org=a, project=pa,
              tier=QosTier.PREEMPTIBLE, state=JobState.PREEMPTED),
        usage(FEB_END - timedelta(days=9), 7200, attempt="att_4", org=a, project=pb, cpus=4),
        usage(NOW - timedelta(days=2), 3600, attempt="att_5", org=world.ids["org_b"],
              project=world.ids["prj_b"]),
    )  # fmt: skip
    world.ctx.clock = lambda: NOW
    return pb


def _charged(world: World, month: str, project: str | None = None) -> Decimal:
    with world.ctx.db.transaction() as s:
        charges = UsageRepo(s).charges(org_id=world.ids["org_a"], month=month)
    return sum((c.amount.amount for c in charges if project in (None, c.record.project_id)),
               Decimal(0))  # fmt: skip


def _sums_agree(month: dict[str, Any]) -> Decimal:
    """Days, cells and per-day breakdowns all sum to the month's total; returns it."""
    total = Decimal(month["total"])
    days = month["days"]
    assert sum(Decimal(d["total"]) for d in days) == total
    assert sum(Decimal(c["amount"]) for c in month["cells"]) == total
    for d in days:
        assert sum(map(Decimal, d["by_class"].values()), Decimal(0)) == Decimal(d["total"])
        assert sum(map(Decimal, d["by_project"].values()), Decimal(0)) == Decimal(d["total"])
    return total


def test_spend_equals_the_stored_charges_and_the_ledger(world: World) -> None:
    pb = _bill(world)
    r = world.call("a_member", "GET", "/v1/orgs/org-a/spend", params={"month": "2026-03"})
    assert r.status_code == 200, r.text
    body = r.json()
    march, feb = body["month"], body["previous"]
    assert (march["month"], feb["month"], len(march["days"]), len(feb["days"])) == (
        "2026-03", "2026-02", 31, 28)  # fmt: skip
    assert _sums_agree(march) == _charged(world, "2026-03") > 0
    assert _sums_agree(feb) == _charged(world, "2026-02") > 0
    with world.ctx.db.transaction() as s:
        ledger = LedgerRepo(s).income(world.ids["org_a"], "2026-03")
    assert Decimal(body["ledger_total"]) == ledger == Decimal(march["total"])
    usage_api = world.call("a_member", "GET", "/v1/usage", params={"month": "2026-03"}).json()
    assert sum(Decimal(u["amount"]) for u in usage_api) == Decimal(march["total"])
    first = march["days"][0]  # 1 March (HK) holds the run's hours after midnight
    assert first["day"] == "2026-03-01" and "gpu_hour:H800" in first["by_class"]
    assert {c["spend_class"] for c in march["cells"]} >= {"gpu_hour:H800", "gpu_hour:A100",
                                                          "cpu_core_hour"}  # fmt: skip
    credits = [d for d in march["days"] if Decimal(d["total"]) < 0]
    assert not credits  # a preempted run's credit nets within its own day
    assert world.ids["prj_b"] not in str(body) and world.ids["org_b"] not in str(body)
    one = world.call("a_member", "GET", "/v1/orgs/org-a/spend",
                     params={"month": "2026-03", "project": "vision"}).json()  # fmt: skip
    assert one["project_id"] == pb and one["ledger_total"] is None
    assert Decimal(one["month"]["total"]) == _charged(world, "2026-03", pb)


def test_members_of_one_project_see_only_it(world: World) -> None:
    pb = _bill(world)
    user = User("usr_narrow", "narrow", "n@example.org", "Narrow", frozenset(), True, NOW)
    narrowed = Membership("mem_narrow", user.id, world.ids["org_a"], Role.MEMBER, NOW, pb)
    report = spend.spend_report(world.ctx, Principal(user, (narrowed,)), "org-a", "2026-03")
    assert set(report.month.by_project) == {pb} and report.ledger_total is None
    assert report.month.total == _charged(world, "2026-03", pb)
    assert list(report.projects) == [pb]


def test_budget_bars_and_alerts(world: World) -> None:
    _bill(world)
    spent = _charged(world, "2026-03", world.ids["prj_a"])
    limit = (spent / Decimal("0.85")).quantize(Decimal("0.01"))  # 85% spent: the 80% alert
    r = world.call(
        "root",
        "PUT",
        "/v1/budgets",
        json={"org": "org-a", "project": "proj-a", "limit": str(limit), "period": "monthly"},
    )
    assert r.status_code == 200, r.text
    with world.ctx.db.transaction() as s:
        budgets.raise_alerts(s, NOW)
    body = world.call("a_viewer", "GET", "/v1/orgs/org-a/spend").json()
    assert body["month"]["month"] == "2026-03"  # this Hong Kong month by default
    [bar] = body["budgets"]
    shown = (bar["alert_level"], bar["period_label"], bar["percent_spent"])
    assert shown == (80, "2026-03", "85.0")
    assert Decimal(bar["spent"]) == spent
    assert sorted(a["threshold"] for a in body["alerts"]) == [50, 80]
    assert world.call("b_viewer", "GET", "/v1/orgs/org-a/spend").json()["status"] == 404


@pytest.mark.parametrize("ref", ["org-a", "{org_a}"])
def test_another_tenant_and_bad_input(world: World, ref: str) -> None:
    path = f"/v1/orgs/{ref.format(**world.ids)}/spend"
    for who in ("b_org_admin", "b_member"):
        r = world.call(who, "GET", path)
        assert r.status_code == 404
        assert world.ids["org_a"] in path or world.ids["org_a"] not in r.text  # no id leaked
    assert world.call("a_member", "GET", path, params={"month": "2026-13"}).status_code == 422
    other = world.call("a_member", "GET", path, params={"project": "org-b/proj-b"})
    assert other.status_code == 404
    assert world.call("root", "GET", path).status_code == 200  # centre admins: any org
