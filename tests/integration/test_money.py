"""Money through the live loop on both databases: metering exactly once, the ledger kept
balanced by the database, budgets that block and stop, plans, top-ups and cost estimates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from petaport.billing.ledger import balances
from petaport.services.metering import meter_due
from petaport.storage.money_tables import UsageRecordRow
from petaport.storage.repos.billing import UsageRepo
from petaport.storage.repos.ledger import LedgerRepo
from tests.integration.conftest import World

# 23:10 Hong Kong time on 31 March: the month changes 50 minutes into the run.
T0 = datetime(2026, 3, 31, 15, 10, tzinfo=UTC)
H800 = Decimal("32.00")  # on-demand HKD per GPU-hour of the default price list


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock(world: World) -> Clock:
    c = Clock(T0)
    world.ctx.clock = c
    world.fake.cluster.clock = c
    return c


def job(world: World, who: str, job_id: str) -> dict[str, Any]:
    return dict(world.call(who, "GET", f"/v1/jobs/{job_id}").json())


def attempt_id(world: World, job_id: str) -> str:
    return str(world.call("root", "GET", f"/v1/jobs/{job_id}/attempts").json()[-1]["id"])


def budget(world: World, who: str = "root", **body: Any) -> dict[str, Any]:
    r = world.call(who, "PUT", "/v1/budgets", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_run_is_billed_once_exactly_across_hours_and_a_month(world: World, clock: Clock) -> None:
    j = world.submit("a_member", "prj_a", gpus=2, cpus=4, memory_mb=8192, walltime_s=4 * 3600)
    world.cycle()
    assert job(world, "a_member", j["id"])["state"] == "RUNNING"
    clock.advance(hours=2, minutes=5)  # 17:15 UTC: pieces 15:10-16:00 and 16:00-17:00 are due
    first = meter_due(world.ctx)
    assert first.records == 6  # 2 pieces x (GPU, CPU, memory)
    assert meter_due(world.ctx).records == 0  # a replay bills nothing twice
    clock.advance(minutes=20)
    world.fake.finish(attempt_id(world, j["id"]))
    world.cycle()
    meter_due(world.ctx)
    with world.ctx.db.transaction() as s:
        charges = UsageRepo(s).charges(org_id=world.ids["org_a"])
        entries = LedgerRepo(s).entries(org_id=world.ids["org_a"])
        income = {m: LedgerRepo(s).income(world.ids["org_a"], m) for m in ("2026-03", "2026-04")}
    gpu = [c for c in charges if c.record.resource.value == "gpu_hour"]
    seconds = sum(c.record.billable_s for c in gpu)
    assert seconds == (2 * 3600 + 25 * 60)  # 15:10 -> 17:35
    exact = (H800 * 2 * seconds / 3600).quantize(Decimal("0.01"))
    assert sum(c.amount.amount for c in gpu) == exact
    assert {c.record.month for c in gpu} == {"2026-03", "2026-04"}  # split at HK midnight
    with world.ctx.db.transaction() as s:  # each record that moved money names its entry
        named = s.execute(select(UsageRecordRow.amount, UsageRecordRow.entry_id)).all()
    assert {entry for amount, entry in named if amount} <= {e.id for e in entries}
    assert all(entry for amount, entry in named if amount)
    assert sum((m.amount for m in balances(entries).values()), Decimal(0)) == 0
    assert income["2026-03"] + income["2026-04"] == sum(c.amount.amount for c in charges)
    usage = world.call("a_member", "GET", "/v1/usage", params={"org": "org-a"}).json()
    assert {u["month"] for u in usage} == {"2026-03", "2026-04"}
    assert world.call("b_member", "GET", "/v1/usage", params={"org": "org-a"}).status_code == 404
    assert world.call("b_member", "GET", "/v1/usage").json() == []


def test_the_database_keeps_the_ledger_balanced_and_append_only(world: World) -> None:
    with pytest.raises(DBAPIError), world.ctx.db.transaction() as s:
        s.execute(text("INSERT INTO postings VALUES ('je_x', 0, 'revenue', '', 'HKD', 100)"))
        s.execute(text("INSERT INTO postings VALUES ('je_x', 1, 'cash', '', 'HKD', -99)"))
        s.execute(
            text(
                "INSERT INTO journal_entries VALUES "
                "('je_x', 'charge', '2026-01-01', '2026-01', NULL, '', NULL, '2026-01-01')"
            )
        )
    with world.ctx.db.transaction() as s:
        s.execute(text("INSERT INTO postings VALUES ('je_y', 0, 'revenue', '', 'HKD', 100)"))
        s.execute(text("INSERT INTO postings VALUES ('je_y', 1, 'cash', '', 'HKD', -100)"))
        s.execute(
            text(
                "INSERT INTO journal_entries VALUES "
                "('je_y', 'charge', '2026-01-01', '2026-01', NULL, '', NULL, '2026-01-01')"
            )
        )
    for statement in (
        "INSERT INTO postings VALUES ('je_y', 2, 'cash', '', 'HKD', 5)",  # sealed
        "UPDATE postings SET amount = 1 WHERE entry_id = 'je_y'",
        "DELETE FROM journal_entries WHERE id = 'je_y'",
    ):
        with pytest.raises(DBAPIError), world.ctx.db.transaction() as s:
            s.execute(text(statement))
    with world.ctx.db.transaction() as s:
        assert LedgerRepo(s).get("je_y") is not None


def test_a_budget_blocks_new_jobs_then_stops_running_ones_and_alerts(
    world: World, clock: Clock
) -> None:
    b = budget(world, "a_org_admin", org="org-a", project="proj-a", unit="gpu_hours", limit="1",
               grace_s=600)  # fmt: skip
    first = world.submit("a_member", "prj_a", gpus=1)  # no walltime: reserves an hour
    second = world.submit("a_member", "prj_a", gpus=1)
    world.cycle()
    assert job(world, "a_member", first["id"])["state"] == "RUNNING"
    waiting = job(world, "a_member", second["id"])
    assert (waiting["state"], waiting["reason"]) == ("PENDING", "BudgetExhausted")
    other = world.submit("b_member", "prj_b", gpus=1)  # another tenant is not affected
    world.cycle()
    assert job(world, "b_member", other["id"])["state"] == "RUNNING"
    clock.advance(hours=2)
    meter_due(world.ctx)
    world.cycle()
    seen = world.call("a_member", "GET", f"/v1/budgets/{b['id']}").json()
    assert Decimal(seen["spent"]) >= 1 and seen["exhausted_since"] is not None
    assert job(world, "a_member", first["id"])["state"] == "RUNNING"  # within the grace
    clock.advance(minutes=11)
    world.cycle()
    world.cycle()
    assert job(world, "a_member", first["id"])["state"] == "CANCELLED"
    assert job(world, "b_member", other["id"])["state"] == "RUNNING"
    world.loop.meter(force=True)
    alerts = world.call("a_member", "GET", "/v1/budgets/alerts").json()
    assert sorted(a["threshold"] for a in alerts) == [50, 80, 100]
    world.loop.meter(force=True)
    assert len(world.call("a_member", "GET", "/v1/budgets/alerts").json()) == 3  # once each
    assert world.call("b_member", "GET", "/v1/budgets/alerts").json() == []
    assert world.call("b_member", "GET", f"/v1/budgets/{b['id']}").status_code == 404


def test_budget_rights_and_bad_input(world: World) -> None:
    org_wide = world.call("a_org_admin", "PUT", "/v1/budgets",
                          json={"org": "org-a", "limit": "100"})  # fmt: skip
    assert org_wide.status_code == 403  # org-wide limits are the centre's
    member = world.call("a_member", "PUT", "/v1/budgets",
                        json={"org": "org-a", "project": "proj-a", "limit": "5"})  # fmt: skip
    assert member.status_code == 403
    foreign = world.call("b_org_admin", "PUT", "/v1/budgets",
                         json={"org": "org-a", "project": "proj-a", "limit": "5"})  # fmt: skip
    assert foreign.status_code == 404
    for bad in ({"org": "org-a", "limit": "1.0001"}, {"org": "org-a", "limit": "-1"},
                {"org": "org-a", "limit": "1.001", "unit": "HKD", "extra": 1}):  # fmt: skip
        r = world.call("root", "PUT", "/v1/budgets", json=bad)
        assert r.status_code == 422 and r.headers["content-type"].startswith(
            "application/problem+json"
        )
    made = budget(world, org="org-a", limit="100.50")
    again = budget(world, org="org-a", limit="200")
    assert again["id"] == made["id"] and again["limit"] == "200"
    assert world.call("a_org_admin", "DELETE", f"/v1/budgets/{made['id']}").status_code == 403
    assert world.call("root", "DELETE", f"/v1/budgets/{made['id']}").status_code == 204


def test_concurrent_submitters_never_overspend_beyond_one_reservation(
    world: World, clock: Clock
) -> None:
    limit = Decimal("100.00")
    budget(world, org="org-a", limit=str(limit))
    # each job: 1 GPU x 1 h on-demand H800 + 1 core + 1 GiB = 32.34 HKD reserved
    errors: list[str] = []

    def submit() -> None:
        r = world.call("a_member", "POST", "/v1/jobs", json={
            "name": "c", "project": world.ids["prj_a"], "command": ["true"], "gpus": 1,
            "walltime_s": 3600})  # fmt: skip
        if r.status_code != 201:
            errors.append(r.text)

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for _ in range(3):
        world.cycle()
    jobs = world.call("a_member", "GET", "/v1/jobs", params={"limit": 100}).json()["items"]
    running = [j for j in jobs if j["state"] == "RUNNING"]
    waiting = [j for j in jobs if j["reason"] == "BudgetExhausted"]
    per_job = Decimal("32.34")
    assert len(running) == 4  # 3 x 32.34 < 100 <= 4 x 32.34: the 4th started, none after
    assert len(running) * per_job < limit + per_job
    assert len(waiting) == 46
    clock.advance(hours=1, minutes=1)
    for j in running:
        world.fake.finish(attempt_id(world, j["id"]))
    world.cycle()
    meter_due(world.ctx)
    spent = Decimal(world.call("a_member", "GET", "/v1/budgets").json()[0]["spent"])
    assert spent == 4 * per_job  # billed exactly what was reserved: under limit + one job


def test_plans_top_ups_and_estimates(world: World, clock: Clock) -> None:
    r = world.call("root", "PUT", "/v1/orgs/org-a/plan",
                   json={"plan": "trial", "trial_days": 14, "trial_credit": "500"})  # fmt: skip
    assert r.status_code == 200, r.text
    acct = r.json()
    assert (acct["plan"], acct["mode"], acct["balance"]) == ("trial", "prepaid", "500.00")
    est = world.call("a_member", "POST", "/v1/jobs/estimate",
                     json={"name": "e", "project": world.ids["prj_a"], "command": ["x"],
                           "gpus": 2, "walltime_s": 7200})  # fmt: skip
    assert est.status_code == 200, est.text
    body = est.json()
    assert Decimal(body["gpu_hours"]) == 4
    gpu_line = next(line for line in body["lines"] if line["resource"] == "gpu_hour")
    assert Decimal(gpu_line["amount"]) == 4 * H800
    assert Decimal(body["budgets"][0]["left"]) == Decimal(500)
    top = world.call("root", "POST", "/v1/orgs/org-a/top-ups",
                     json={"amount": "250.00", "reference": "PAY-1"})  # fmt: skip
    assert top.status_code == 201 and top.json()["balance"] == "750.00"
    dup = world.call("root", "POST", "/v1/orgs/org-a/top-ups",
                     json={"amount": "250.00", "reference": "PAY-1"})  # fmt: skip
    assert dup.status_code == 409
    assert world.call("a_org_admin", "POST", "/v1/orgs/org-a/top-ups",
                      json={"amount": "1", "reference": "x"}).status_code == 403  # fmt: skip
    assert world.call("b_member", "GET", "/v1/orgs/org-a/account").status_code == 404
    clock.advance(days=15)  # the trial is over: new work waits
    j = world.submit("a_member", "prj_a", gpus=1, walltime_s=600)
    world.cycle()
    assert job(world, "a_member", j["id"])["reason"] == "BudgetExhausted"
    poc = world.call("root", "PUT", "/v1/orgs/org-a/plan",
                     json={"plan": "poc", "poc_fee": "1800", "poc_gpu_hours": "100"})  # fmt: skip
    assert poc.status_code == 200 and poc.json()["plan"] == "poc"
    world.cycle()
    assert job(world, "a_member", j["id"])["state"] == "RUNNING"  # converted: same org, jobs
    meter_due(world.ctx)
    acct = world.call("a_member", "GET", "/v1/orgs/org-a/account").json()
    assert Decimal(acct["month_spend"]) == Decimal("1800.00")  # the month's PoC fee
