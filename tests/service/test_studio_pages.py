"""The studio's pages as HTTP sees them: a strict policy (no inline script or style, nothing
from another origin), every file they name shipped in the package, and a light page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from musewave.config import Settings
from musewave.service.app import create_app
from musewave.service.routes.studio import STUDIO_DIR

PAGES = ("/", "/tracks/0123456789abcdef", "/dashboard")
JS_BUDGET_BYTES = 300 * 1024
_REFERENCE = re.compile(r"""(?:src|href)="([^"]+)"|from\s+"(\./[^"]+)"|import\s+"(\./[^"]+)\"""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("studio"))
    app = create_app(settings, start_workers=False)
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in policy.split(";") if d.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_only_their_own_files(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = _directives(page.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "unsafe-eval" not in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no tracker


def test_a_shared_track_link_is_the_studio_page(client: TestClient) -> None:
    assert client.get("/tracks/abc").text == client.get("/").text


def test_every_file_a_page_or_module_names_is_served(client: TestClient) -> None:
    pending = ["/", "/dashboard"]
    seen: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url)
        assert answer.status_code == 200, url
        if url.endswith((".css", ".svg")):
            continue
        for match in _REFERENCE.finditer(answer.text):
            target = next(group for group in match.groups() if group)
            if target.startswith("./"):
                target = url.rsplit("/", 1)[0] + target[1:]
            if target.startswith("/studio/"):
                pending.append(target)
    served = {url.removeprefix("/studio/") for url in seen if url.startswith("/studio/")}
    assert served == {p.name for p in STUDIO_DIR.iterdir() if p.suffix != ".html"}


def test_the_studio_ships_less_than_300_kb_of_javascript() -> None:
    total = sum(path.stat().st_size for path in Path(STUDIO_DIR).glob("*.js"))
    assert 0 < total < JS_BUDGET_BYTES
