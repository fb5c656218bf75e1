"""Videos and cover art through the API: asked for by the old and new field names, rendered
by a worker, listed and downloaded as assets with their media types."""

from __future__ import annotations

from pathlib import Path

from musewave.engine.video import validate_video_file
from tests.service.conftest import StartServer
from tests.service.support import (
    ServerProcess,
    WsWatcher,
    cancel,
    get_job,
    is_terminal,
    stages_in_order,
    submit,
    track,
)


def test_legacy_and_new_names_ask_for_videos_and_covers(server: ServerProcess) -> None:
    with server.client() as client:
        for body, styles in (
            ({"videoStyles": ["waveform", "lyric"], "coverArt": True}, ["lyric", "waveform"]),
            ({"generate_video": True, "cover_art": True}, ["spectrum"]),
            ({"generateVideo": False, "videoStyles": ["lyric"], "coverArt": True}, []),
        ):
            job_id = submit(client, track("asks for pictures", **body))["id"]
            request = get_job(client, job_id)["request"]
            assert request["video_styles"] == styles
            assert request["generate_video"] is bool(styles)
            assert request["cover_art"] is True
            cancel(client, job_id)


def test_a_job_with_a_video_and_a_cover_lists_and_serves_them(
    start_server: StartServer, tmp_path: Path
) -> None:
    # One backend is enough: both publish the engine's files the same way (jobs/runner.py),
    # and a 30 s video is the dearest render in the suite.
    server = start_server()
    body = track("a short film", formats=["mp3"], video_styles=["spectrum"], cover_art=True)
    with server.client() as client:
        job_id = submit(client, body)["id"]
        with WsWatcher(server, job_id) as watcher:
            final = watcher.wait_for(is_terminal, timeout_s=240)
        assert final["type"] == "completed", final
        stages = stages_in_order(watcher.events)
        assert stages.index("mastering") < stages.index("video") < stages.index("encoding")
        assets = {a["name"]: a for a in final["result"]["assets"]}
        expected = {
            "video-spectrum.mp4": ("video", "video/mp4"),
            "cover.jpg": ("cover", "image/jpeg"),
            "cover-600.jpg": ("thumbnail", "image/jpeg"),
        }
        for name, (kind, media_type) in expected.items():
            assert (assets[name]["kind"], assets[name]["media_type"]) == (kind, media_type)
            response = client.get(assets[name]["url"])
            assert response.status_code == 200
            assert response.headers["content-type"].split(";")[0] == media_type
            assert len(response.content) == assets[name]["size_bytes"]
            (tmp_path / name).write_bytes(response.content)
    report = validate_video_file(
        tmp_path / "video-spectrum.mp4", expected_duration_s=30.0, width=1280, height=720, fps=30
    )
    assert report.n_frames == 900
