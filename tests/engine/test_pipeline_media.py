"""The video stage and cover art in a whole render: files listed with kinds and media types,
decoded back, progress through ``video``, cancellation inside it."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from musewave.engine import Cancelled, GenerationRequest, GenerationResult, ProgressEvent, generate
from musewave.engine.errors import OutputFailed
from musewave.engine.pipeline import STAGING_PREFIX
from musewave.engine.request import CLI_DURATION_RANGE_S, DURATION_RANGE_CONTEXT


def media_request(**changes: object) -> GenerationRequest:
    data: dict[str, object] = {
        "prompt": "happy funk groove with brass",
        "duration_s": 10.0,
        "seed": 5,
        "formats": ["mp3"],
        "video_styles": ["lyric"],
        "cover_art": True,
        **changes,
    }
    return GenerationRequest.model_validate(
        data, context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S}
    )


@pytest.fixture(scope="module")
def rendered(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GenerationResult, list[ProgressEvent], list[str]]:
    events: list[ProgressEvent] = []
    guarded: list[str] = []

    def guard(call: Callable[[], object]) -> object:
        guarded.append(getattr(call, "func", call).__name__)
        return call()

    out = tmp_path_factory.mktemp("media")
    result = generate(media_request(), out, events.append, guard_encode=guard)
    return result, events, guarded


def test_videos_and_covers_are_listed_with_kinds_and_media_types(
    rendered: tuple[GenerationResult, list[ProgressEvent], list[str]],
) -> None:
    result, _, _ = rendered
    files = {f.name: f for f in result.files}
    assert (files["video-lyric.mp4"].kind, files["video-lyric.mp4"].media_type) == (
        "video",
        "video/mp4",
    )
    assert (files["cover.jpg"].kind, files["cover.jpg"].media_type) == ("cover", "image/jpeg")
    assert (files["cover-600.jpg"].kind, files["cover-600.jpg"].media_type) == (
        "thumbnail",
        "image/jpeg",
    )
    video = files["video-lyric.mp4"]
    assert video.duration_s == pytest.approx(result.plan.duration_s, abs=1 / 30)
    for f in result.files:
        assert f.path.is_file() and f.path.stat().st_size == f.size_bytes
    # No staging folder is left behind (the manifest of what was published stays).
    assert not [p for p in video.path.parent.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_the_video_decodes_with_the_tracks_audio(
    rendered: tuple[GenerationResult, list[ProgressEvent], list[str]],
) -> None:
    result, _, _ = rendered
    path = next(f.path for f in result.files if f.kind == "video")
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames / 30 - result.plan.duration_s) <= 1 / 30


def test_progress_goes_through_the_video_stage_and_the_encoder_guard(
    rendered: tuple[GenerationResult, list[ProgressEvent], list[str]],
) -> None:
    result, events, guarded = rendered
    stages = list(dict.fromkeys(e.stage for e in events))
    assert stages.index("mastering") < stages.index("video") < stages.index("encoding")
    video = [e for e in events if e.stage == "video"]
    assert video[-1].stage_progress == 1.0 and len(video) <= 25  # reported in steps
    assert [e.progress for e in events] == sorted(e.progress for e in events)
    assert guarded == ["render_video", "encode_all"]
    assert result.timings_s["video"] > 0


def test_cancel_during_the_video_leaves_nothing(tmp_path: Path) -> None:
    stage = ""

    def on_progress(event: ProgressEvent) -> None:
        nonlocal stage
        stage = event.stage

    out = tmp_path / "out"
    with pytest.raises(Cancelled, match="video"):
        generate(
            media_request(video_styles=["spectrum"]),
            out,
            on_progress,
            should_cancel=lambda: stage == "video",
        )
    assert list(out.iterdir()) == []


def test_without_the_options_there_is_no_video_or_cover(tmp_path: Path) -> None:
    request = media_request(video_styles=[], cover_art=False)
    assert request.generate_video is False
    events: list[ProgressEvent] = []
    result = generate(request, tmp_path, events.append)
    assert {f.kind for f in result.files} == {"mix", "plan"}
    assert "video" not in {e.stage for e in events}


@pytest.mark.parametrize("drawing", ["render_video", "write_cover"])
def test_a_full_disk_while_drawing_is_one_output_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drawing: str
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(f"musewave.engine.pipeline.{drawing}", disk_full)
    out = tmp_path / "out"
    with pytest.raises(OutputFailed, match="no space left"):
        generate(media_request(video_styles=["spectrum"], cover_art=True), out)
    assert list(out.iterdir()) == []
