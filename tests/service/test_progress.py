"""Submit → progress over WebSocket and SSE → completed → download and decode every asset."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from musewave.engine.validate import decode_audio
from tests.service.support import (
    STAGES,
    Event,
    ServerProcess,
    SseWatcher,
    WsWatcher,
    at_stage,
    busy_worker,
    get_job,
    is_terminal,
    stages_in_order,
    submit,
    track,
)

MEDIA_TYPES = {
    ".mp3": {"audio/mpeg"},
    ".wav": {"audio/wav", "audio/x-wav", "audio/wave"},
    ".mid": {"audio/midi", "audio/x-midi"},
    ".json": {"application/json"},
}
DURATION_S = 30.0


def _ts(event: Event) -> datetime:
    return datetime.fromisoformat(event["ts"])


def assert_complete_sequence(events: list[Event], job_id: str) -> None:
    """connected (queued) → progress through every stage, in order, never going back →
    completed with progress 100."""
    assert all(e["job_id"] == job_id for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "connected"
    assert events[0]["stage"] == "queued" and events[0]["message"] == "queued"
    assert types[-1] == "completed"
    assert set(types[1:-1]) == {"progress"}, types

    assert stages_in_order(events) == list(STAGES)
    progress = [e["progress"] for e in events[1:]]
    assert progress == sorted(progress), progress
    assert 0 <= progress[0] < 5 and progress[-1] == 100
    assert all(e["attempt"] == 1 for e in events[1:])
    stamps = [_ts(e) for e in events[1:]]
    assert stamps == sorted(stamps)


def test_submit_stream_and_download_every_asset(server: ServerProcess, tmp_path: Path) -> None:
    with server.client() as client, contextlib.ExitStack() as streams:
        with busy_worker(server, client):  # so our socket is subscribed before the job starts
            submitted = submit(
                client,
                track(
                    "warm lofi study beats",
                    genres=["lofi"],
                    formats=["mp3", "wav"],
                    stems=["drums", "bass"],
                    midi=True,
                ),
            )
            job_id = submitted["id"]
            assert submitted["state"] == "queued" and submitted["created"] is True
            assert submitted["links"]["ws"] == f"/ws/progress/{job_id}"
            assert submitted["links"]["events"] == f"/v1/jobs/{job_id}/events"
            watcher = streams.enter_context(WsWatcher(server, job_id))
        # A subscriber arriving mid-job first gets the job's current state.
        watcher.wait_for(at_stage("mixing"))
        with WsWatcher(server, job_id) as late:
            late_events = late.wait_done()
        events = watcher.wait_done()
        assert watcher.close_code == 1000, watcher.close_code
        connected = late_events[0]
        assert (connected["type"], connected["message"]) == ("connected", "active")
        assert connected["stage"] in STAGES[3:] and connected["progress"] >= 35
        assert late_events[-1] == events[-1] and late.close_code == 1000

        assert_complete_sequence(events, job_id)
        job = get_job(client, job_id)
        assert job["state"] == "completed" and job["attempts"] == 1
        assert job["progress"] == 100 and job["stage"] == "completed"
        result = events[-1]["result"]
        assert result["seed"] == job["seed"] is not None
        assets = result["assets"]
        assert assets == job["assets"]
        names = {a["name"] for a in assets}
        assert names == {
            "mix.mp3",
            "mix.wav",
            "score.mid",
            "plan.json",
            "stems/drums.wav",
            "stems/bass.wav",
        }
        assert client.get(f"/v1/jobs/{job_id}/assets").json() == assets

        for asset in assets:
            assert asset["url"] == f"/v1/jobs/{job_id}/assets/{asset['name']}"
            response = client.get(asset["url"])
            assert response.status_code == 200, (asset["name"], response.text)
            body = response.content
            assert int(response.headers["content-length"]) == len(body) == asset["size_bytes"]
            assert hashlib.sha256(body).hexdigest() == asset["sha256"]
            suffix = Path(asset["name"]).suffix
            media_type = response.headers["content-type"].split(";")[0].strip()
            assert media_type in MEDIA_TYPES[suffix], (asset["name"], media_type)
            assert media_type == asset["media_type"]
            assert response.headers.get("accept-ranges") == "bytes"
            if asset["kind"] in ("mix", "stem"):
                path = tmp_path / asset["name"].replace("/", "_")
                path.write_bytes(body)
                audio, sample_rate = decode_audio(path)
                assert audio.shape[0] == 2, (asset["name"], audio.shape)
                assert audio.shape[1] / sample_rate == pytest.approx(DURATION_S, abs=0.05)
                assert asset["duration_s"] == pytest.approx(DURATION_S, abs=0.05)
            elif asset["kind"] == "midi":
                assert body.startswith(b"MThd") and len(body) > 14
            else:
                plan: dict[str, Any] = json.loads(body)
                assert plan and plan["seed"] == job["seed"]

        wav = next(a for a in assets if a["name"] == "mix.wav")
        full = client.get(wav["url"]).content
        ranged = client.get(wav["url"], headers={"Range": "bytes=1000-1999"})
        assert ranged.status_code == 206
        assert ranged.content == full[1000:2000]
        assert ranged.headers["content-length"] == "1000"
        assert ranged.headers["content-range"] == f"bytes 1000-1999/{len(full)}"
        tail = client.get(wav["url"], headers={"Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == full[-100:]
        beyond = client.get(wav["url"], headers={"Range": f"bytes={len(full) + 10}-"})
        assert beyond.status_code == 416
        assert beyond.headers["content-type"] == "application/problem+json"
        assert beyond.headers["content-range"] == f"bytes */{len(full)}"
        for malformed in ("garbage", "bytes=5-2"):
            bad = client.get(wav["url"], headers={"Range": malformed})
            assert bad.status_code == 400, malformed
            assert bad.headers["content-type"] == "application/problem+json"

        # HEAD: the headers a GET would send, no body; the ETag is the file's SHA-256.
        head = client.head(wav["url"])
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(full))
        assert head.headers["etag"] == f'"{wav["sha256"]}"'
        kept = client.get(wav["url"], headers={"If-None-Match": head.headers["etag"]})
        assert kept.status_code == 304 and kept.content == b""
        stale = client.get(wav["url"], headers={"If-None-Match": '"0000", W/"1111"'})
        assert stale.status_code == 200 and stale.content == full


def test_an_api_job_writes_only_the_mix_and_plan_unless_asked(server: ServerProcess) -> None:
    with server.client() as client:
        job_id = submit(client, track("mp3 only please", formats=["mp3"]))["id"]
        with WsWatcher(server, job_id) as watcher:
            final = watcher.wait_for(is_terminal)
        assert final["type"] == "completed", final
        assert {a["name"] for a in final["result"]["assets"]} == {"mix.mp3", "plan.json"}


def _comparable(events: list[Event]) -> list[tuple[Any, ...]]:
    """What must match between two streams of one job (``connected`` is built per subscriber,
    so its timestamp differs)."""
    return [
        (e["type"], e["stage"], e["progress"], e["attempt"], e["message"])
        + (() if e["type"] == "connected" else (e["ts"],))
        for e in events
    ]


def test_sse_shows_the_same_sequence_and_late_subscribers_get_the_final_state(
    server: ServerProcess,
) -> None:
    with server.client() as client, contextlib.ExitStack() as streams:
        with busy_worker(server, client):
            job_id = submit(client, track("slow ambient drone", genres=["ambient"]))["id"]
            sse = streams.enter_context(SseWatcher(server, job_id))
            ws = streams.enter_context(WsWatcher(server, job_id))
        sse_events, ws_events = sse.wait_done(), ws.wait_done()
        assert sse.error is None, sse.error
        assert sse.status_code == 200
        assert sse.content_type.startswith("text/event-stream")
        assert sse.frame_names == [e["type"] for e in sse_events]
        assert_complete_sequence(sse_events, job_id)
        assert _comparable(sse_events) == _comparable(ws_events)
        assert sse_events[-1]["result"] == ws_events[-1]["result"]

        # After completion: the current state, then the final event, then the stream ends.
        with SseWatcher(server, job_id, wait_connected=False) as late:
            late_events = late.wait_done(timeout_s=10)
        assert [e["type"] for e in late_events] == ["connected", "completed"]
        assert late.frame_names == ["connected", "completed"]
        assert late_events[0]["stage"] == "completed"
        assert late_events[0]["message"] == "completed"
        assert late_events[0]["progress"] == 100
        assert late_events[1]["result"] == sse_events[-1]["result"]

        with WsWatcher(server, job_id, wait_connected=False) as late_ws:
            late_ws_events = late_ws.wait_done(timeout_s=10)
        assert [e["type"] for e in late_ws_events] == ["connected", "completed"]
        assert late_ws.close_code == 1000
        assert is_terminal(late_ws_events[-1])
        assert late_ws_events[-1]["result"] == sse_events[-1]["result"]
