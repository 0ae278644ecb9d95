"""The web portal in a real browser (Debian's Chromium via Playwright) against a real server.

One server per module (the tests use different users and their own jobs, so they do not
disturb each other). Waiting is Playwright's polling ``expect`` with deadlines, never sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfReader

from tests.conftest import LiveServer, make_live_server
from tests.integration.money import bill_live_org

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
HELLO = 'bash -c "echo hello-from-portal; sleep 1; echo done"'
LIVE_STATE = re.compile(r"^(RUNNING|COMPLETED)$")
JOB_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    s = make_live_server(tmp_path_factory.mktemp("portal"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    p = context.new_page()
    yield p
    context.close()


def log_in(page: Page, server: LiveServer, username: str, password: str | None = None) -> None:
    page.goto(server.url + "/portal/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password or server.credentials[username])
    page.locator("form.stack button[type=submit]").click()


def submit_hello(page: Page, server: LiveServer, name: str, submit_label: str) -> str:
    """Fill in the submit form; returns the new job's id (from the page it lands on)."""
    page.goto(server.url + "/portal/jobs/new")
    project = "LLM pre-training (Cantonese corpus) (llm-pretrain)"
    page.locator("#f-project_id").select_option(label=project)
    page.locator("#f-name").fill(name)
    page.locator("#f-command").fill(HELLO)
    page.locator("#f-gpus").fill("1")
    page.locator("#f-cpus").fill("1")
    page.locator("#f-memory").fill("512M")
    page.get_by_role("button", name=submit_label, exact=True).click()
    page.wait_for_url(re.compile(r"/portal/jobs/job_\w+$"))
    return page.url.rsplit("/", 1)[1]


def expect_hello_in_log(page: Page, job_id: str) -> None:
    log = page.locator("#log-stdout")
    expect(log).to_contain_text("hello-from-portal", timeout=JOB_TIMEOUT_MS)
    expect(log.locator(".log-end")).to_be_visible(timeout=JOB_TIMEOUT_MS)  # polling stopped
    state = page.locator("#job-status .state").first
    expect(state).to_have_text("COMPLETED", timeout=JOB_TIMEOUT_MS)
    assert job_id in page.url


