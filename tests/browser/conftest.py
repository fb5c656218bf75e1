"""Headless Chromium (Debian's ``chromium``), driven by Playwright for Python, and axe-core
(npm, installed into ``tests/browser/node`` on first use) to check pages' accessibility."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import in_ci, npm_installed

NODE_DIR = Path(__file__).resolve().parent / "node"


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
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Players started by a test's script, as by a click (headless has no user).
            args=["--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, to evaluate in a page (through the DevTools protocol, which a
    page's content security policy does not govern)."""
    return (npm_installed(NODE_DIR) / "node_modules" / "axe-core" / "axe.min.js").read_text()
