"""The API docs pages work in a real browser under their content security policy: the page
runs, renders the API, and the browser reports no blocked script, style or worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.service.support import ServerProcess, launch

RENDER_TIMEOUT_MS = 60_000  # generous: a busy machine; the page either renders or it does not


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("docs")
    server = launch(root / "data", root / "server.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", note)
    return found


def test_swagger_ui_renders_under_its_policy(docs_server: ServerProcess, page: Page) -> None:
    violations = csp_violations(page)
    page.goto(f"{docs_server.base_url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=RENDER_TIMEOUT_MS)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/v1/generations" in path for path in paths)
    assert violations == []


def test_redoc_renders_under_its_policy(docs_server: ServerProcess, page: Page) -> None:
    violations = csp_violations(page)
    page.goto(f"{docs_server.base_url}/redoc")
    page.wait_for_selector("[data-section-id]", timeout=RENDER_TIMEOUT_MS)  # ReDoc's sections
    assert "/v1/generations" in page.content()
    # ReDoc's footer logo comes from its CDN: the policy keeps the page off the internet.
    assert all("https://cdn.redoc.ly/" in text for text in violations), violations


def test_a_page_of_another_site_cannot_frame_the_docs(
    docs_server: ServerProcess, page: Page
) -> None:
    violations = csp_violations(page)
    page.set_content(f'<iframe src="{docs_server.base_url}/docs"></iframe>', wait_until="load")
    [_, framed] = page.frames
    assert not framed.url.startswith(docs_server.base_url)  # an error page instead
    assert any("frame-ancestors" in text for text in violations), violations
