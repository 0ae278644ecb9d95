"""The annual report read from the stored workflow and drawdown: applications received,
approved, rejected and open by category; subsidy approved against used; each grant's use;
stage times; PDF and CSV; only the secretariat and committee read it (both databases)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pypdf import PdfReader

from petaport.billing.metering import HONG_KONG
from petaport.domain.tenancy import Role
from petaport.services.metering import meter_due
from tests.integration.conftest import World
from tests.integration.subsidy_helpers import (
    add_staff,
    approve_body,
    at_committee,
    ok,
    scheme_and_call,
    submitted,
)
from tests.integration.test_money import Clock
from tests.integration.test_subsidy_money import run_for

APPS = "/v1/subsidy/applications"


def test_the_annual_report_counts_the_year(world: World) -> None:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    world.ctx.clock = clock
    world.fake.cluster.clock = clock
    add_staff(world, "rev1", Role.REVIEWER)
    add_staff(world, "chair", Role.COMMITTEE)
    _, call_id = scheme_and_call(world)
    approved = at_committee(world, call_id)
    body = approve_body(cap="50.00")
    body["terms"].update(valid_from=(clock.now - timedelta(hours=1)).isoformat(),
                         valid_until=(clock.now + timedelta(days=90)).isoformat(),
                         allowed_gpu_models=[], gpu_hours="10")  # fmt: skip
    grant_id = ok(world.call("chair", "POST", f"{APPS}/{approved}/decision", json=body),
                  201)["grant_id"]  # fmt: skip
    rejected = at_committee(world, call_id)
    ok(world.call("chair", "POST", f"{APPS}/{rejected}/decision",
                  json={"outcome": "rejected", "reasons": "Out of scope"}), 201)  # fmt: skip
    submitted(world, call_id)  # open at the end of the year
    run_for(world, clock, 2.0, gpus=2, cpus=2, memory_mb=4096, walltime_s=3 * 3600)
    meter_due(world.ctx)
    year = clock.now.astimezone(HONG_KONG).year

    assert world.call("a_org_admin", "GET", "/v1/subsidy/annual-report",
                      params={"year": year}).status_code == 403  # fmt: skip
    assert world.call("rev1", "GET", "/v1/subsidy/annual-report",
                      params={"year": year}).status_code == 403  # fmt: skip
    assert world.call("chair", "GET", "/v1/subsidy/annual-report",
                      params={"year": 1999}).status_code == 422  # fmt: skip
    report = ok(world.call("chair", "GET", "/v1/subsidy/annual-report", params={"year": year}))
    startup = next(c for c in report["categories"] if c["category"] == "startup")
    assert (startup["received"], startup["approved"], startup["rejected"],
            startup["open_at_end"]) == (3, 1, 1, 1)  # fmt: skip
    assert report["total"]["received"] == 3
    grant = world.call("chair", "GET", f"/v1/grants/{grant_id}").json()
    funded = Decimal(grant["funded"])
    assert Decimal("0") < funded <= Decimal("50.00")
    assert Decimal(startup["subsidy_approved"]) == Decimal("50.00")
    assert Decimal(startup["subsidy_used"]) == funded
    [use] = report["utilisation"]
    assert use["grant_id"] == grant_id and Decimal(use["used_to_date"]) == funded
    assert Decimal(use["used_share"]) == (funded * 100 / Decimal("50.00")).quantize(Decimal("0.1"))
    assert Decimal(use["gpu_hours_to_date"]) > 0
    stages = {t["stage"]: t["visits"] for t in report["stage_times"]}
    # visits that ended: the open application is still being screened
    assert stages["screening"] == 2 and stages["review"] == 2 and stages["committee"] == 2
    assert ok(world.call("root", "GET", "/v1/subsidy/annual-report", params={"year": year
                                                                                  - 1}))[
        "total"]["received"] == 0  # fmt: skip

    pdf = world.call("chair", "GET", "/v1/subsidy/annual-report/pdf", params={"year": year})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "年度報告" in text and f"{funded:,.2f}" in text
    rows = list(csv.reader(io.StringIO(world.call(
        "chair", "GET", "/v1/subsidy/annual-report/csv", params={"year": year}).text)))  # fmt: skip
    total = next(r for r in rows if r[:2] == ["applications_by_category", "total"])
    assert total[2:6] == ["3", "1", "1", "1"] and Decimal(total[7]) == funded