def test_wrong_password_shows_an_error(page: Page, server: LiveServer) -> None:
    log_in(page, server, "harbour-u-alice", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert page.url.endswith("/portal/login")
    page.goto(server.url + "/portal/jobs")  # still not logged in: back to the login page
    assert "/portal/login?next=%2Fportal%2Fjobs" in page.url


def test_submit_and_follow_a_job_in_english(page: Page, server: LiveServer,
                                            tmp_path: Path) -> None:  # fmt: skip
    log_in(page, server, "harbour-u-alice")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#cap-h + p.big")).to_contain_text("GPUs")
    expect(page.locator("main")).to_contain_text("PFLOPS")
    expect(page.locator("main")).to_contain_text("BF16 dense")
    page.screenshot(path=str(tmp_path / "dashboard-en.png"), full_page=True)

    job_id = submit_hello(page, server, "portal-hello", "Submit")
    page.goto(server.url + "/portal/jobs")
    row = page.locator("tr", has=page.locator(f"a[href='/portal/jobs/{job_id}']"))
    expect(row.locator(".state")).to_have_text(LIVE_STATE, timeout=JOB_TIMEOUT_MS)
    row.get_by_role("link", name="portal-hello").click()
    expect_hello_in_log(page, job_id)
    expect(page.locator("#job-status table")).to_contain_text("local")  # attempt with its GPUs


def test_traditional_chinese_flow_is_remembered(browser: Browser, server: LiveServer,
                                                tmp_path: Path) -> None:  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/portal/login")
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("heading", level=1)).to_have_text("登入")
    log_in(page, server, "harbour-u-admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("儀表板")
    page.screenshot(path=str(tmp_path / "dashboard-zh.png"), full_page=True)

    page.get_by_role("navigation").get_by_role("link", name="作業", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("作業")
    job_id = submit_hello(page, server, "portal-hello-zh", "提交")
    expect(page.get_by_role("heading", name="規格")).to_be_visible()
    expect_hello_in_log(page, job_id)  # state words stay Slurm's English words
    expect(page.locator("#job-status .state").first).to_have_attribute("title", "已成功完成")

    page.get_by_role("button", name="登出").click()  # the browser remembers the language
    expect(page.get_by_role("heading", level=1)).to_have_text("登入")
    context.close()

    fresh = browser.new_context(locale="en-GB")  # a new browser: the account remembers it
    page = fresh.new_page()
    page.goto(server.url + "/portal/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    log_in(page, server, "harbour-u-admin")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("heading", level=1)).to_have_text("儀表板")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    fresh.close()


def _session(server: LiveServer, username: str) -> tuple[httpx.Client, str]:
    """An httpx client logged in through the login form, and its session's CSRF token."""
    c = httpx.Client(base_url=server.url, timeout=30)
    form = c.get("/portal/login").text
    anon = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert anon is not None
    r = c.post("/portal/login", data={"username": username, "csrf_token": anon.group(1),
                                      "password": server.credentials[username]})  # fmt: skip
    assert r.status_code == 303 and "petaport_session" in c.cookies
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/portal/jobs/new").text)
    assert token is not None
    return c, token.group(1)


def test_posts_without_the_csrf_token_are_refused(server: LiveServer) -> None:
    login = {"username": "admin", "password": server.credentials["admin"]}
    anon = httpx.post(server.url + "/portal/login", data=login)
    assert anon.status_code == 403 and "petaport_session" not in anon.cookies
    c, token = _session(server, "harbour-u-alice")
    job = {"project_id": "x", "name": "csrf", "command": "true"}
    assert c.post("/portal/jobs/new", data=job).status_code == 403
    assert c.post("/portal/jobs/new", data={**job, "csrf_token": "forged"}).status_code == 403
    assert c.post("/portal/logout").status_code == 403
    assert c.get("/portal/").status_code == 200  # still logged in: the logout was refused
    # The token in the htmx header is accepted (the project is unknown: the not-found page).
    assert c.post("/portal/jobs/new", data=job, headers={"X-CSRF-Token": token}).status_code == 404


def test_a_member_cannot_open_the_admin_pages(page: Page, server: LiveServer) -> None:
    log_in(page, server, "harbour-u-alice")
    expect(page.get_by_role("link", name="Organisations")).to_have_count(0)
    for path in ("/portal/admin/orgs", "/portal/admin/users", "/portal/admin/pools"):
        response = page.goto(server.url + path)
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_a_centre_admin_creates_an_organisation(page: Page, server: LiveServer) -> None:
    log_in(page, server, "admin")
    page.get_by_role("link", name="Organisations").click()
    page.locator("#o-name").fill("Tseung Kwan O Chip Design")
    page.locator("#o-slug").fill("tko-chips")
    page.locator("#o-category").select_option("startup")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("table.data")).to_contain_text("tko-chips")
    page.locator("#o-slug").fill("tko-chips")  # the same slug again: shown as an error
    page.locator("#o-name").fill("Again")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("alert")).to_contain_text("tko-chips")


def test_another_orgs_job_is_not_found(page: Page, server: LiveServer) -> None:
    with server.client("kowloon-rd-alice") as api:
        r = api.post("/v1/jobs", json={"name": "theirs", "project": "kowloon-rd/speech",
                                       "command": ["true"], "memory_mb": 64})  # fmt: skip
        r.raise_for_status()
        job_id = r.json()["id"]
    log_in(page, server, "harbour-u-alice")
    for path in (f"/portal/jobs/{job_id}", f"/portal/jobs/{job_id}/log?offset=0"):
        response = page.goto(server.url + path)
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.locator("main")).not_to_contain_text("theirs")


def test_cancel_a_running_job(page: Page, server: LiveServer) -> None:
    with server.client("harbour-u-alice") as api:
        r = api.post("/v1/jobs", json={"name": "long", "project": "harbour-u/med-imaging",
                                       "command": ["sleep", "300"], "memory_mb": 64})  # fmt: skip
        r.raise_for_status()
        job_id = r.json()["id"]
    log_in(page, server, "harbour-u-alice")
    page.goto(f"{server.url}/portal/jobs/{job_id}")
    state = page.locator("#job-status .state").first
    expect(state).to_have_text("RUNNING", timeout=JOB_TIMEOUT_MS)
    page.get_by_role("button", name="Cancel job").click()
    expect(state).to_have_text("CANCELLED", timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)


def test_an_org_admin_adds_and_removes_a_member(page: Page, server: LiveServer) -> None:
    log_in(page, server, "harbour-u-admin")
    page.get_by_role("link", name="Projects").click()
    project = page.get_by_role("row", name=re.compile("LLM pre-training"))
    project.get_by_role("link", name="Members").click()
    page.locator("#m-username").fill("lantern-ai-alice")
    page.locator("#m-role").select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    row = page.get_by_role("row", name=re.compile("lantern-ai-alice"))
    expect(row).to_contain_text("Viewer")
    page.locator("#m-username").fill("nobody-here")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert")).to_contain_text("nobody-here")
    row.get_by_role("button", name="Remove lantern-ai-alice").click()
    expect(page.get_by_role("row", name=re.compile("lantern-ai-alice"))).to_have_count(0)


