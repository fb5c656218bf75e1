"""Headless Chromium (Debian's ``chromium``), driven by Playwright for Python."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import in_ci


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Playwright's sync API runs an event loop in this thread while it is started: it stops
    with each module, so no test elsewhere finds a loop running (``asyncio.run`` fails)."""
    executable = shutil.which("chromium")
    if executable is None:
        message = "chromium is not installed (scripts/test-services installs it)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()
