"""Bad bodies get 422 with field-level messages; unknown jobs and assets get 404 (4404 on the
WebSocket); legacy field names and route are accepted; asset names are never paths."""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.service.support import (
    ServerProcess,
    WsWatcher,
    cancel,
    get_job,
    submit,
    track,
)

UNKNOWN = "0" * 32

BAD_BODIES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    # (case, body, error loc, words in the message)
    ("empty prompt", {"prompt": ""}, ("body", "prompt"), "at least 1 character"),
    ("blank prompt", {"prompt": "   "}, ("body", "prompt"), "at least 1 character"),
    ("too short", {"prompt": "x", "duration_s": 10}, ("body", "duration_s"), "between 30"),
    ("too long", {"prompt": "x", "duration_s": 121}, ("body", "duration_s"), "and 120"),
    ("unknown genre", {"prompt": "x", "genres": ["polka-step"]}, ("body", "genres"), "genre"),
    ("unknown field", {"prompt": "x", "tempo": 120}, ("body", "tempo"), "not permitted"),
    ("bad key", {"prompt": "x", "key": "H minor"}, ("body", "key"), "H minor"),
    ("video style", {"prompt": "x", "videoStyles": ["slides"]}, ("body", "videoStyles"), "slides"),
    ("video style", {"prompt": "x", "video_styles": ["x"]}, ("body", "video_styles"), "lyric"),
    ("video flag", {"prompt": "x", "generateVideo": 1}, ("body", "generateVideo"), "boolean"),
    ("priority", {"prompt": "x", "priority": "urgent"}, ("body", "priority"), "high"),
    ("format", {"prompt": "x", "formats": ["aiff"]}, ("body", "formats"), "aiff"),
    ("seed", {"prompt": "x", "seed": -1}, ("body", "seed"), "greater than or equal"),
    ("no prompt", {"duration_s": 30}, ("body", "prompt"), "required"),
    # JSON types are not coerced: 0 is not false, "7" is not 7.
    ("number as bool", {"prompt": "x", "loop": 0}, ("body", "loop"), "boolean"),
    ("text as int", {"prompt": "x", "seed": "7"}, ("body", "seed"), "integer"),
    ("text as number", {"prompt": "x", "duration_s": "60"}, ("body", "duration_s"), "number"),
    ("fraction as int", {"prompt": "x", "seed": 7.5}, ("body", "seed"), "integer"),
]


