"""Subsidy grants in the portal, in a real browser against a real server: the grantee's org
admin sees the drawdown bars and files a progress report; a centre admin suspends and resumes
the grant and downloads the funder statement PDF; another organisation sees none of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.conftest import LiveServer, make_live_server
from tests.e2e import test_portal
from tests.e2e.subsidy_data import (
    FUNDER,
    FUNDER_SHARE,
    LIST_PRICE,
    ORG_SHARE,
    FundedGrant,
    funded_grant,
)
from tests.e2e.test_portal import _session, log_in

pytestmark = pytest.mark.browser
browser = test_portal.browser
page = test_portal.page
PROJECT_NAME = "Medical imaging segmentation"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    s = make_live_server(tmp_path_factory.mktemp("grants-portal"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def grant(server: LiveServer) -> FundedGrant:
    return funded_grant(server, "harbour-u/med-imaging")


def test_the_org_admin_sees_the_drawdown_and_files_a_report(
    page: Page, server: LiveServer, grant: FundedGrant
) -> None:
    log_in(page, server, "harbour-u-admin")
    page.get_by_role("navigation").get_by_role("link", name="Grants").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subsidy grants")
    row = page.locator(f"tr[data-grant='{grant.grant_id}']")
    expect(row).to_contain_text(PROJECT_NAME)
    expect(row).to_contain_text("70%")
    expect(row.locator(".cap-hkd .percent")).to_have_text("50.0%")  # 285.60 of 571.20
    expect(row.locator(".cap-hkd .drawdown")).to_have_attribute("data-level", "ok")
    expect(row.locator(".cap-hkd")).to_contain_text(f"HKD {FUNDER_SHARE} / HKD 571.20")
    expect(row.locator(".cap-gpu .percent")).to_have_text("80.0%")  # 16 of 20 GPU-hours
    expect(row.locator(".cap-gpu .drawdown")).to_have_attribute("data-level", "warn")
    expect(row.locator(".cap-gpu meter")).to_have_attribute("value", "80.0")

    row.get_by_role("link", name=PROJECT_NAME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT_NAME)
    expect(page.locator("main")).to_contain_text("Acknowledge the scheme in publications.")
    expect(page.locator("figure.chart img")).to_have_attribute("src", re.compile("^data:image/svg"))
    expect(page.get_by_role("heading", name="Audit trail")).to_have_count(0)  # committee only
    expect(page.get_by_role("button", name="Suspend")).to_have_count(0)

    page.get_by_role("link", name="File a progress report").click()
    expect(page.locator("dd.planned")).to_have_text("12")  # m1 is due in this period
    expect(page.locator("dd.actual")).to_have_text("16")  # metered H800 usage
    page.locator("#r-summary").fill("Baseline trained on the first 16 GPU-hours.")
    page.locator("#r-m1").fill("Done: Dice 0.87 on the validation set.")
    page.get_by_role("button", name="File the report").click()
    period = page.locator("table.reports tr.period").first
    expect(period).to_contain_text("Filed")
    expect(period).not_to_contain_text("late")
    expect(period.locator("td").nth(3)).to_have_text("12")
    expect(period.locator("td").nth(4)).to_have_text("16")
    page.get_by_text("Read the report").first.click()
    expect(page.locator("tr.report-text")).to_contain_text("Dice 0.87")
    expect(page.get_by_role("link", name="File a progress report")).to_have_count(0)


def test_a_centre_admin_suspends_resumes_and_downloads_the_statement(
    page: Page, server: LiveServer, grant: FundedGrant, tmp_path: Path
) -> None:
    log_in(page, server, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Grants").click()
    page.locator(f"tr[data-grant='{grant.grant_id}']").get_by_role("link").first.click()
    page.locator("#g-reason").fill("Progress report missing figures")
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator(".title-row .grant-status")).to_have_text("Suspended")
    audit = page.locator("table.audit")
    expect(audit.get_by_role("row", name=re.compile("Suspended"))).to_contain_text(
        "Progress report missing figures"
    )
    expect(page.get_by_role("button", name="Suspend")).to_have_count(0)
    page.locator("#g-reason").fill("Figures received")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".title-row .grant-status")).to_have_text("Active")
    expect(audit.get_by_role("row", name=re.compile("Resumed"))).to_contain_text("Figures received")
    expect(audit.get_by_role("row", name=re.compile("Grant made"))).to_have_count(1)

    page.get_by_role("navigation").get_by_role("link", name="Funder statements").click()
    page.locator("#s-funder").select_option(FUNDER)
    page.locator("#s-month").fill(grant.month)
    page.get_by_role("button", name="Show").click()
    line = page.locator("table.statement tbody tr")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Harbour University")
    expect(line).to_contain_text(PROJECT_NAME)
    total = page.locator("table.statement tfoot tr")
    for amount in (LIST_PRICE, FUNDER_SHARE, ORG_SHARE):
        expect(total).to_contain_text(f"HKD {amount}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"statement-{FUNDER}-{grant.month}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    for expected in (FUNDER, grant.month, "Harbour University", LIST_PRICE, FUNDER_SHARE,
                     ORG_SHARE):  # fmt: skip
        assert expected in text, expected


def test_a_refused_action_shows_the_problem(server: LiveServer, grant: FundedGrant) -> None:
    c, token = _session(server, "admin")
    form = {"action": "resume", "reason": "again", "csrf_token": token}
    refused = c.post(f"/portal/grants/{grant.grant_id}/status", data=form)
    assert refused.status_code == 409, refused.text
    assert "That did not work:" in refused.text and "cannot be active" in refused.text
    c, token = _session(server, "harbour-u-admin")  # the grantee may not suspend its grant
    form = {"action": "suspend", "reason": "x", "csrf_token": token}
    refused = c.post(f"/portal/grants/{grant.grant_id}/status", data=form)
    assert refused.status_code == 403 and "only the committee" in refused.text
    with server.client("admin") as api:
        assert api.get(f"/v1/grants/{grant.grant_id}").json()["status"] == "active"


def test_another_organisation_sees_nothing(page: Page, server: LiveServer,
                                           grant: FundedGrant) -> None:  # fmt: skip
    log_in(page, server, "kowloon-rd-admin")
    page.get_by_role("navigation").get_by_role("link", name="Grants").click()
    expect(page.locator("main")).to_contain_text("No subsidy grants you may see.")
    expect(page.get_by_role("link", name="Funder statements")).to_have_count(0)
    for path in (f"/portal/grants/{grant.grant_id}", f"/portal/grants/{grant.grant_id}/report"):
        response = page.goto(server.url + path)
        assert response is not None and response.status == 404, path
        expect(page.locator("main")).not_to_contain_text(PROJECT_NAME)
    query = f"?funder={FUNDER}&month={grant.month}"
    for path in ("/portal/funder-statements", "/portal/funder-statements/pdf"):
        response = page.goto(server.url + path + query)
        assert response is not None and response.status == 403, path
    c, token = _session(server, "kowloon-rd-admin")
    posted = c.post(f"/portal/grants/{grant.grant_id}/report",
                    data={"summary": "not ours", "csrf_token": token})  # fmt: skip
    assert posted.status_code == 404


def test_the_grant_pages_in_traditional_chinese(page: Page, server: LiveServer,
                                                grant: FundedGrant) -> None:  # fmt: skip
    log_in(page, server, "committee")
    page.get_by_role("button", name="繁體中文").click()
    page.get_by_role("navigation").get_by_role("link", name="資助撥款").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("資助計劃撥款")
    row = page.locator(f"tr[data-grant='{grant.grant_id}']")
    expect(row.locator(".grant-status")).to_have_text("啟用")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="審計記錄")).to_be_visible()  # the committee's
    expect(page.get_by_role("heading", name="進度報告")).to_be_visible()
    page.get_by_role("button", name="EN").click()
