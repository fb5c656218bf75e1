"""Every error is an RFC 9457 problem (``application/problem+json``): unknown routes, wrong
methods, bad bodies (never echoed back, however big or strange), a queue outage and unhandled
errors; and the OpenAPI document says so. On a small app, then on the real one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import structlog.testing
from fastapi import FastAPI, HTTPException, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from musewave.config import Settings
from musewave.jobs.errors import JobConflict, JobNotFound, QueueUnavailable
from musewave.service.app import create_app
from musewave.service.problems import (
    MAX_FIELD_ERRORS,
    PROBLEM_MEDIA_TYPE,
    QUEUE_UNAVAILABLE_TYPE,
    VALIDATION_TYPE,
    Problem,
    install_problem_handlers,
    problem_responses,
)
from musewave.service.request_context import RequestContextMiddleware

SECRET = "the mixer caught fire at /srv/secret/path"
JSON = {"content-type": "application/json"}
# Raw JSON texts the standard library parses into non-finite floats or lone surrogates.
NON_FINITE = [
    b'{"prompt": "x", "duration_s": 1e400}',
    b'{"prompt": "x", "duration_s": -1e400}',
    b'{"prompt": "x", "duration_s": NaN}',
    b'{"prompt": "x", "duration_s": Infinity}',
    b'{"prompt": "x", "duration_s": -Infinity}',
]
LONE_SURROGATES = [
    b'{"prompt": "\\ud800 lofi"}',
    b'{"prompt": "lofi \\udfff"}',
    b'{"prompt": "x", "\\ud800": 1}',
    b'{"prompt": "x", "genres": ["\\ud800"]}',
]


class Track(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[str, Field(min_length=1, max_length=500)]
    duration_s: Annotated[float, Field(ge=30, le=120)] = 60.0
    genres: list[str] = []

    @field_validator("genres")
    @classmethod
    def _known(cls, genres: list[str]) -> list[str]:
        for genre in genres:  # like the engine's: the message quotes the value sent
            raise ValueError(f"unknown genre {genre!r}; known genres: ambient, lofi, techno")
        return genres


class Boom(RuntimeError):
    pass


class FailingMiddleware:
    """Raises outside the user middlewares' reach when asked to (path /outer-boom)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/outer-boom":
            raise Boom(SECRET)
        await self.app(scope, receive, send)


