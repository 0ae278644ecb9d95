"""The catalogue in a real browser (Debian's Chromium via Playwright) against a real server:
a member requests a restricted dataset, the owner's org admin approves it, and the member
uses it in a job whose log shows the data read through the path its variable names."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e import test_portal
from tests.e2e.test_portal import JOB_TIMEOUT_MS, log_in

pytestmark = test_portal.pytestmark
server, browser, page = test_portal.server, test_portal.browser, test_portal.page
PROJECT = "LLM pre-training (Cantonese corpus) (llm-pretrain)"
READ = 'bash -c "wc -l < $PETAPORT_DATASET_HK_RAINFALL/rainfall.csv"'


def open_rainfall(page: Page, server: LiveServer) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue")
    page.get_by_role("searchbox", name="Search").fill("rainfall")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="hk-rainfall").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("hk-rainfall")


def test_request_approve_and_use_a_dataset(browser: Browser, page: Page, server: LiveServer,
                                           tmp_path: Path) -> None:  # fmt: skip
    log_in(page, server, "harbour-u-alice")
    open_rainfall(page, server)
    expect(page.locator("#dua")).to_contain_text("Use only for the stated purpose")
    page.locator("#r-project").select_option(label=PROJECT)
    page.locator("#r-purpose").fill("Flood forecasting for the Cantonese LLM's weather answers")
    page.get_by_role("button", name="Request access").click()  # refused: DUA not ticked
    expect(page.locator("#grants")).to_have_count(0)
    page.locator("#r-dua").check()
    page.get_by_role("button", name="Request access").click()
    expect(page.locator("#grants .grant-status")).to_have_text("requested")
    entry_url = page.url

    owner = browser.new_context(locale="en-GB").new_page()
    log_in(owner, server, "hk-data-office-admin")
    owner.goto(entry_url)
    owner.get_by_role("button", name="Approve").click()
    expect(owner.locator("#grants .grant-status")).to_have_text("approved")
    owner.screenshot(path=str(tmp_path / "catalogue-approved.png"), full_page=True)
    owner.context.close()

    page.reload()
    expect(page.locator("#grants .grant-status")).to_have_text("approved")
    page.get_by_role("link", name="Use in a job").click()
    expect(page.locator("#f-uses")).to_have_value("dataset:hk-data-office/hk-rainfall")
    page.locator("#f-project_id").select_option(label=PROJECT)
    page.locator("#f-name").fill("read-rainfall")
    page.locator("#f-command").fill(READ)
    page.locator("#f-gpus").fill("0")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/portal/jobs/job_\w+$"))
    expect(page.locator("#log-stdout")).to_contain_text("1009", timeout=JOB_TIMEOUT_MS)
    state = page.locator("#job-status .state").first
    expect(state).to_have_text("COMPLETED", timeout=JOB_TIMEOUT_MS)


def test_another_orgs_member_cannot_use_it_without_a_grant(page: Page, server: LiveServer) -> None:
    log_in(page, server, "lantern-ai-alice")
    page.goto(server.url + "/portal/jobs/new?uses=dataset:hk-rainfall")
    page.locator("#f-name").fill("sneak")
    page.locator("#f-command").fill(READ)
    page.locator("#f-gpus").fill("0")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("holds no approved access grant")


def test_launch_an_ai_lab_template(page: Page, server: LiveServer) -> None:
    log_in(page, server, "harbour-u-alice")
    page.get_by_role("navigation").get_by_role("link", name="AI Lab").click()
    bench = page.locator("section", has=page.get_by_role("heading", name=re.compile("images")))
    expect(bench.locator(".estimate")).to_contain_text("HKD")  # priced with the stored list
    bench.get_by_label("images", exact=True).fill("64")
    bench.get_by_role("button", name="Launch image-throughput").click()
    page.wait_for_url(re.compile(r"/portal/jobs/job_\w+$"))
    expect(page.locator("#log-stdout")).to_contain_text("images_per_hour", timeout=JOB_TIMEOUT_MS)
