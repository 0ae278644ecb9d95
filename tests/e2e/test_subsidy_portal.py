"""The subsidy workflow in the portal, in a real browser against a real server with the demo
centre (its AISS scheme and open call): an org admin applies (the calculator, milestone rows,
a PDF, submit); the secretariat screens and assigns two reviewers (one from the applicant's
org is never offered); reviewer 1 declares a conflict and is recused; reviewer 2 scores; the
committee is refused a rate above the maximum, then approves at 70% with an HKD cap; the grant
page opens. Then usage on the project is metered (as the grant pages' test does) and the
invoice shows the split to the cent until the cap is reached and the rest is billed to the org
at list price. Plus: the applicant never sees reviews; a reviewer sees others' scores only
after submitting their own; the pages in Traditional Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.conftest import LiveServer, make_live_server
from tests.e2e import test_portal
from tests.e2e.subsidy_data import _meter
from tests.e2e.test_portal import _session, log_in
from tests.integration.subsidy_helpers import PDF, PROPOSAL, SCORES

pytestmark = pytest.mark.browser
browser = test_portal.browser
page = test_portal.page
HK = ZoneInfo("Asia/Hong_Kong")
PROJECT = "harbour-u/llm-pretrain"
PROJECT_NAME = "LLM pre-training (Cantonese corpus)"
TITLE = "Cantonese LLM, portal edition"
PASSWORD = "reviewer-password-1"
TWO, INSIDER = "reviewer-two", "harbour-reviewer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    s = make_live_server(tmp_path_factory.mktemp("subsidy-portal"))
    s.start()
    with s.client("admin") as api:
        harbour = next(o for o in api.get("/v1/orgs").json()["items"] if o["slug"] == "harbour-u")
        for name, extra in ((TWO, {}), (INSIDER, {"org_id": harbour["id"], "org_role": "member"})):
            body = {
                "username": name,
                "email": f"{name}@example.org",
                "password": PASSWORD,
                "display_name": name.replace("-", " ").title(),
                "centre_roles": ["reviewer"],
            }
            r = api.post("/v1/users", json={**body, **extra})  # fmt: skip
            assert r.status_code == 201, r.text
            s.credentials[name] = PASSWORD
    yield s
    s.stop()


@contextmanager
def as_user(browser: Browser, server: LiveServer, username: str) -> Iterator[Page]:
    """A fresh browser context logged in as ``username``."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    try:
        p = context.new_page()
        log_in(p, server, username)
        yield p
    finally:
        context.close()


def _fill_application(page: Page) -> None:
    page.locator("#f-project").select_option(PROJECT)
    page.locator("#f-title").fill(TITLE)
    page.locator("#f-description").fill("A 7B model trained on a Cantonese corpus.")
    page.locator("#m0-title").fill("Corpus ready")
    page.locator("#m0-due").fill("2027-01-31")
    page.locator("#m0-hours").fill("100")
    page.get_by_role("button", name="Add a milestone").click()
    page.locator("#m1-title").fill("Model trained")
    page.locator("#m1-due").fill("2027-05-31")
    page.locator("#m1-hours").fill("29379.2")
    page.get_by_role("button", name="Add a milestone").click()
    expect(page.locator("tr.milestone")).to_have_count(3)
    page.locator("tr.milestone").nth(2).get_by_role("button", name="Remove").click()
    expect(page.locator("tr.milestone")).to_have_count(2)
    expect(page.locator("#m1-title")).to_have_value("Model trained")  # what was typed is kept


def _use_calculator(page: Page) -> None:
    page.locator("#c-parameters").fill("7e9")
    page.locator("#c-tokens").fill("1e12")
    page.locator("#c-gpu_model").select_option("H800")
    expect(page.locator("#calc-gpu-hours")).to_have_text("29,479.2")  # docs/subsidy.md's check
    expect(page.locator("#calc-formula")).to_contain_text("6·N·D")
    expect(page.locator("ul.assumptions")).to_contain_text("MFU) 40% of peak")
    page.get_by_role("button", name="Use these GPU-hours in the request").click()
    expect(page.locator("#f-gpu_hours")).to_have_value("29479.2")
    expect(page.locator("#f-gpu_model")).to_have_value("H800")