def small_app() -> FastAPI:
    app = FastAPI()

    @app.post("/tracks", status_code=202, responses=problem_responses(503))
    async def submit(track: Track) -> dict[str, str]:
        return {"prompt": track.prompt}

    @app.get("/items/{item_id}", responses=problem_responses(404))
    async def item(item_id: int, limit: Annotated[int, Query(ge=1, le=10)] = 5) -> dict[str, int]:
        if item_id == 0:
            raise HTTPException(404, detail=f"no item {item_id}")
        return {"item_id": item_id, "limit": limit}

    @app.get("/busy")
    async def busy() -> None:
        raise HTTPException(503, detail="shutting down", headers={"Retry-After": "30"})

    @app.get("/gone-quietly")
    async def not_modified() -> None:
        raise HTTPException(304, headers={"ETag": '"v1"'})

    @app.get("/structured")
    async def structured() -> None:
        raise HTTPException(409, detail={"state": "completed"})

    @app.get("/jobs/{job_id}")
    async def job(job_id: str) -> None:
        if job_id == "done":
            raise JobConflict("job is already completed")
        raise JobNotFound(job_id)

    @app.get("/queue")
    async def queue() -> None:
        raise QueueUnavailable("cannot reach Redis at redis://:hunter2@10.0.0.7:6379")

    @app.get("/boom")
    async def boom() -> None:
        raise Boom(SECRET)

    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    app.add_middleware(FailingMiddleware)  # added after: outside RequestContextMiddleware
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(small_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """The response's problem, after checking its status, media type and members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = json.loads(response.content.decode("utf-8"))  # strict UTF-8
    Problem.model_validate(body)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_no_echo(response: Any, *sent: str) -> None:
    for text in sent:
        assert text not in response.text


# --- the small app ---------------------------------------------------------------------------


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = problem_of(client.get("/no/such/route"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["instance"] == "/no/such/route"
    assert body["detail"] == "Nothing is at this URL."
    assert "errors" not in body


def test_wrong_method_is_a_405_problem_that_keeps_allow(client: TestClient) -> None:
    response = client.delete("/tracks")
    body = problem_of(response, 405)
    assert body["title"] == "Method Not Allowed"
    assert body["detail"] == "DELETE is not allowed here; use POST."
    assert response.headers["allow"] == "POST"


def test_http_exceptions_keep_their_detail_and_headers(client: TestClient) -> None:
    body = problem_of(client.get("/items/0"), 404)
    assert (body["type"], body["detail"], body["instance"]) == (
        "about:blank",
        "no item 0",
        "/items/0",
    )
    busy = client.get("/busy")
    assert problem_of(busy, 503)["detail"] == "shutting down"
    assert busy.headers["retry-after"] == "30"
    assert json.loads(problem_of(client.get("/structured"), 409)["detail"]) == {
        "state": "completed"
    }
    quiet = client.get("/gone-quietly")
    assert (quiet.status_code, quiet.content, quiet.headers["etag"]) == (304, b"", '"v1"')


def test_job_errors_are_404_and_409_problems(client: TestClient) -> None:
    missing = problem_of(client.get("/jobs/abc"), 404)
    assert (missing["type"], missing["detail"]) == ("about:blank", "no job 'abc'")
    conflict = problem_of(client.get("/jobs/done"), 409)
    assert (conflict["title"], conflict["detail"]) == ("Conflict", "job is already completed")


def test_bad_json_is_a_422_with_field_errors(client: TestClient) -> None:
    body = problem_of(client.post("/tracks", content=b'{"prompt": ', headers=JSON), 422)
    assert body["type"] == VALIDATION_TYPE
    [error] = body["errors"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"
    assert "JSON decode error" in error["msg"]
    assert body["detail"].startswith("body.")


def test_field_errors_name_each_field_and_echo_nothing(client: TestClient) -> None:
    sent = {"prompt": "", "duration_s": 999.25, "tempo": "allegro-vivace"}
    response = client.post("/tracks", json=sent)
    body = problem_of(response, 422)
    by_loc = {tuple(e["loc"]): e for e in body["errors"]}
    assert set(by_loc) == {("body", "prompt"), ("body", "duration_s"), ("body", "tempo")}
    assert by_loc[("body", "duration_s")]["type"] == "less_than_equal"
    assert by_loc[("body", "tempo")]["type"] == "extra_forbidden"
    assert "(and 2 more errors)" in body["detail"]
    assert_no_echo(response, "999.25", "allegro-vivace", '"input"', '"ctx"', '"url"')
    assert set(body["errors"][0]) == {"loc", "msg", "type"}

    query = problem_of(client.get("/items/abc", params={"limit": 11}), 422)
    assert {tuple(e["loc"]) for e in query["errors"]} == {("path", "item_id"), ("query", "limit")}


@pytest.mark.parametrize("raw", NON_FINITE, ids=lambda raw: raw.decode()[30:-1])
def test_non_finite_numbers_are_a_422_not_a_500(client: TestClient, raw: bytes) -> None:
    body = problem_of(client.post("/tracks", content=raw, headers=JSON), 422)
    assert [tuple(e["loc"]) for e in body["errors"]] == [("body", "duration_s")]


@pytest.mark.parametrize("raw", LONE_SURROGATES, ids=range(len(LONE_SURROGATES)))
def test_lone_surrogates_are_a_4xx_not_a_500(client: TestClient, raw: bytes) -> None:
    response = client.post("/tracks", content=raw, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    problem_of(response, response.status_code)  # and the body is valid UTF-8


def test_a_huge_prompt_gets_a_small_answer(client: TestClient) -> None:
    prompt = "lofi " * 200_000  # 1 MB
    response = client.post("/tracks", json={"prompt": prompt})
    body = problem_of(response, 422)
    assert len(response.content) < 2048, len(response.content)
    assert [e["type"] for e in body["errors"]] == ["string_too_long"]
    assert_no_echo(response, "lofi lofi")


def test_messages_and_locations_that_quote_the_input_are_clipped(client: TestClient) -> None:
    genre = "g" * 1_000_000
    key = "k" * 1_000_000
    response = client.post("/tracks", json={"prompt": "x", "genres": [genre], key: 1})
    body = problem_of(response, 422)
    assert len(response.content) < 4096, len(response.content)
    messages = " ".join(e["msg"] for e in body["errors"])
    assert "unknown genre" in messages and "known genres: ambient" in messages  # ends kept
    assert all(len(str(part)) <= 80 for e in body["errors"] for part in e["loc"])


def test_the_number_of_field_errors_is_capped(client: TestClient) -> None:
    sent = {"prompt": "x", **{f"field{n}": n for n in range(500)}}
    response = client.post("/tracks", json=sent)
    body = problem_of(response, 422)
    assert len(body["errors"]) == MAX_FIELD_ERRORS
    assert f"(and {500 - 1} more errors)" in body["detail"]
    assert len(response.content) < 8192


def test_queue_unavailable_is_a_503_with_retry_after(client: TestClient) -> None:
    response = client.get("/queue")
    body = problem_of(response, 503)
    assert body["type"] == QUEUE_UNAVAILABLE_TYPE
    assert response.headers["retry-after"] == "5"
    assert_no_echo(response, "hunter2", "10.0.0.7")


def test_an_unhandled_error_is_a_generic_500(client: TestClient) -> None:
    with structlog.testing.capture_logs() as logs:
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    [logged] = [line for line in logs if line["event"] == "unhandled error"]  # once
    assert (logged["log_level"], logged["method"], logged["path"]) == ("error", "GET", "/boom")
    assert logged["exc_info"] is True
    body = problem_of(response, 500)
    assert body["type"] == "about:blank" and body["instance"] == "/boom"
    assert response.headers["x-request-id"] == "boom-1"  # answered inside the request context
    assert_no_echo(response, SECRET, "Boom", "Traceback", "problems.py")

    outer = client.get("/outer-boom")  # raised outside every user middleware
    problem_of(outer, 500)
    assert_no_echo(outer, SECRET, "Boom", "Traceback")


def test_installing_twice_changes_nothing_and_late_is_refused() -> None:
    app = small_app()
    count = len(app.user_middleware)
    install_problem_handlers(app)
    assert len(app.user_middleware) == count
    with TestClient(app) as test_client:
        problem_of(test_client.get("/nope"), 404)

    started = FastAPI()
    with TestClient(started) as test_client:
        test_client.get("/")  # builds its middleware stack
    with pytest.raises(RuntimeError, match="before the app starts"):
        install_problem_handlers(started)


def test_openapi_documents_problems(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "errors",
    }
    assert "FieldError" in schemas
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    submit = document["paths"]["/tracks"]["post"]["responses"]
    assert submit["422"]["content"] == {PROBLEM_MEDIA_TYPE: ref}  # FastAPI's own, rewritten
    assert submit["503"]["content"] == {PROBLEM_MEDIA_TYPE: ref}
    assert "Retry-After" in submit["503"]["headers"]
    item = document["paths"]["/items/{item_id}"]["get"]["responses"]
    assert item["404"]["content"] == {PROBLEM_MEDIA_TYPE: ref}
    assert item["422"]["content"] == {PROBLEM_MEDIA_TYPE: ref}
    assert client.get("/openapi.json").json() == document  # stable across calls


# --- the real app ----------------------------------------------------------------------------


@pytest.fixture
def real_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, concurrency=1), start_workers=False)
    install_problem_handlers(app)  # a no-op once create_app installs them itself

    async def fail() -> None:
        raise Boom(SECRET)

    app.add_api_route("/boom", fail, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_real_app_answers_problems(real_client: TestClient) -> None:
    body = problem_of(real_client.get("/no/such/route"), 404)
    assert body["type"] == "about:blank"
    unknown = "0" * 32
    job = problem_of(real_client.get(f"/v1/jobs/{unknown}"), 404)
    assert unknown in job["detail"]
    stream = problem_of(real_client.get(f"/v1/jobs/{unknown}/events"), 404)  # before any SSE
    assert unknown in stream["detail"]
    problem_of(real_client.delete("/v1/generations"), 405)

    bad_json = problem_of(real_client.post("/v1/generations", content=b"{", headers=JSON), 422)
    assert bad_json["errors"][0]["type"] == "json_invalid"
    for raw in NON_FINITE:
        problem_of(real_client.post("/v1/generations", content=raw, headers=JSON), 422)
    for raw in LONE_SURROGATES:
        response = real_client.post("/v1/generations", content=raw, headers=JSON)
        assert 400 <= response.status_code < 500, (raw, response.text)
        problem_of(response, response.status_code)

    # A prompt far too long is a 422 that quotes none of it. (The server's connections refuse
    # bodies over 64 KB before any route reads them: tests/service/test_hardening.py.)
    long = real_client.post("/v1/generations", json={"prompt": "lofi " * 12_000})
    assert [e["loc"] for e in problem_of(long, 422)["errors"]] == [["body", "prompt"]]
    assert len(long.content) < 2048

    boom = real_client.get("/boom", headers={"X-Request-ID": "boom-2"})
    problem_of(boom, 500)
    assert boom.headers["x-request-id"] == "boom-2"
    assert_no_echo(boom, SECRET, "Traceback")

    # Nothing above was queued.
    assert real_client.get("/v1/admin/queue").json()["queued"] == 0


def test_the_real_apps_openapi_uses_problems(real_client: TestClient) -> None:
    document = real_client.get("/openapi.json").json()
    submit = document["paths"]["/v1/generations"]["post"]["responses"]
    assert set(submit["422"]["content"]) == {PROBLEM_MEDIA_TYPE}
    assert "Problem" in document["components"]["schemas"]
