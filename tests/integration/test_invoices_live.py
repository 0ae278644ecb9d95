"""Invoices and the revenue report through the API, on both databases: drafts, issuing,
numbering, immutability, tenancy, the proof-of-concept plan, and totals equal to the ledger."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from petaport.billing.metering import month_of
from petaport.domain.errors import Conflict
from petaport.domain.ids import new_id
from petaport.domain.jobs import QosTier
from petaport.domain.money import Money, total
from petaport.domain.tenancy import Org, OrgCategory, Principal, Project
from petaport.services import invoices
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.tenancy import TenancyRepo
from tests.integration.conftest import World
from tests.integration.money import make_poc, post_usage
from tests.unit.billing.builders import usage

JAN = datetime(2026, 1, 10, 1, 30, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)


def _money(value: str) -> Decimal:
    return Decimal(value)


def test_issue_an_invoice_equal_to_the_ledger_once(world: World) -> None:
    a = world.ids
    post_usage(world.ctx.db, usage(JAN, 5400, org=a["org_a"], project=a["prj_a"], gpus="2",
                                   cpus=8, mem_mib=4096),
               usage(JAN, 700, attempt="att_2", job="job_2", org=a["org_a"], project=a["prj_a"],
                     tier=QosTier.PREEMPTIBLE, gpus="1"))  # fmt: skip
    draft = world.call("a_org_admin", "GET", f"/v1/orgs/{a['org_a']}/invoices/draft",
                       params={"month": "2026-01"})  # fmt: skip
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["status"] == "draft" and body["id"] is None and body["number"] is None
    amounts = [_money(line["amount"]) for line in body["lines"]]
    assert _money(body["total"]) == sum(amounts) > 0
    assert [ln["project_name"] for ln in body["lines"]] == ["Project a"] * len(amounts)
    assert world.call("a_member", "GET", f"/v1/orgs/{a['org_a']}/invoices/draft").status_code == 403
    assert world.call("b_org_admin", "GET", f"/v1/orgs/{a['org_a']}/invoices/draft"
                      ).status_code == 404  # fmt: skip

    issue = {"month": "2026-01", "org": "org-a"}
    assert world.call("a_org_admin", "POST", "/v1/invoices/issue", json=issue).status_code == 403
    r = world.call("root", "POST", "/v1/invoices/issue", json=issue)
    assert r.status_code == 200, r.text
    issued = r.json()["issued"][0]
    assert issued["number"] == "INV-202601-000001" and issued["status"] == "issued"
    assert issued["total"] == body["total"] and issued["lines"] == body["lines"]
    with world.ctx.db.transaction() as s:
        assert LedgerRepo(s).income(a["org_a"], "2026-01") == _money(issued["total"])

    again = world.call("root", "POST", "/v1/invoices/issue", json=issue)
    assert again.status_code == 409 and again.json()["code"] == "invoice_issued"
    mine = world.call("a_org_admin", "GET", "/v1/invoices", params={"month": "2026-01"}).json()
    assert [i["id"] for i in mine] == [issued["id"]]
    assert world.call("a_member", "GET", "/v1/invoices").json() == []
    assert world.call("b_org_admin", "GET", "/v1/invoices", params={"org": a["org_a"]}).json() == []
    assert world.call("a_org_admin", "GET", f"/v1/invoices/{issued['id']}").json() == issued

    got = world.call("a_org_admin", "GET", f"/v1/invoices/{issued['id']}/csv")
    assert got.headers["content-type"].startswith("text/csv")
    assert 'filename="INV-202601-000001.csv"' in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["amount"] for r in rows[:-1]] == [ln["amount"] for ln in issued["lines"]]
    assert rows[-1]["description"] == "Total" and rows[-1]["amount"] == issued["total"]

    with pytest.raises(DBAPIError), world.ctx.db.transaction() as s:  # the database refuses
        s.execute(text("UPDATE invoices SET total = 0 WHERE id = :i"), {"i": issued["id"]})
    with pytest.raises(DBAPIError), world.ctx.db.transaction() as s:
        s.execute(text("DELETE FROM invoice_lines WHERE invoice_id = :i"), {"i": issued["id"]})
    assert world.call("root", "GET", f"/v1/invoices/{issued['id']}").json() == issued


def test_issuing_before_the_month_ends_or_without_posted_usage_is_refused(world: World) -> None:
    a = world.ids
    this_month = month_of(datetime.now(UTC))
    early = world.call("root", "POST", "/v1/invoices/issue",
                       json={"month": this_month, "org": a["org_a"]})  # fmt: skip
    assert early.status_code == 422 and early.json()["code"] == "month_not_ended"
    empty = world.call(
        "root", "POST", "/v1/invoices/issue", json={"month": "2026-01", "org": "org-a"}
    )
    assert empty.status_code == 409 and empty.json()["code"] == "nothing_to_invoice"
    post_usage(world.ctx.db, usage(JAN, 3600, org=a["org_a"], project=a["prj_a"]))
    post_usage(world.ctx.db, usage(JAN, 60, attempt="att_late", org=a["org_a"],
                                   project=a["prj_a"]), post=False)  # fmt: skip
    r = world.call("root", "POST", "/v1/invoices/issue", json={"month": "2026-01", "org": "org-a"})
    assert r.status_code == 409 and r.json()["code"] == "invoice_ledger_mismatch", r.text
    assert world.call("root", "GET", "/v1/invoices").json() == []
    bad = world.call("root", "POST", "/v1/invoices/issue", json={"month": "2026-13"})
    assert bad.status_code == 422


def test_a_proof_of_concept_invoice_totals_the_fee(world: World) -> None:
    a, db = world.ids, world.ctx.db
    make_poc(db, a["org_b"], "2026-02", post_fee=False)
    post_usage(db, usage(FEB, 7200, attempt="att_b", org=a["org_b"], project=a["prj_b"], gpus="4"))
    body = {"month": "2026-02", "org": a["org_b"]}
    missing = world.call("root", "POST", "/v1/invoices/issue", json=body)
    assert missing.status_code == 409 and missing.json()["code"] == "plan_fee_missing"

    make_poc(db, a["org_a"], "2026-02")
    charges = post_usage(db, usage(FEB, 7200, org=a["org_a"], project=a["prj_a"], gpus="4"))
    used = total(c.amount for c in charges)
    draft = world.call("a_org_admin", "GET", f"/v1/orgs/{a['org_a']}/invoices/draft",
                       params={"month": "2026-02"}).json()  # fmt: skip
    r = world.call("root", "POST", "/v1/invoices/issue", json={"month": "2026-02", "org": "org-a"})
    assert r.status_code == 200, r.text
    inv = r.json()["issued"][0]
    assert inv["lines"] == draft["lines"] and inv["total"] == "1800.00"
    fees = {ln["description"]: ln["amount"] for ln in inv["lines"] if ln["resource"] is None}
    assert fees == {"Proof-of-concept plan fee": "1800.00",
                    "Usage covered by plan": str(-used.amount)}  # fmt: skip
    assert sum(_money(ln["amount"]) for ln in inv["lines"] if ln["resource"]) == used.amount
    with db.transaction() as s:
        assert LedgerRepo(s).income(a["org_a"], "2026-02") == Decimal("1800.00")


def test_issue_every_org_of_a_month_and_the_revenue_report(world: World) -> None:
    a, db = world.ids, world.ctx.db
    post_usage(
        db,
        usage(JAN, 3600, org=a["org_a"], project=a["prj_a"], gpus="1"),
        usage(JAN, 1800, attempt="att_b", org=a["org_b"], project=a["prj_b"], gpus="1"),
    )
    post_usage(db, usage(JAN, 60, attempt="att_x", org=a["org_b"], project=a["prj_b"]),
               post=False)  # fmt: skip
    before = world.call("root", "GET", "/v1/reports/revenue", params={"month": "2026-01"}).json()
    assert before == [
        {
            "month": "2026-01",
            "category": "startup",
            "orgs": 2,
            "revenue": "38.25",
            "credit_notes": "0.00",
            "net": "38.25",
            "invoiced": "0.00",
        }
    ]  # fmt: skip  (25.50 + 12.75)
    r = world.call("root", "POST", "/v1/invoices/issue", json={"month": "2026-01"}).json()
    assert [i["org_id"] for i in r["issued"]] == [a["org_a"]]
    assert [(x["org_id"], x["code"]) for x in r["refused"]] == [
        (a["org_b"], "invoice_ledger_mismatch")]  # fmt: skip
    after = world.call("root", "GET", "/v1/reports/revenue").json()
    assert after[0]["invoiced"] == "25.50" and after[0]["net"] == "38.25"
    assert world.call("a_org_admin", "GET", "/v1/reports/revenue").status_code == 403
    again = world.call("root", "POST", "/v1/invoices/issue", json={"month": "2026-01"}).json()
    assert again["issued"] == [] and len(again["refused"]) == 1


# -- the property: invoice total == sum of lines == the ledger's income ---------------------

ATTEMPT = st.tuples(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 3, 31), timezones=st.just(UTC)),
    st.integers(0, 3 * 86400),
    st.sampled_from(["0.5", "1", "8"]),
    st.sampled_from(list(QosTier)),
    st.integers(0, 16),
    st.sampled_from([0, 1000, 65536]),
)


def _tenant(world: World) -> tuple[str, list[str]]:
    now = datetime.now(UTC)
    org = Org(new_id("org"), "Random Org", new_id("org")[4:20], OrgCategory.UNIVERSITY, now)
    projects = [Project(new_id("prj"), org.id, f"P{i}", f"p{i}", now) for i in range(2)]
    with world.ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        repo.add_org(org)
        s.flush()
        for p in projects:
            repo.add_project(p)
    return org.id, [p.id for p in projects]


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(attempts=st.lists(ATTEMPT, min_size=1, max_size=5))
def test_invoice_total_equals_its_lines_and_the_ledger(world: World, attempts: list[Any]) -> None:
    org_id, projects = _tenant(world)
    charges = post_usage(world.ctx.db, *(
        usage(start.replace(microsecond=0), seconds, attempt=f"att_{org_id[-8:]}_{i}",
              org=org_id, project=projects[i % 2], gpus=gpus, tier=tier, cpus=cpus,
              mem_mib=mem)
        for i, (start, seconds, gpus, tier, cpus, mem) in enumerate(attempts)
    ))  # fmt: skip
    root = _root(world)
    for month in sorted({c.record.month for c in charges}):
        draft = invoices.draft_invoice(world.ctx, root, org_id, month).invoice
        assert draft.total == total(line.amount for line in draft.lines)
        with world.ctx.db.transaction() as s:
            assert LedgerRepo(s).income(org_id, month) == draft.total.amount
        if not draft.lines:
            continue
        try:
            issued = invoices.issue_invoice(world.ctx, root, org_id, month).invoice
        except Conflict as exc:  # only a month whose charges are all zero has nothing to bill
            assert exc.code == "nothing_to_invoice"
            continue
        assert issued.total == draft.total
        assert issued.subsidy_total + issued.org_total == issued.total
    assert total(c.amount for c in charges) == sum(
        (invoices.draft_invoice(world.ctx, root, org_id, m).invoice.total
         for m in {c.record.month for c in charges}), Money.zero())  # fmt: skip


def _root(world: World) -> Principal:
    from petaport.services import auth

    return auth.principal_from_token(world.ctx, world.tokens["root"])


def test_month_bounds_are_hong_kong_time(world: World) -> None:
    """Usage at 23:30 on 31 January in Hong Kong is January's; at 00:30 on 1 February, not."""
    a = world.ids
    late = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)  # 23:30 HKT
    post_usage(world.ctx.db, usage(late, 1800, org=a["org_a"], project=a["prj_a"], gpus="1"),
               usage(late + timedelta(hours=1), 1800, attempt="att_feb", org=a["org_a"],
                     project=a["prj_a"], gpus="1"))  # fmt: skip
    for month in ("2026-01", "2026-02"):
        draft = world.call("a_org_admin", "GET", f"/v1/orgs/{a['org_a']}/invoices/draft",
                           params={"month": month}).json()  # fmt: skip
        assert draft["total"] == "12.75", month
