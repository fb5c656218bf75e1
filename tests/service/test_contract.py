"""The OpenAPI document is true: every status a route answers is documented for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from musewave.config import Settings
from musewave.service.app import create_app
from musewave.service.schemas import GenerationBody, key_pattern


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), start_workers=False)) as client:
        yield client


def documented(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    return set(openapi["paths"][path][method.lower()]["responses"])


def test_every_status_a_route_answers_is_in_its_documented_responses(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    job_id = client.post("/v1/generations", json={"prompt": "contract", "seed": 1}).json()["id"]
    done_id = client.post("/v1/generations", json={"prompt": "to cancel"}).json()["id"]
    client.post(f"/v1/jobs/{done_id}/cancel")
    job = "/v1/jobs/{job_id}"
    asset = "/v1/jobs/{job_id}/assets/{name}"
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("POST", "/v1/generations", "/v1/generations", {"json": {"prompt": "ok"}}),
        ("POST", "/v1/generations", "/v1/generations", {"json": {"prompt": ""}}),
        (
            "POST",
            "/v1/generations",
            "/v1/generations",
            {
                "content": b'{"prompt": "x", "bpm": 1e400}',
                "headers": {"content-type": "application/json"},
            },
        ),
        (
            "POST",
            "/v1/generations",
            "/v1/generations",
            {"content": b'{"prompt": "\xff"}', "headers": {"content-type": "application/json"}},
        ),
        ("GET", "/v1/jobs", "/v1/jobs", {}),
        ("GET", "/v1/jobs", "/v1/jobs", {"params": {"cursor": "garbage"}}),
        ("GET", "/v1/jobs", "/v1/jobs", {"params": {"limit": 0}}),
        ("GET", job, f"/v1/jobs/{job_id}", {}),
        ("GET", job, "/v1/jobs/nope", {}),
        ("POST", job + "/cancel", f"/v1/jobs/{done_id}/cancel", {}),
        ("POST", job + "/cancel", "/v1/jobs/nope/cancel", {}),
        ("GET", job + "/assets", f"/v1/jobs/{job_id}/assets", {}),
        ("GET", job + "/assets", "/v1/jobs/nope/assets", {}),
        ("GET", asset, f"/v1/jobs/{job_id}/assets/mix.wav", {}),
        ("HEAD", asset, "/v1/jobs/nope/assets/mix.wav", {}),
        ("GET", job + "/events", "/v1/jobs/nope/events", {}),
        ("GET", job + "/events", f"/v1/jobs/{done_id}/events", {}),
        ("GET", "/v1/admin/queue", "/v1/admin/queue", {}),
        ("GET", "/v1/admin/dead", "/v1/admin/dead", {"params": {"cursor": "garbage"}}),
        ("POST", "/v1/admin/jobs/{job_id}/redrive", f"/v1/admin/jobs/{job_id}/redrive", {}),
        ("POST", "/v1/admin/jobs/{job_id}/redrive", "/v1/admin/jobs/nope/redrive", {}),
        ("POST", "/v1/admin/clean", "/v1/admin/clean", {"params": {"older_than_s": -1}}),
        ("POST", "/v1/admin/clean", "/v1/admin/clean", {"params": {"older_than_s": 1e6}}),
        ("GET", "/health/ready", "/health/ready", {}),
        ("GET", "/health", "/health", {}),
        ("GET", "/health/live", "/health/live", {}),
    ]
    answered: list[tuple[str, str, int]] = []
    for method, route, url, kwargs in cases:
        response = client.request(method, url, **kwargs)
        doc_method = "get" if method == "HEAD" else method
        assert str(response.status_code) in documented(openapi, doc_method, route), (
            method,
            url,
            response.status_code,
            response.text[:200],
        )
        if response.status_code >= 400 and method != "HEAD" and not route.startswith("/health"):
            assert response.headers["content-type"] == "application/problem+json"
        answered.append((method, route, response.status_code))
    # The battery reaches the error paths it means to (not just 200s).
    assert {status for _, _, status in answered} >= {200, 202, 400, 404, 409, 422, 503}


def test_a_method_an_asset_does_not_take_is_405_naming_get(client: TestClient) -> None:
    for method in ("OPTIONS", "POST", "DELETE"):
        response = client.request(method, "/v1/jobs/nope/assets/mix.wav")
        assert (response.status_code, response.headers["allow"]) == (405, "GET"), method


def test_the_document_states_enums_ranges_and_problem_media_types(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    schemas = openapi["components"]["schemas"]
    body = schemas["GenerationBody"]["properties"]
    assert set(body["genres"]["items"]["examples"]) >= {"lofi", "synthwave", "dnb"}
    assert set(body["formats"]["items"]["enum"]) == {"wav", "flac", "mp3", "ogg", "opus"}
    assert (body["duration_s"]["minimum"], body["duration_s"]["maximum"]) == (30, 120)
    assert set(body["genres"]["items"]["enum"]) >= {"lofi", "lo fi hip hop", "drum and bass"}
    assert body["time_signature"]["enum"] == ["4/4", "3/4"]
    assert body["generate_video"]["type"] == "boolean"
    assert body["video_styles"]["items"]["enum"] == ["lyric", "spectrum", "waveform"]
    assert body["cover_art"]["type"] == "boolean"
    submit = openapi["paths"]["/v1/generations"]["post"]["responses"]
    assert "application/problem+json" in submit["422"]["content"]
    assert "application/problem+json" in submit["503"]["content"]


@settings(max_examples=300, deadline=None)
@given(key=st.from_regex(key_pattern()))
def test_every_key_the_document_allows_is_read(key: str) -> None:
    assert GenerationBody.model_validate({"prompt": "x", "key": key}).key is not None or (
        not key.strip()
    )


@pytest.mark.parametrize("key", ["H minor", "C lydianish", "Cm7", "#C", "C _"])
def test_keys_the_server_refuses_are_outside_the_document(key: str) -> None:
    assert re.search(key_pattern(), key) is None
    with pytest.raises(ValidationError):
        GenerationBody.model_validate({"prompt": "x", "key": key})


def test_lyrics_with_an_explicit_instrumental_are_outside_the_document(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["GenerationBody"]
    assert schema["not"]["required"] == ["lyrics", "instrumental"]
    assert schema["not"]["properties"]["instrumental"] == {"const": True}
    contradiction = {"prompt": "x", "lyrics": "la", "instrumental": True}
    response = client.post("/v1/generations", json=contradiction)
    assert response.status_code == 422


@pytest.mark.parametrize("field", ["seed", "n"])
def test_an_integral_number_is_an_integer_as_in_json(field: str) -> None:
    properties = GenerationBody.model_json_schema()["properties"]
    integer_fields = {name for name, schema in properties.items() if "integer" in str(schema)}
    assert integer_fields == {"seed", "n"}  # a new integer field needs this test too
    assert getattr(GenerationBody.model_validate({"prompt": "x", field: 3.0}), field) == 3
    for value in ("3", True, 3.5):
        with pytest.raises(ValidationError):
            GenerationBody.model_validate({"prompt": "x", field: value})


def test_a_cursor_the_server_never_gave_out_is_a_field_error(client: TestClient) -> None:
    for path in ("/v1/jobs", "/v1/admin/dead"):
        response = client.get(path, params={"cursor": "garbage!"})
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["query", "cursor"] and "garbage" not in response.text


def test_every_bound_in_the_document_is_a_json_schema_keyword(client: TestClient) -> None:
    # A bound Pydantic cannot place (a validator between the type and its Field) is written
    # as "ge"/"le": the server still enforces it, but no client or fuzzer can read it.
    def pydantic_bounds(node: Any, path: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ge", "gt", "le", "lt") and not isinstance(value, dict):
                    yield f"{path}/{key}"
                yield from pydantic_bounds(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from pydantic_bounds(value, f"{path}/{i}")

    assert list(pydantic_bounds(client.get("/openapi.json").json(), "")) == []
