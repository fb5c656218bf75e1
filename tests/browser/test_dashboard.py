"""The operator dashboard in a real browser against a real ``musewave serve``: a dead job
re-driven from the page is seen completing; keys made and revoked; a user key sees no data;
accessible (axe-core) and phone-size.

The dead job is made by a first server whose worker fails every attempt
(``MUSEWAVE_TEST_FAIL_ATTEMPTS``); the dashboard's server then runs on the same data without
that fault."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from musewave.access import KeyStore, Scope
from musewave.db import make_engine, make_session_factory
from tests.browser.pages import axe_violations, phone_screenshot, serious
from tests.service.support import ServerProcess, WsWatcher, launch, submit, track

RENDER_TIMEOUT_MS = 150_000
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Operations:
    server: ServerProcess
    dead_job_id: str
    user_key: str
    shots: Path


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operations]:
    root = tmp_path_factory.mktemp("dashboard")
    faulty = launch(
        root / "data",
        root / "faulty.log",
        {
            "MUSEWAVE_TEST_FAIL_ATTEMPTS": "4",
            "MUSEWAVE_RETRY_DELAYS_S": "0.1,0.1,0.1",
            "MUSEWAVE_CONCURRENCY": "1",
        },
    )
    try:
        with faulty.client() as client:
            job_id = submit(client, track("doomed until re-driven", seed=21))["id"]
            with WsWatcher(faulty, job_id) as watcher:
                assert watcher.wait_done(timeout_s=120)[-1]["stage"] == "dead"
    finally:
        faulty.stop()
    server = launch(root / "data", root / "server.log", {"MUSEWAVE_CONCURRENCY": "1"})
    engine = make_engine(server.database_url)
    user_key = KeyStore(make_session_factory(engine)).create("alice", Scope.USER)[1]
    engine.dispose()
    shots = root / "screenshots"
    shots.mkdir()
    yield Operations(server, job_id, user_key, shots)
    server.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


def open_dashboard(page: Page, operations: Operations) -> None:
    page.goto(f"{operations.server.base_url}/dashboard")
    page.wait_for_selector("html[data-ready=true]")


def test_a_dead_job_re_driven_from_the_page_completes(
    operations: Operations, context: BrowserContext
) -> None:
    page = context.new_page()
    open_dashboard(page, operations)
    row = page.locator(f'#dead-rows tr[data-job="{operations.dead_job_id}"]')
    expect(row).to_contain_text("injected failure")
    expect(page.locator("#counts [data-state=dead] dd")).to_have_text("1")
    row.get_by_role("button", name=f"Re-drive job {operations.dead_job_id}").click()
    state = row.locator("[data-role=state]")
    expect(state).to_have_text("completed", timeout=RENDER_TIMEOUT_MS)
    with operations.server.client() as client:
        job = client.get(f"/v1/jobs/{operations.dead_job_id}").json()
    assert (job["state"], job["attempts"]) == ("completed", 1)
    expect(page.locator("#counts [data-state=completed] dd")).to_have_text("1")
    expect(page.locator("#counts [data-state=dead] dd")).to_have_text("0")
    expect(page.locator("#throughput-summary")).to_contain_text("1 completed")


def test_keys_are_made_and_revoked_from_the_page(
    operations: Operations, context: BrowserContext
) -> None:
    page = context.new_page()
    open_dashboard(page, operations)
    page.fill("#new-key-name", "ci robot")
    page.select_option("#new-key-scope", "user")
    page.fill("#new-key-rate", "30/minute")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-secret")).to_be_visible()
    value = page.input_value("#new-secret-value")
    assert value.startswith("mw_")
    with operations.server.client() as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {value}"}).json()
    assert (me["name"], me["scope"]) == ("ci robot", "user")

    row = page.locator("#key-rows tr", has_text="ci robot")
    expect(row).to_contain_text("30/minute")
    row.get_by_role("button", name="Revoke key ci robot").click()
    expect(row).to_contain_text("revoked")
    assert "mw_" not in page.url


def test_a_user_key_gets_no_dashboard(operations: Operations, context: BrowserContext) -> None:
    page = context.new_page()
    admin_answers: list[Response] = []
    page.on(
        "response",
        lambda response: admin_answers.append(response) if "/v1/admin/" in response.url else None,
    )
    open_dashboard(page, operations)  # the anonymous loopback user is an admin; now a user key
    page.click("#key-button")
    page.fill("#key-input", operations.user_key)
    page.click("#key-save")
    expect(page.locator("#denied")).to_be_visible()
    expect(page.locator("#denied-text")).to_contain_text("user scope")
    for section in ("#queue", "#dead", "#keys", "#throughput", "#health", "#clean"):
        expect(page.locator(section)).to_be_hidden()
    admin_answers.clear()
    page.reload()  # the key stays in this tab: still nothing, and not even asked for
    page.wait_for_selector("html[data-ready=true]")
    expect(page.locator("#denied")).to_be_visible()
    assert [answer.url for answer in admin_answers if answer.ok] == []
    with operations.server.client() as client:
        headers = {"Authorization": f"Bearer {operations.user_key}"}
        assert client.get("/v1/admin/queue", headers=headers).status_code == 403
        assert client.get("/v1/admin/keys", headers=headers).status_code == 403


def test_the_dashboard_is_accessible_and_fits_a_phone(
    operations: Operations, browser: Browser, axe_source: str
) -> None:
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
        page = context.new_page()
        open_dashboard(page, operations)
        page.wait_for_selector("#counts div")
        violations = axe_violations(page, axe_source)
        assert serious(violations) == [], (scheme, violations)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        print(f"screenshot: {phone_screenshot(page, operations.shots, f'dashboard-{scheme}')}")
        print(f"axe ({scheme}): {len(violations)} violations of any impact")
        context.close()
