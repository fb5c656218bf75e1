"""``/docs`` and ``/redoc`` work offline: every script, stylesheet and icon they load is served
by this server, and nothing on the pages points anywhere else. And ``docs/asyncapi.yaml``, the
progress-stream contract, says what the code does."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from musewave.config import Settings
from musewave.jobs.events import EventType, JobEvent, Stage
from musewave.jobs.states import JobState
from musewave.service.app import create_app
from musewave.service.docs import ASSETS, STATIC_DIR, install_docs
from musewave.service.routes import events as event_routes

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"

# What each kind of asset must be served as.
CONTENT_TYPES = {".js": ("javascript",), ".css": ("text/css",), ".png": ("image/png",)}


class AssetLinks(HTMLParser):
    """The URLs a page loads: ``<script src>`` and ``<link href>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(html)
    return parser.urls


def docs_app() -> FastAPI:
    app = FastAPI(title="Docs test", docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    install_docs(app)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(docs_app()) as test_client:
        yield test_client


def assert_served_offline(client: TestClient, page: str, expected_assets: int) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered, html
    assert "cdn" not in lowered and "googleapis" not in lowered
    urls = asset_urls(html)
    assert len(urls) == expected_assets, urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/docs/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        suffix = Path(parts.path).suffix
        content_type = asset.headers["content-type"]
        assert any(kind in content_type for kind in CONTENT_TYPES[suffix]), (url, content_type)
        assert asset.content == (STATIC_DIR / parts.path.removeprefix("/docs/static/")).read_bytes()


def test_swagger_ui_is_served_from_this_server(client: TestClient) -> None:
    assert_served_offline(client, "/docs", expected_assets=3)  # css, favicon, js
    html = client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert '"validatorUrl": null' in html  # no badge fetched from the online validator
    assert client.get("/openapi.json").status_code == 200


def test_redoc_is_served_from_this_server(client: TestClient) -> None:
    assert_served_offline(client, "/redoc", expected_assets=2)  # favicon, js
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text


def test_the_docs_follow_a_proxy_prefix() -> None:
    with TestClient(docs_app(), root_path="/musewave") as test_client:
        urls = asset_urls(test_client.get("/docs").text)
        html = test_client.get("/docs").text
    assert urls and all(url.startswith("/musewave/docs/static/") for url in urls), urls
    assert "url: '/musewave/openapi.json'" in html


def test_the_docs_routes_are_not_in_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/ping"}


def test_unknown_static_files_are_404(client: TestClient) -> None:
    assert client.get("/docs/static/nope.js").status_code == 404


def test_the_vendored_files_carry_their_licences() -> None:
    for name in ASSETS:
        assert (STATIC_DIR / name).stat().st_size > 0
    for licence in ("swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"):
        assert (STATIC_DIR / licence).is_file(), licence
    assert "Apache License" in (STATIC_DIR / "swagger-ui/LICENSE").read_text()
    assert "MIT" in (STATIC_DIR / "redoc/LICENSE").read_text()


def test_no_docs_without_an_openapi_document() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_docs(app)
    with TestClient(app) as test_client:
        assert test_client.get("/docs").status_code == 404
        assert test_client.get("/docs/static/" + ASSETS[0]).status_code == 404


def test_the_real_app_serves_offline_docs(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, concurrency=1), start_workers=False)
    if not any(getattr(route, "path", None) == "/docs/static" for route in app.routes):
        # Until create_app builds FastAPI(docs_url=None, redoc_url=None) and calls
        # install_docs, take FastAPI's CDN pages off and install these.
        app.router.routes[:] = [
            route
            for route in app.router.routes
            if getattr(route, "path", None) not in ("/docs", "/redoc", "/docs/oauth2-redirect")
        ]
        install_docs(app)
    with TestClient(app) as test_client:
        assert_served_offline(test_client, "/docs", expected_assets=3)
        assert_served_offline(test_client, "/redoc", expected_assets=2)


# --- docs/asyncapi.yaml ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return document