def test_every_portal_string_has_a_traditional_chinese_translation(tmp_path: Path) -> None:
    """Extract afresh (as docs/portal.md says) and check the zh_Hant catalogue covers it all."""
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import read_po

    import petaport.web

    web = Path(petaport.web.__file__).parent
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(web / "babel.cfg"),
                                "-k", "N_", "-o", str(fresh), str(web)])  # fmt: skip
    with fresh.open("rb") as f:
        wanted = [m for m in read_po(f) if m.id]
    with (web / "locale/zh_Hant/LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = read_po(f, locale="zh_Hant")
    assert len(wanted) > 100
    for message in wanted:
        found = catalogue.get(message.id)
        assert found is not None and found.string and not found.fuzzy, message.id
        placeholders = set(re.findall(r"%\(\w+\)s", str(message.id)))
        assert placeholders == set(re.findall(r"%\(\w+\)s", str(found.string))), message.id
        assert found.string != message.id, message.id  # translated, not copied


def test_a_centre_admin_sets_changes_and_deletes_a_quota(page: Page, server: LiveServer) -> None:
    log_in(page, server, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Quotas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quotas and fair share")
    page.locator("#q-org").select_option("victoria-bank")
    page.locator("#q-project").select_option("victoria-bank/risk-llm")
    page.locator("#q-nominal_gpus").fill("2")
    page.locator("#q-borrowing_limit_gpus").fill("1.5")
    page.get_by_role("button", name="Set quota").click()
    row = page.get_by_role("row", name=re.compile("Credit-risk language model"))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_contain_text("Victoria Harbour Bank")
    expect(row.locator("td").nth(2)).to_have_text("any")
    expect(row.locator("td").nth(3)).to_have_text("2")
    expect(row.locator("td").nth(4)).to_have_text("1.5")
    expect(row.locator("td").nth(5)).to_have_text("all idle")
    expect(row.locator("td").nth(6)).to_have_text("0")
    expect(row.locator("meter")).to_have_count(1)

    page.locator("#q-org").select_option("victoria-bank")  # the same target again: changed
    page.locator("#q-project").select_option("victoria-bank/risk-llm")
    page.locator("#q-nominal_gpus").fill("3")
    page.locator("#q-lending_limit_gpus").fill("1")
    page.get_by_role("button", name="Set quota").click()
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("3")
    expect(row.locator("td").nth(4)).to_have_text("no limit")
    expect(row.locator("td").nth(5)).to_have_text("1")

    row.get_by_role("button", name="Delete the quota of victoria-bank/risk-llm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quotas and fair share")
    expect(page.get_by_role("row", name=re.compile("Credit-risk language model"))).to_have_count(0)


def test_bad_quota_input_is_shown_with_what_was_typed(page: Page, server: LiveServer) -> None:
    log_in(page, server, "admin")
    page.goto(server.url + "/portal/quotas")
    page.locator("#q-org").select_option("lantern-ai")
    page.locator("#q-gpu_model").fill("H800")
    page.locator("#q-nominal_gpus").fill("lots")
    page.get_by_role("button", name="Set quota").click()
    expect(page.get_by_role("alert")).to_contain_text("Guaranteed GPUs must be a number of GPUs")
    expect(page.locator("#q-nominal_gpus")).to_have_value("lots")
    expect(page.locator("#q-gpu_model")).to_have_value("H800")
    expect(page.locator("#q-org")).to_have_value("lantern-ai")

    page.locator("#q-nominal_gpus").fill("2")
    page.locator("#q-lending_limit_gpus").fill("5")  # more than it is guaranteed
    page.get_by_role("button", name="Set quota").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot exceed nominal_gpus")
    expect(page.locator("#q-lending_limit_gpus")).to_have_value("5")

    page.locator("#q-org").select_option("kowloon-rd")  # a project of another organisation
    page.locator("#q-project").select_option("lantern-ai/vision-poc")
    page.locator("#q-lending_limit_gpus").fill("")
    page.get_by_role("button", name="Set quota").click()
    expect(page.get_by_role("alert")).to_contain_text("is not in organisation kowloon-rd")
    expect(page.get_by_role("row", name=re.compile("Lantern Robotics"))).to_have_count(0)


def test_a_member_reads_quotas_in_english_and_chinese(page: Page, server: LiveServer) -> None:
    with server.client("admin") as api:
        api.post("/v1/quotas", json={"org": "hk-data-office", "nominal_gpus": "4",
                                     "lending_limit_gpus": "1"}).raise_for_status()  # fmt: skip
    log_in(page, server, "hk-data-office-alice")
    page.get_by_role("navigation").get_by_role("link", name="Quotas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quotas and fair share")
    row = page.get_by_role("row", name=re.compile("Public Data Office"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Whole organisation")
    expect(row.locator("td").nth(2)).to_have_text("any")
    expect(row.locator("td").nth(4)).to_have_text("no limit")
    expect(row.locator(".percent")).to_have_text("0%")
    expect(page.get_by_role("heading", name="Fair share", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("0.5 that it used exactly its entitlement")
    expect(page.locator("main")).not_to_contain_text("Victoria Harbour Bank")  # another org's
    expect(page.locator("#q-org")).to_have_count(0)  # no form and no delete button for members
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)

    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("heading", level=1)).to_have_text("配額與公平份額")
    expect(page.get_by_role("navigation").get_by_role("link", name="配額")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Public Data Office"))
    expect(row).to_contain_text("整個機構")
    expect(row.locator("td").nth(2)).to_have_text("任何型號")
    expect(row.locator("td").nth(4)).to_have_text("不設上限")
    expect(page.get_by_role("heading", name="公平份額", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("0.5 表示用量剛好等於其應得份額")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quotas and fair share")


def test_a_member_cannot_set_or_delete_quotas(server: LiveServer) -> None:
    with server.client("admin") as api:
        r = api.post("/v1/quotas", json={"org": "harbour-u", "gpu_model": "H800",
                                         "nominal_gpus": "1"})  # fmt: skip
        r.raise_for_status()
        quota_id = r.json()["id"]
    c, token = _session(server, "harbour-u-alice")
    page = c.get("/portal/quotas")
    assert page.status_code == 200 and quota_id not in page.text  # no delete buttons
    assert 'action="/portal/quotas"' not in page.text  # and no form
    wanted = {"org": "harbour-u", "nominal_gpus": "100", "csrf_token": token}
    refused = c.post("/portal/quotas", data=wanted)
    assert refused.status_code == 403 and "Not allowed" in refused.text
    refused = c.post(f"/portal/quotas/{quota_id}/delete", data={"csrf_token": token})
    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert c.post("/portal/quotas", data={**wanted, "csrf_token": "forged"}).status_code == 403
    with server.client("harbour-u-alice") as api:
        mine = api.get("/v1/quotas").json()
    assert [q["nominal_gpus"] for q in mine if q["id"] == quota_id] == ["1.000"]  # unchanged


def test_an_org_admin_downloads_an_invoice_pdf(page: Page, server: LiveServer,
                                               tmp_path: Path) -> None:  # fmt: skip
    bill_live_org(server, "lantern-ai", datetime(2026, 2, 3, 4, tzinfo=UTC))
    with server.client("admin") as api:
        r = api.post("/v1/invoices/issue", json={"month": "2026-02", "org": "lantern-ai"})
        assert r.status_code == 200, r.text
        number = r.json()["issued"][0]["number"]
    log_in(page, server, "lantern-ai-admin")
    page.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    row = page.get_by_role("row", name=re.compile(number))
    expect(row).to_contain_text("HKD 408.00")
    with page.expect_download() as info:
        row.get_by_role("link", name="PDF").click()
    download = info.value
    assert download.suggested_filename == f"{number}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    for expected in (number, "Lantern Robotics Ltd", "408.00", "發票", "2026-02"):
        assert expected in text, expected
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(number)
    expect(page.locator("table.data")).to_contain_text("GPU-hours H800, on demand")


def test_a_centre_admin_reads_revenue_and_the_price_book(page: Page, server: LiveServer) -> None:
    bill_live_org(server, "victoria-bank", datetime(2026, 3, 3, 4, tzinfo=UTC))
    log_in(page, server, "admin")
    page.get_by_role("link", name="Revenue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revenue")
    expect(page.locator("figure.chart img")).to_have_attribute("src", re.compile("^data:image/svg"))
    expect(page.get_by_role("row", name=re.compile("2026-03 Enterprise"))).to_contain_text(
        "HKD 408.00")  # fmt: skip
    page.get_by_role("link", name="Price book").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Price book")
    page.context.clear_cookies()
    log_in(page, server, "victoria-bank-alice")  # a member: no revenue
    response = page.goto(server.url + "/portal/admin/revenue")
    assert response is not None and response.status == 403
