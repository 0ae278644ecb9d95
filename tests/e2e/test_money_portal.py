"""Money in a real browser (Debian's Chromium via Playwright) against a real server: the spend
dashboard (plots, the project x resource table, a budget bar at the right percentage), the
submit form's live cost estimate, and a centre admin adding a price version."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.e2e import test_portal
from tests.e2e.test_portal import log_in
from tests.integration.money import bill_live_org, raise_live_alerts

pytestmark = test_portal.pytestmark
server, browser, page = test_portal.server, test_portal.browser, test_portal.page
SVG = re.compile("^data:image/svg\\+xml;base64,")
HARBOUR = "LLM pre-training (Cantonese corpus) (llm-pretrain)"


def test_the_spend_dashboard_shows_plots_and_budget_bars(page: Page, server: LiveServer,
                                                          tmp_path: Path) -> None:  # fmt: skip
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bill_live_org(server, "lantern-ai", now - timedelta(hours=3))  # 8 H800 x 2 h = 408.00
    bill_live_org(server, "lantern-ai", now - timedelta(days=40))  # the month before (or two)
    with server.client("admin") as api:
        r = api.put("/v1/budgets", json={"org": "lantern-ai", "limit": "816", "period": "monthly"})
        assert r.status_code == 200, r.text
    raise_live_alerts(server, datetime.now(UTC))
    log_in(page, server, "lantern-ai-alice")
    page.get_by_role("navigation").get_by_role("link", name="Spend").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lantern Robotics")
    for chart in ("#chart-by-class img", "#chart-by-project img", "#chart-budgets img"):
        expect(page.locator(chart)).to_have_attribute("src", SVG)
    expect(page.locator("#spend-total")).to_have_text("HKD 408.00")
    expect(page.locator("#spend-table tfoot")).to_contain_text("HKD 408.00")
    expect(page.locator("#spend-table thead")).to_contain_text("GPU-hours H800")
    row = page.locator("#budget-table tr.budget-row")
    expect(row).to_have_count(1)
    expect(row.locator("meter")).to_have_attribute("value", "50.0")
    expect(row.locator(".percent")).to_have_text("50.0%")
    expect(row.locator(".alert-level")).to_have_text("50%")
    expect(row).to_contain_text("Whole organisation")
    alert = page.locator("ul.alerts li")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Whole organisation (HKD): 50% of the limit of 816 HKD spent (")
    page.screenshot(path=str(tmp_path / "spend-en.png"), full_page=True)

    page.get_by_role("button", name="繁體中文").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("開支")
    expect(page.locator("#budget-table")).to_contain_text("整個機構")
    expect(alert).to_contain_text("已用上限 816 港元 的 50%")
    page.get_by_role("button", name="EN").click()
    response = page.goto(server.url + "/portal/spend?org=victoria-bank")  # another tenant's
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text("Victoria Harbour Bank")


def test_a_centre_admin_picks_any_org(page: Page, server: LiveServer) -> None:
    bill_live_org(server, "kowloon-rd", datetime.now(UTC).replace(minute=0) - timedelta(hours=5))
    log_in(page, server, "admin")
    page.goto(server.url + "/portal/spend")
    page.locator("#s-org").select_option("kowloon-rd")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kowloon")
    expect(page.locator("#spend-total")).to_have_text("HKD 408.00")


def _api_total(server: LiveServer, **spec: object) -> str:
    body = {"name": "e", "project": "harbour-u/llm-pretrain", "command": ["true"], **spec}
    with server.client("harbour-u-alice") as api:
        r = api.post("/v1/jobs/estimate", json=body)
        assert r.status_code == 200, r.text
    return f"HKD {Decimal(r.json()['total']):,.2f}"


def test_the_submit_form_shows_the_cost_estimate(page: Page, server: LiveServer,
                                                 tmp_path: Path) -> None:  # fmt: skip
    with server.client("admin") as api:
        r = api.put("/v1/budgets", json={"org": "harbour-u", "project": "harbour-u/llm-pretrain",
                                         "limit": "100"})  # fmt: skip
        assert r.status_code == 200, r.text
    log_in(page, server, "harbour-u-alice")
    page.goto(server.url + "/portal/jobs/new")
    page.locator("#f-project_id").select_option(label=HARBOUR)
    page.locator("#f-gpus").fill("2")
    page.locator("#f-memory").fill("8G")
    page.locator("#f-walltime").fill("3h")
    page.locator("#f-walltime").blur()
    expected = _api_total(server, gpus=2, memory_mb=8192, walltime_s=3 * 3600)
    expect(page.locator("#estimate-total")).to_have_text(expected)
    expect(page.locator("#estimate")).to_contain_text("GPU-hours H800")
    left = page.locator("#estimate .budget-left")
    expect(left).to_contain_text("Budget left (project): 100 HKD")
    expect(left).to_contain_text("not enough for this job")  # 192.00 for the GPUs alone
    page.screenshot(path=str(tmp_path / "estimate-en.png"), full_page=True)
    page.locator("#f-walltime").fill("")
    page.locator("#f-walltime").blur()
    expect(page.locator("#estimate-needs-walltime")).to_contain_text("needs a time limit")
    page.locator("#f-walltime").fill("1h")
    page.locator("#f-memory").fill("lots")
    page.locator("#f-memory").blur()
    expect(page.locator("#estimate-error")).to_be_visible()


def test_a_centre_admin_adds_a_price_version(page: Page, server: LiveServer) -> None:
    log_in(page, server, "admin")
    page.goto(server.url + "/portal/admin/prices")
    page.get_by_text("Add a price version").click()
    page.locator("#pv-id").fill("list-2099")
    page.locator("#pv-from").fill("2020-06-01T00:00")  # in the past: refused, nothing stored
    page.get_by_role("button", name="Add price version").click()
    expect(page.get_by_role("alert")).to_contain_text("past")
    expect(page.locator("#pv-id")).to_have_value("list-2099")
    page.locator("#pv-from").fill("2099-01-01T00:00")
    page.get_by_label("New price of gpu_hour H800 on-demand").fill("34.00")
    page.get_by_role("button", name="Add price version").click()
    section = page.locator("section.block", has=page.locator("h2", has_text="list-2099"))
    expect(section.locator("h2")).to_contain_text("scheduled")
    h800 = section.get_by_role("row", name=re.compile("gpu_hour H800 on-demand"))
    expect(h800.locator("td").nth(3)).to_have_text("34.0000")
    expect(h800.locator("td").nth(4)).to_have_text("32.0000")  # the list price before
    with server.client("admin") as api:
        assert api.get("/v1/prices").json()[-1]["id"] == "list-2099"