@pytest.mark.parametrize("path", ["/v1/generations", "/generate"])
def test_bad_bodies_get_422_naming_the_field(server: ServerProcess, path: str) -> None:
    with server.client() as client:
        for case, body, loc, words in BAD_BODIES:
            response = client.post(path, json=body)
            assert response.status_code == 422, (case, response.text)
            errors = response.json()["errors"]
            assert isinstance(errors, list) and errors, case
            matching = [e for e in errors if tuple(e["loc"]) == loc]
            assert matching, (case, errors)
            assert words.lower() in matching[0]["msg"].lower(), (case, matching[0]["msg"])
        not_json = client.post(path, content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        too_long_key = client.post(path, json=track("x"), headers={"Idempotency-Key": "k" * 201})
        assert too_long_key.status_code == 422
        assert tuple(too_long_key.json()["errors"][0]["loc"]) == ("header", "idempotency-key")
        assert client.get("/v1/jobs", params={"state": "sleeping"}).status_code == 422
        assert client.get("/v1/jobs", params={"cursor": "not a cursor"}).status_code == 422
    # Nothing was queued by any of that.
    with server.client() as client:
        assert client.get("/v1/admin/queue").json()["queued"] == 0


def test_legacy_field_names_and_route(server: ServerProcess) -> None:
    legacy = {
        "musicPrompt": "legacy dusty boom bap",
        "durationSec": 45,
        "artistInspiration": "J Dilla",
        "vocalLanguages": ["EN", "es"],
        "videoStyles": [],
        "generateVideo": False,
        "genres": ["hiphop"],
        "formats": ["wav"],
        "priority": "low",
    }
    with server.client() as client:
        for path in ("/v1/generations", "/generate"):
            submitted = submit(client, legacy, path=path)
            assert submitted["created"] is True
            job = get_job(client, submitted["id"])
            request = job["request"]
            assert request["prompt"] == "legacy dusty boom bap"
            assert request["duration_s"] == 45
            assert request["artist_inspiration"] == "J Dilla"
            assert request["vocal_languages"] == ["en", "es"]
            assert request["genres"] == ["hiphop"]
            assert job["priority"] == "low"
            cancel(client, submitted["id"])
        # The new names still work, and one request cannot mix both for one field.
        assert client.post("/v1/generations", json=track("new names")).status_code == 202
        both = client.post("/v1/generations", json={"prompt": "a", "musicPrompt": "b"})
        assert both.status_code == 422


def test_lyrics_without_an_instrumental_flag_are_accepted(server: ServerProcess) -> None:
    # Lyrics alone imply vocals; the body's default `instrumental` is no contradiction (a 500
    # once, found by Schemathesis: the default was passed on as if the client had set it).
    with server.client() as client:
        for path in ("/v1/generations", "/generate"):
            submitted = submit(client, track("sung", lyrics="la la la"), path=path)
            assert get_job(client, submitted["id"])["request"]["lyrics"] == "la la la"
            cancel(client, submitted["id"])
        contradiction = client.post(
            "/v1/generations", json=track("sung", lyrics="la", instrumental=True)
        )
        assert contradiction.status_code == 422


def test_unknown_job_is_404_and_4404(server: ServerProcess) -> None:
    with server.client() as client:
        for method, path in [
            ("GET", f"/v1/jobs/{UNKNOWN}"),
            ("POST", f"/v1/jobs/{UNKNOWN}/cancel"),
            ("GET", f"/v1/jobs/{UNKNOWN}/assets"),
            ("GET", f"/v1/jobs/{UNKNOWN}/assets/mix.wav"),
            ("GET", f"/v1/jobs/{UNKNOWN}/events"),
            ("POST", f"/v1/admin/jobs/{UNKNOWN}/redrive"),
        ]:
            response = client.request(method, path)
            assert response.status_code == 404, (method, path, response.text)
            assert UNKNOWN in response.json()["detail"]
    with (
        connect(server.ws_url(UNKNOWN), open_timeout=10, legacy=True) as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


def _raw_get(server: ServerProcess, target: str) -> tuple[int, bytes]:
    """GET with the request target sent exactly as written (no client-side normalization)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_asset_names_are_never_paths(server: ServerProcess) -> None:
    with server.client() as client:
        owner = submit(client, track("traversal target", seed=7, stems=True))["id"]
        with WsWatcher(server, owner) as watcher:
            completed = watcher.wait_done()[-1]
        assert completed["type"] == "completed"
        stem = next(a["name"] for a in completed["result"]["assets"] if a["kind"] == "stem")
        other = submit(client, track("traversal attacker"))["id"]
        cancel(client, other)

    storage = (server.data_dir / "assets").resolve()
    secret = (storage / owner / "mix.wav").read_bytes()
    assert _raw_get(server, f"/v1/jobs/{owner}/assets/mix.wav") == (200, secret)
    # A real name, percent-encoded, is still that name.
    encoded = stem.replace("/", "%2F")
    assert _raw_get(server, f"/v1/jobs/{owner}/assets/{encoded}")[0] == 200

    attempts = [
        # another job's asset, by its name and by its storage path
        f"/v1/jobs/{other}/assets/mix.wav",
        f"/v1/jobs/{other}/assets/{owner}/mix.wav",
        # ../ in every spelling
        f"/v1/jobs/{other}/assets/../{owner}/mix.wav",
        f"/v1/jobs/{other}/assets/..%2F{owner}%2Fmix.wav",
        f"/v1/jobs/{other}/assets/..%2f{owner}/mix.wav",
        f"/v1/jobs/{other}/assets/%2e%2e/{owner}/mix.wav",
        f"/v1/jobs/{other}/assets/%2E%2E%2F{owner}%2Fmix.wav",
        f"/v1/jobs/{other}/assets/%252e%252e%252f{owner}%252fmix.wav",
        f"/v1/jobs/{other}/assets/..%5C{owner}%5Cmix.wav",
        f"/v1/jobs/{owner}/assets/stems/../mix.wav",
        f"/v1/jobs/{owner}/assets/stems/%2e%2e/mix.wav",
        f"/v1/jobs/{owner}/assets/./mix.wav",
        f"/v1/jobs/{owner}/assets/../../musewave.db",
        f"/v1/jobs/{owner}/assets/%2e%2e%2f%2e%2e%2fmusewave.db",
        # absolute paths
        f"/v1/jobs/{other}/assets/{storage}/{owner}/mix.wav",
        f"/v1/jobs/{other}/assets/%2F{str(storage).lstrip('/')}/{owner}/mix.wav",
        f"/v1/jobs/{owner}/assets//etc/passwd",
        f"/v1/jobs/{owner}/assets/%2Fetc%2Fpasswd",
        f"/v1/jobs/{owner}/assets/file:%2F%2F%2Fetc%2Fpasswd",
        # the asset list of the owner is not an asset
        f"/v1/jobs/{owner}/assets/",
    ]
    for target in attempts:
        status, body = _raw_get(server, target)
        assert status == 404, (target, status)
        assert secret[:1000] not in body and b"root:" not in body, target