def _apply(page: Page, server: LiveServer) -> str:
    page.get_by_role("navigation").get_by_role("link", name="Subsidy applications").click()
    page.locator("table.calls").get_by_role("link", name="Apply").first.click()
    _fill_application(page)
    _use_calculator(page)
    for box in page.locator("fieldset.declarations input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/portal/subsidy/applications/app_\w+$"))
    app_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".app-state")).to_have_text("Draft")
    expect(page.locator("dd.requested-hours")).to_have_text("29,479.2")
    page.locator("#a-file").set_input_files(
        files=[{"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf"}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("only PDF files are accepted")
    page.locator("#a-file").set_input_files(
        files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("ul.attachments")).to_contain_text("plan.pdf")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(".app-state")).to_have_text("Submitted, waiting for screening")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)  # frozen
    response = page.goto(f"{server.url}/portal/subsidy/applications/{app_id}/reviews")
    assert response is not None and response.status == 404  # never the reviews
    return app_id


def _screen_and_assign(page: Page, server: LiveServer, app_id: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Subsidy intake").click()
    row = page.locator(f"tr[data-application='{app_id}']")
    expect(row).to_contain_text("Screening")
    row.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Eligible: send to review").click()
    expect(page.locator(".app-state")).to_have_text("In review")
    options = page.locator("#r-reviewer option")
    expect(options).to_have_count(2)  # the harbour-u member who reviews is not offered
    expect(page.locator("#r-reviewer")).not_to_contain_text(INSIDER)
    for name in ("reviewer", TWO):
        page.locator("#r-reviewer").select_option(name)
        page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("table.assigned tbody tr")).to_have_count(2)
    expect(page.get_by_text("No other reviewer can be assigned.")).to_be_visible()
    audit = page.locator("table.audit")
    expect(audit.locator("tr[data-action='review.assigned']")).to_have_count(2)
    expect(audit.locator("tr[data-action='application.submitted']")).to_contain_text(
        "Harbour University admin"
    )
    c, token = _session(server, "admin")  # posted anyway, the rule refuses it with its message
    refused = c.post(f"/portal/subsidy/applications/{app_id}/assign",
                     data={"reviewer": INSIDER, "csrf_token": token})  # fmt: skip
    assert refused.status_code == 409 and "member of the applicant" in refused.text


def _recused(page: Page, server: LiveServer, app_id: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name="My reviews").click()
    page.locator(f"tr[data-application='{app_id}']").get_by_role("link").click()
    page.locator("#coi-conflicted").check()
    page.locator("#coi-statement").fill("I supervise one of the applicants.")
    page.get_by_role("button", name="Declare").click()
    expect(page.locator(".recused")).to_contain_text("You are recused.")
    expect(page.locator("form[action$='/scores']")).to_have_count(0)
    expect(page.locator("table.scores")).to_have_count(0)
    c, token = _session(server, "reviewer")
    posted = c.post(
        f"/portal/subsidy/applications/{app_id}/scores",
        data={"csrf_token": token, **{f"s-{k}": str(v) for k, v in SCORES.items()}},
    )
    assert posted.status_code == 403 and "recused" in posted.text


def _score(page: Page, server: LiveServer, app_id: str) -> None:
    page.goto(f"{server.url}/portal/subsidy/applications/{app_id}/reviews")
    page.locator("#coi-none").check()
    page.get_by_role("button", name="Declare").click()
    expect(page.locator("fieldset.criterion")).to_have_count(5)
    expect(page.locator("fieldset.criterion").first).to_contain_text("weight 25%")
    for key, value in SCORES.items():
        page.locator(f"#s-{key}").fill(str(value))
    page.locator("#comment-compute").fill("The calculator's figure is sound.")
    page.get_by_role("button", name="Submit scores").click()
    expect(page.locator("table.scores tr.review")).to_have_count(1)
    expect(page.locator("table.scores td.total")).to_have_text("6.95")
    expect(page.locator(".app-state")).to_have_text("Waiting for the committee")


