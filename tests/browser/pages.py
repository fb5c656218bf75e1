"""What the browser tests do to pages: accessibility checks, phone screenshots, waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

PHONE = {"width": 390, "height": 844}
SERIOUS = frozenset({"serious", "critical"})
POLL_S = 0.1

_AXE_RUN = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))"""
# A record of what an element's attribute or text became, in order (observed in the page).
_RECORD = """([selector, attribute, name]) => {
    const node = document.querySelector(selector);
    const seen = window[name] = [];
    const note = () => {
        const value = attribute ? node.getAttribute(attribute) : node.textContent;
        if (value && seen[seen.length - 1] !== value) seen.push(value);
    };
    note();
    new MutationObserver(note).observe(node, {attributes: true, childList: true,
                                              characterData: true, subtree: true});
}"""


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every rule, every impact)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(axe_source)
    violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN)
    return violations


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in SERIOUS]


def phone_screenshot(page: Page, directory: Path, name: str) -> Path:
    """The whole page at phone width (390 px), as ``directory/name.png``."""
    page.set_viewport_size(PHONE)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def record_changes(page: Page, selector: str, name: str, attribute: str | None = None) -> None:
    """From now on, ``window[name]`` lists the values the element's ``attribute`` (or its
    text) takes, repeats collapsed."""
    page.evaluate(_RECORD, [selector, attribute, name])


def recorded(page: Page, name: str) -> list[str]:
    values: list[str] = page.evaluate(f"() => window[{name!r}]")
    return values


def wait_until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``check`` (a read of the page) until it returns something true. The page's
    policy forbids Playwright's wait_for_function (it evaluates strings in the page)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_S)
