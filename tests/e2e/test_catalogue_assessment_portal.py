"""A model risk assessment run end to end from the portal, in a real browser against a real
server on the local backend: a member starts it (the cost shown), watches it finish and reads
the stored results; the org admin's publish is refused while it is unsigned; a centre reviewer
signs it off with a risk level and conditions and downloads the model card; then publishing
works and another organisation sees the model. The same page in Traditional Chinese."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e import test_portal
from tests.e2e.test_jobs_live import wait_for
from tests.e2e.test_portal import JOB_TIMEOUT_MS, log_in

pytestmark = test_portal.pytestmark
server, browser, page = test_portal.server, test_portal.browser, test_portal.page
PROJECT = "harbour-u/llm-pretrain"


def register_finetuned_model(server: LiveServer, name: str) -> str:
    """Fine-tune the AI Lab's model, copy it to harbour-u's storage and register it as a private
    model of harbour-u (through the API); the entry id."""
    with server.client("harbour-u-alice") as c:
        r = c.post("/v1/lab/templates/finetune-charlm/runs",
                   json={"project": PROJECT, "params": {"steps": 300}})  # fmt: skip
        assert r.status_code == 201, r.text
        run = wait_for(c, r.json()["id"], {"COMPLETED", "FAILED"}, timeout_s=60)
        assert run["state"] == "COMPLETED"
        target = server.data_dir / "storage" / "harbour-u" / "models" / name
        work = server.data_dir / "jobs" / run["id"] / "1" / "work"
        shutil.copytree(work / "outputs" / "model", target)
        made = c.post("/v1/catalogue/entries", json={
            "kind": "model", "name": name, "owner_org": "harbour-u", "licence": "Apache-2.0",
            "sensitivity": "restricted", "description": "Weather bulletins language model",
            "data_use_agreement": "Weather text only."})  # fmt: skip
        assert made.status_code == 201, made.text
        v = c.post(f"/v1/catalogue/entries/{made.json()['id']}/versions",
                   json={"version": "1", "path": str(target)})  # fmt: skip
        assert v.status_code == 201, v.text
        return str(made.json()["id"])


def publish(page: Page) -> None:
    page.locator("#sharing").get_by_role("button", name="Publish").click()


def test_assess_sign_off_and_publish_a_model(browser: Browser, page: Page, server: LiveServer,
                                             tmp_path: Path) -> None:  # fmt: skip
    entry_id = register_finetuned_model(server, "weather-lm")
    entry_url = f"{server.url}/portal/catalogue/{entry_id}"
    log_in(page, server, "harbour-u-alice")
    page.goto(entry_url)
    expect(page.locator("#assess-estimate")).to_contain_text("HKD")
    page.get_by_role("button", name="Start assessment").click()
    page.wait_for_url(re.compile(r"/portal/assessments/asm_\w+$"))
    assessment_url = page.url
    status = page.locator("#assessment-status")
    expect(status).to_have_text("evaluated, awaiting sign-off", timeout=JOB_TIMEOUT_MS)
    for check in ("quality", "robustness", "disparity", "provenance", "licence"):
        expect(page.locator(f'#checks tr[data-check="{check}"] .check-result')).to_have_text("pass")
    expect(page.locator("#signoff")).to_contain_text("Waiting for a centre reviewer")

    admin = browser.new_context(locale="en-GB").new_page()
    log_in(admin, server, "harbour-u-admin")
    admin.goto(entry_url)
    expect(admin.locator("#publish-why")).to_contain_text("signed off by a reviewer")
    publish(admin)  # refused: the assessment is not signed off
    expect(admin.get_by_role("alert")).to_contain_text("risk assessment signed off by a reviewer")
    expect(admin.locator("#shared-state")).to_contain_text("Private")
    other = browser.new_context(locale="en-GB").new_page()
    log_in(other, server, "lantern-ai-alice")
    hidden = other.goto(entry_url)
    assert hidden is not None and hidden.status == 404  # private: another org cannot see it

    reviewer = browser.new_context(locale="en-GB").new_page()
    log_in(reviewer, server, "reviewer")
    reviewer.get_by_role("navigation").get_by_role("link", name="Assessments").click()
    reviewer.get_by_role("link", name="weather-lm").click()
    expect(reviewer).to_have_url(assessment_url)
    reviewer.locator("#s-risk").select_option("low")
    reviewer.locator("#s-conditions").fill("Weather text only; not for warnings.")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#decision")).to_have_text("approved")
    expect(reviewer.locator("#risk-level")).to_have_text("low")
    expect(reviewer.locator("#model-card")).to_contain_text("Weather text only; not for warnings.")
    with reviewer.expect_download() as download:
        reviewer.get_by_role("link", name="Download the model card (Markdown)").click()
    card = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "model-card-weather-lm-1.md"
    assert "| quality | pass |" in card and "- Risk level: low" in card
    reviewer.screenshot(path=str(tmp_path / "assessment-approved.png"), full_page=True)
    reviewer.context.close()

    admin.goto(entry_url)
    expect(admin.locator("#publish-why")).to_have_count(0)  # a cleared version: no objection
    publish(admin)
    expect(admin.locator("#shared-state")).to_contain_text("Published")
    admin.context.close()
    shown = other.goto(entry_url)
    assert shown is not None and shown.status == 200
    expect(other.get_by_role("heading", level=1)).to_have_text("weather-lm")
    other.context.close()

    page.reload()
    page.locator("form.lang").get_by_role("button", name="繁體中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("weather-lm 版本 1 的風險評估")
    expect(page.locator("#decision")).to_have_text("已批准")
