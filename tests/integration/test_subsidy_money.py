"""Grants through the live loop on both databases: each charge split between funder and org
in the ledger and on the invoice to the cent, the cap reached mid-charge (the rest billed to
the org), stop-mode grants that hold and stop the project's jobs, alerts once each, replay
billing nothing twice, the funder statement equal to the ledger, and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from petaport.billing.ledger import Account, AccountKind, BillingMode, org_account
from petaport.domain.money import Money, round_to_cents
from petaport.domain.subsidy import Scheme
from petaport.services.metering import meter_due
from petaport.storage.repos.billing import UsageRepo
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.subsidy import SchemeRepo
from tests.integration.conftest import World
from tests.integration.test_money import Clock, attempt_id, job

T0 = datetime(2026, 3, 2, 1, 10, tzinfo=UTC)  # 09:10 on 2 March, Hong Kong
RATE = Decimal("0.70")


@pytest.fixture
def clock(world: World) -> Clock:
    c = Clock(T0)
    world.ctx.clock = c
    world.fake.cluster.clock = c
    return c


@pytest.fixture
def scheme(world: World) -> Scheme:
    s = Scheme("sch_aiss", "AISS", "hk-gov")
    with world.ctx.db.transaction() as tx:
        SchemeRepo(tx).save(s, T0)
    return s


def make_grant(world: World, who: str = "root", **body: Any) -> dict[str, Any]:
    base = {"scheme_id": "sch_aiss", "project": world.ids["prj_a"], "rate": "0.70",
            "valid_from": (T0 - timedelta(days=1)).isoformat(),
            "valid_until": (T0 + timedelta(days=200)).isoformat()}  # fmt: skip
    r = world.call(who, "POST", "/v1/grants", json={**base, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def run_for(world: World, clock: Clock, hours: float, **kw: Any) -> str:
    j = world.submit("a_member", "prj_a", **kw)
    world.cycle()
    assert job(world, "a_member", j["id"])["state"] == "RUNNING"
    clock.advance(hours=hours)
    world.fake.finish(attempt_id(world, j["id"]))
    world.cycle()
    return str(j["id"])


def test_each_charge_is_split_to_the_cent_and_the_cap_is_crossed_once(
    world: World, clock: Clock, scheme: Scheme
) -> None:
    g = make_grant(world, cap="100.00")
    run_for(world, clock, 2.5, gpus=2, cpus=2, memory_mb=4096, walltime_s=4 * 3600)
    meter_due(world.ctx)
    assert meter_due(world.ctx).records == 0  # a replay bills (and draws down) nothing twice
    org = world.ids["org_a"]
    with world.ctx.db.transaction() as s:
        charges = UsageRepo(s).charges(org_id=org)
        splits = DrawdownRepo(s).splits([c.source_id for c in charges])
        ledger = LedgerRepo(s)
        funder = ledger.balance(Account(AccountKind.FUNDER_RECEIVABLE, "hk-gov"))
        owed = ledger.balance(org_account(org, BillingMode.POSTPAID))
    listed = sum((c.amount.amount for c in charges), Decimal(0))
    assert listed > Decimal("100.00") / RATE  # enough usage to reach the cap
    shares = {c.source_id: splits[c.source_id].funder if c.source_id in splits else Money.zero()
              for c in charges}  # fmt: skip
    full = [c for c in charges if shares[c.source_id] == round_to_cents(c.amount.amount * RATE)]
    partial = [c for c in charges if c not in full and not shares[c.source_id].is_zero]
    assert len(partial) <= 1  # one charge crosses the cap: funded up to it, the rest the org's
    assert sum((m.amount for m in shares.values()), Decimal(0)) == Decimal("100.00") == funder
    assert owed == listed - Decimal("100.00")  # the org owes its share only
    month = "2026-03"
    draft = world.call("a_org_admin", "GET", f"/v1/orgs/{org}/invoices/draft",
                       params={"month": month}).json()  # fmt: skip
    assert Decimal(draft["subsidy_total"]) == Decimal("100.00")
    assert Decimal(draft["total"]) == listed
    assert Decimal(draft["org_total"]) == listed - Decimal("100.00")
    for line in draft["lines"]:
        mine = [c for c in charges if line["description"].startswith(c.record.resource.value)]
        assert Decimal(line["subsidy"]) == sum((shares[c.source_id].amount for c in mine),
                                               Decimal(0))  # fmt: skip
        assert Decimal(line["subsidy"]) + Decimal(line["org_share"]) == Decimal(line["amount"])
    seen = world.call("a_member", "GET", f"/v1/grants/{g['id']}").json()
    assert Decimal(seen["funded"]) == Decimal("100.00") and seen["percent_cap"] == "100.0"
    account = world.call("a_member", "GET", "/v1/orgs/org-a/account").json()
    assert Decimal(account["month_spend"]) == listed - Decimal("100.00")
    st = world.call("root", "GET", "/v1/funder-statements",
                    params={"funder": "hk-gov", "month": month}).json()  # fmt: skip
    assert st["funder_total"] == st["ledger_total"] == "100.00"
    funded = sum((c.amount.amount for c in charges if c.source_id in splits), Decimal(0))
    assert Decimal(st["list_price"]) == funded and len(st["lines"]) == 1  # the charges it paid
    csv = world.call("root", "GET", "/v1/funder-statements/csv",
                     params={"funder": "hk-gov", "month": month}).text  # fmt: skip
    assert csv.splitlines()[-1].endswith(f",{funded},100.00,{funded - Decimal('100.00')},"
                                         f"{Decimal(st['gpu_hours'])}")  # fmt: skip
    clock.now = datetime(2026, 4, 2, tzinfo=UTC)
    issued = world.call("root", "POST", "/v1/invoices/issue", json={"month": month, "org": "org-a"})
    assert issued.status_code == 200, issued.text
    assert issued.json()["issued"][0]["subsidy_total"] == "100.00"


def test_a_stop_grant_holds_the_projects_jobs_and_stops_running_ones(
    world: World, clock: Clock, scheme: Scheme
) -> None:
    make_grant(world, cap_gpu_hours="1", on_cap="stop", allowed_gpu_models=[])
    first = world.submit("a_member", "prj_a", gpus=1, walltime_s=5 * 3600)
    world.cycle()
    assert job(world, "a_member", first["id"])["state"] == "RUNNING"
    clock.advance(hours=2, minutes=5)
    world.loop.meter(force=True)  # two GPU-hours metered: the cap of one is reached
    alerts = world.call("a_member", "GET", "/v1/grants/alerts").json()
    assert sorted(a["kind"] for a in alerts) == ["gpu_100", "gpu_80"]
    second = world.submit("a_member", "prj_a", gpus=1)
    other = world.submit("b_member", "prj_b", gpus=1)
    world.cycle()
    waiting = job(world, "a_member", second["id"])
    assert (waiting["state"], waiting["reason"]) == ("PENDING", "GrantExhausted")
    assert job(world, "b_member", other["id"])["state"] == "RUNNING"
    assert job(world, "a_member", first["id"])["state"] == "RUNNING"  # within the grace
    clock.advance(minutes=16)
    world.cycle()
    world.cycle()
    assert job(world, "a_member", first["id"])["state"] == "CANCELLED"
    world.loop.meter(force=True)
    assert len(world.call("a_member", "GET", "/v1/grants/alerts").json()) == 2  # once each
    assert world.call("b_member", "GET", "/v1/grants/alerts").json() == []


def test_grant_rights_rates_and_status_changes(world: World, clock: Clock, scheme: Scheme) -> None:
    g = make_grant(world)
    body = {
        "scheme_id": "sch_aiss",
        "project": world.ids["prj_a"],
        "rate": "0.95",
        "valid_from": T0.isoformat(),
        "valid_until": (T0 + timedelta(days=9)).isoformat(),
    }
    r = world.call("root", "POST", "/v1/grants", json=body)
    assert (r.status_code, r.json()["code"]) == (422, "rate_above_maximum")
    assert world.call("a_org_admin", "POST", "/v1/grants", json={**body, "rate": "0.5"}
                      ).status_code == 403  # fmt: skip
    assert world.call("b_org_admin", "GET", f"/v1/grants/{g['id']}").status_code == 404
    assert [x["id"] for x in world.call("b_org_admin", "GET", "/v1/grants").json()] == []
    assert world.call("a_viewer", "GET", f"/v1/grants/{g['id']}").status_code == 200
    assert world.call("b_org_admin", "POST", f"/v1/grants/{g['id']}/suspend", json={}
                      ).status_code == 404  # fmt: skip
    assert world.call("a_org_admin", "POST", f"/v1/grants/{g['id']}/suspend", json={}
                      ).status_code == 403  # fmt: skip
    done = world.call("root", "POST", f"/v1/grants/{g['id']}/suspend", json={"reason": "audit"})
    assert done.json()["status"] == "suspended"
    run_for(world, clock, 1, gpus=1)
    meter_due(world.ctx)
    with world.ctx.db.transaction() as s:
        assert DrawdownRepo(s).funded_for_org(world.ids["org_a"], "2026-03") == 0
    world.call("root", "POST", f"/v1/grants/{g['id']}/close", json={})
    again = world.call("root", "POST", f"/v1/grants/{g['id']}/resume", json={})
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    trail = world.call("root", "GET", f"/v1/grants/{g['id']}/audit").json()
    assert [a["action"] for a in trail] == ["grant.closed", "grant.suspended", "grant.created"]
    assert world.call("a_org_admin", "GET", f"/v1/grants/{g['id']}/audit").status_code == 403
    query = {"funder": "hk-gov", "month": "2026-03"}
    refused = world.call("a_org_admin", "GET", "/v1/funder-statements", params=query)
    assert refused.status_code == 403


def test_progress_reports_fill_in_gpu_hours_flag_late_and_suspend(
    world: World, clock: Clock, scheme: Scheme
) -> None:
    milestone = {"key": "m1", "title": "Baseline model", "gpu_hours": "10",
                 "due": (T0 + timedelta(days=20)).isoformat()}  # fmt: skip
    g = make_grant(world, milestones=[milestone], report_every_months=1, grace_days=5,
                   suspend_when_late=True)  # fmt: skip
    run_for(world, clock, 1.5, gpus=2)
    meter_due(world.ctx)
    clock.now = T0 + timedelta(days=31)  # the first month's report is a day late
    bad = world.call("a_org_admin", "POST", f"/v1/grants/{g['id']}/reports",
                     json={"summary": "done", "progress": {"m9": "?"}})  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    r = world.call("a_org_admin", "POST", f"/v1/grants/{g['id']}/reports",
                   json={"summary": "Baseline trained", "progress": {"m1": "done"}})  # fmt: skip
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["late"] is True
    assert (report["planned_gpu_hours"], report["actual_gpu_hours"]) == ("10", "3.000")
    world.loop.meter(force=True)
    assert world.call("a_member", "GET", f"/v1/grants/{g['id']}").json()["status"] == "active"
    clock.now = T0 + timedelta(days=31 + 30 + 6)  # the second report: missing beyond the grace
    world.loop.meter(force=True)
    seen = world.call("a_member", "GET", f"/v1/grants/{g['id']}").json()
    assert seen["status"] == "suspended"
    assert any(a["kind"].startswith("report_late_") for a in seen["alerts"])
    periods = world.call("a_member", "GET", f"/v1/grants/{g['id']}/reports").json()
    assert [(p["overdue"], p["report"] is not None) for p in periods] == [
        (False, True),
        (True, False),
        (False, False),
    ]
    trail = world.call("root", "GET", f"/v1/grants/{g['id']}/audit").json()
    assert trail[0]["action"] == "grant.suspended" and trail[0]["actor_id"] is None