def json_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a (simple) JSON Schema allows."""
    types: set[str] = set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        types |= json_types(option)
    kind = schema.get("type")
    if isinstance(kind, str):
        types.add(kind)
    elif isinstance(kind, list):
        types.update(kind)
    return types


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def test_asyncapi_is_a_3_0_document_whose_refs_resolve(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"].startswith("3.")
    assert {channel["address"] for channel in asyncapi["channels"].values()} == {
        "/ws/progress/{job_id}",
        "/v1/jobs/{job_id}/events",
    }
    refs = list(refs_in(asyncapi))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        resolve(asyncapi, ref)  # raises KeyError when it points nowhere


def test_asyncapi_event_payload_is_job_event(asyncapi: dict[str, Any]) -> None:
    documented = asyncapi["components"]["schemas"]["JobEvent"]
    fields = set(JobEvent.model_fields)
    assert set(documented["properties"]) == fields
    # Every field is always serialized (None as null), so every property is required.
    assert set(documented["required"]) == fields
    sent = json.loads(JobEvent(type="progress", job_id="j", stage=Stage.QUEUED).model_dump_json())
    assert set(sent) == fields

    enum = documented["properties"]["type"]["enum"]
    assert len(enum) == len(set(enum)) and set(enum) == set(get_args(EventType))

    actual = JobEvent.model_json_schema(mode="serialization")["properties"]
    for name, schema in actual.items():
        assert json_types(documented["properties"][name]) == json_types(schema), name
    assert documented["properties"]["ts"]["format"] == actual["ts"]["format"]


def test_asyncapi_stages_are_the_codes(asyncapi: dict[str, Any]) -> None:
    stage = asyncapi["components"]["schemas"]["JobEvent"]["properties"]["stage"]
    endings = {JobState.CANCELLED, JobState.ABORTED, JobState.FAILED, JobState.DEAD}  # final_event
    assert set(stage["examples"]) == {s.value for s in Stage} | {s.value for s in endings}


def test_asyncapi_examples_are_valid_events(asyncapi: dict[str, Any]) -> None:
    message = asyncapi["components"]["messages"]["JobEvent"]
    fields = set(JobEvent.model_fields)
    assert {example["payload"]["type"] for example in message["examples"]} >= {
        "connected",
        "progress",
        "completed",
        "failed",
    }
    for example in message["examples"]:
        assert set(example["payload"]) == fields, example["name"]
        JobEvent.model_validate(example["payload"])


def test_asyncapi_websocket_close_codes_are_the_codes(asyncapi: dict[str, Any]) -> None:
    documented = {
        entry["code"]: entry["reason"]
        for entry in asyncapi["channels"]["progressSocket"]["x-close-codes"]
    }
    assert documented == {
        event_routes.CLOSE_NORMAL: "",
        event_routes.CLOSE_GOING_AWAY: event_routes.REASON_GOING_AWAY,
        event_routes.CLOSE_UNAUTHORIZED: event_routes.REASON_UNAUTHORIZED,
        event_routes.CLOSE_UNKNOWN_JOB: event_routes.REASON_UNKNOWN_JOB,
    }


def test_asyncapi_sse_framing_is_the_codes(asyncapi: dict[str, Any]) -> None:
    sse = asyncapi["channels"]["progressEvents"]["x-sse"]
    assert set(sse["event-names"]) == set(get_args(EventType))
    assert sse["heartbeat"]["after-idle-seconds"] == event_routes.SSE_HEARTBEAT_S
    source = inspect.getsource(event_routes)
    assert f'"{sse["heartbeat"]["comment"]}\\n\\n"' in source
    assert 'f"event: {event.type}\\ndata: {services.bus.json_of(event)}\\n\\n"' in source
    shutdown = asyncapi["components"]["messages"]["SseShuttingDown"]["payload"]
    detail = shutdown["properties"]["detail"]["const"]
    assert f"event: error\\ndata: {json.dumps({'detail': detail})}\\n\\n" in source


def test_an_unknown_job_closes_the_websocket_as_documented(
    tmp_path: Path, asyncapi: dict[str, Any]
) -> None:
    app = create_app(Settings(data_dir=tmp_path, concurrency=1), start_workers=False)
    job_id = "0" * 32
    with (
        TestClient(app) as test_client,
        pytest.raises(WebSocketDisconnect) as closed,
        test_client.websocket_connect(f"/ws/progress/{job_id}") as socket,
    ):
        socket.receive_text()
    assert closed.value.code == event_routes.CLOSE_UNKNOWN_JOB
    assert closed.value.reason == event_routes.REASON_UNKNOWN_JOB