def _approve(page: Page, server: LiveServer, app_id: str, valid_from: str) -> str:
    page.get_by_role("navigation").get_by_role("link", name="Committee").click()
    row = page.locator(f"tr[data-application='{app_id}']")
    expect(row.locator("td.mean")).to_have_text("6.95")
    row.get_by_role("link", name="Decide").click()
    expect(page.locator("#d-rate")).to_have_value("70")
    expect(page.locator("#d-rate-hint")).to_contain_text("maximum is 90%")
    page.locator("#d-rate").fill("95")
    page.locator("#d-cap").fill("400")
    page.locator("#d-valid_from").fill(valid_from)
    page.locator("#d-conditions").fill("Quarterly progress reports.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert")).to_contain_text("above this scheme's maximum of 90%")
    expect(page.locator("#d-cap")).to_have_value("400")  # what was typed is kept
    page.locator("#d-rate").fill("70")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".app-state")).to_have_text("Approved")
    decision = page.locator("article.decision-approved")
    expect(decision).to_contain_text("HKD 400.00")
    expect(decision).to_contain_text("70%")
    decision.get_by_role("link", name="Open the grant").click()
    page.wait_for_url(re.compile(r"/portal/grants/grt_\w+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT_NAME)
    return page.url.rsplit("/", 1)[1]


@dataclass(frozen=True)
class Usage:
    starts: tuple[datetime, ...]
    month: str


def _usage_windows(now: datetime) -> Usage:
    """Three two-hour windows in the past, all in one Hong Kong month."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=8)
    last_end = first + timedelta(hours=6)
    if first.astimezone(HK).month != last_end.astimezone(HK).month:
        month_start = last_end.astimezone(HK).replace(day=1, hour=0).astimezone(UTC)
        first = month_start - timedelta(hours=6)
    starts = tuple(first + timedelta(hours=2 * i) for i in range(3))
    return Usage(starts, f"{first.astimezone(HK):%Y-%m}")


def _invoice_total(page: Page, url: str, *amounts: str) -> None:
    page.goto(url)
    total = page.locator("table.data tfoot tr")
    for amount in amounts:
        expect(total).to_contain_text(f"HKD {amount}")


def test_apply_review_approve_and_bill_through_the_cap(browser: Browser,
                                                       server: LiveServer) -> None:  # fmt: skip
    with as_user(browser, server, "harbour-u-admin") as page:
        app_id = _apply(page, server)
    with as_user(browser, server, "admin") as page:
        _screen_and_assign(page, server, app_id)
    with as_user(browser, server, "reviewer") as page:
        _recused(page, server, app_id)
    with as_user(browser, server, TWO) as page:
        _score(page, server, app_id)
    now = datetime.now(UTC)
    usage = _usage_windows(now)
    valid_from = f"{(now - timedelta(days=7)).astimezone(HK):%Y-%m-%d}"
    with as_user(browser, server, "committee") as page:
        grant_id = _approve(page, server, app_id, valid_from)
    with as_user(browser, server, "harbour-u-admin") as page:
        _decision_and_bills(page, server, app_id, grant_id, usage, now)
        refused = page.goto(f"{server.url}/portal/subsidy/report")
        assert refused is not None and refused.status == 403  # not for applicants
    with as_user(browser, server, "committee") as page:
        _annual_report(page, server, grant_id, now)


def _annual_report(page: Page, server: LiveServer, grant_id: str, now: datetime) -> None:
    """The annual report counts the application, its approval and the subsidy it used."""
    page.goto(f"{server.url}/portal/subsidy/report?year={now.astimezone(HK).year}")
    row = page.locator(f"#report-grants tr:has(a[href='/portal/grants/{grant_id}'])")
    expect(row).to_contain_text("HKD 400.00")
    expect(row).to_contain_text("100.0%")
    totals = page.locator("#report-categories tfoot tr td")
    assert int(totals.nth(0).inner_text()) >= 1 and int(totals.nth(1).inner_text()) >= 1
    expect(totals.nth(5)).to_contain_text("400.00")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "年度報告" in text and "400.00" in text


def _decision_and_bills(page: Page, server: LiveServer, app_id: str, grant_id: str,
                        usage: Usage, now: datetime) -> None:  # fmt: skip
    """The applicant sees the decision (never scores); the invoice splits each charge."""
    page.goto(f"{server.url}/portal/subsidy/applications/{app_id}")
    expect(page.locator("article.decision-approved")).to_contain_text("Quarterly progress reports.")
    expect(page.locator("main")).not_to_contain_text("6.95")
    expect(page.get_by_role("link", name="Reviews")).to_have_count(0)
    with server.client("admin") as api:
        grant = api.get(f"/v1/grants/{grant_id}").json()
    assert Decimal(grant["rate"]) == Decimal("0.70") and Decimal(grant["cap"]) == 400
    invoice = f"{server.url}/portal/invoices/draft?org={grant['org_id']}&month={usage.month}"
    meter = [lambda s=s: _meter(server, grant["org_id"], grant["project_id"], s, now)
             for s in usage.starts]  # fmt: skip
    meter[0]()  # 16 GPU-hours of H800 list at HKD 408.00; 70% is 285.60
    _invoice_total(page, invoice, "408.00", "285.60", "122.40")
    meter[1]()  # crosses the cap: the funder pays the 114.40 left, the org 293.60
    _invoice_total(page, invoice, "816.00", "400.00", "416.00")
    meter[2]()  # past the cap: the org pays the list price, 408.00
    _invoice_total(page, invoice, "1,224.00", "400.00", "824.00")
    page.goto(f"{server.url}/portal/grants/{grant_id}")
    expect(page.locator(".cap-hkd .percent").first).to_have_text("100.0%")


def _reviewed_by_one(server: LiveServer) -> str:
    """An application of kowloon-rd in review with two reviewers, one of whom has scored."""
    with server.client("kowloon-rd-admin") as applicant:
        call = applicant.get("/v1/subsidy/calls", params={"open": "true"}).json()[0]["id"]
        r = applicant.post(
            "/v1/subsidy/applications",
            json={**PROPOSAL, "call_id": call, "project": "kowloon-rd/speech"},
        )
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        assert applicant.post(f"/v1/subsidy/applications/{app_id}/submit").status_code == 200
    with server.client("admin") as admin:
        base = f"/v1/subsidy/applications/{app_id}"
        assert admin.post(f"{base}/screening", json={"eligible": True}).status_code == 200
        for name in ("reviewer", TWO):
            assert admin.post(f"{base}/assignments", json={"reviewer": name}).status_code == 201
    with server.client("reviewer") as first:
        assert first.post(f"{base}/coi", json={"coi": "none"}).status_code == 200
        body = {"scores": [{"criterion": k, "score": 3, "comment": "first-reviewer-comment"}
                           for k in SCORES]}  # fmt: skip
        assert first.post(f"{base}/scores", json=body).status_code == 201
    return app_id


def test_a_reviewer_sees_other_scores_only_after_scoring(page: Page, server: LiveServer) -> None:
    app_id = _reviewed_by_one(server)
    log_in(page, server, TWO)
    page.goto(f"{server.url}/portal/subsidy/applications/{app_id}/reviews")
    page.locator("#coi-none").check()
    page.get_by_role("button", name="Declare").click()
    expect(page.locator("fieldset.criterion")).to_have_count(5)
    expect(page.locator("table.scores")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("first-reviewer-comment")
    with httpx.Client(base_url=server.url) as api:
        api.headers["Authorization"] = f"Bearer {server.token(TWO)}"
        early = api.get(f"/v1/subsidy/applications/{app_id}/reviews").json()
    assert early["reviews"] == []
    for key in SCORES:
        page.locator(f"#s-{key}").fill("8")
    page.get_by_role("button", name="Submit scores").click()
    expect(page.locator("table.scores tr.review")).to_have_count(2)
    expect(page.locator("table.scores td.mean")).to_have_text("5.5")
    expect(page.locator("main")).to_contain_text("first-reviewer-comment")


def test_the_applicant_pages_in_traditional_chinese(page: Page, server: LiveServer) -> None:
    log_in(page, server, "lantern-ai-admin")
    page.get_by_role("button", name="繁體中文").click()
    page.get_by_role("navigation").get_by_role("link", name="資助申請").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("資助申請")
    page.locator("table.calls").get_by_role("link", name="申請").first.click()
    expect(page.get_by_role("button", name="儲存草稿")).to_be_visible()
    expect(page.locator("fieldset.declarations")).to_contain_text("本申請所載資料真實完整")
    page.get_by_role("button", name="EN").click()
