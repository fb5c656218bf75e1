"""The request's video and cover fields: styles imply a video, a video gets a default style,
an explicit "no video" wins, unknown or too many styles are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from musewave.engine.request import GenerationRequest


def test_styles_imply_a_video_in_a_fixed_order() -> None:
    request = GenerationRequest(prompt="x", video_styles=["Waveform", "lyric", "lyric"])
    assert request.generate_video is True
    assert request.video_styles == ["lyric", "waveform"]


def test_a_video_without_styles_gets_lyric_or_spectrum() -> None:
    assert GenerationRequest(prompt="x", generate_video=True).video_styles == ["spectrum"]
    sung = GenerationRequest(prompt="x", generate_video=True, lyrics="la la")
    assert sung.video_styles == ["lyric"]


def test_an_explicit_no_wins_and_fingerprints_like_no_styles() -> None:
    request = GenerationRequest(prompt="x", seed=1, generate_video=False, video_styles=["lyric"])
    assert (request.generate_video, request.video_styles) == (False, [])
    assert request.fingerprint() == GenerationRequest(prompt="x", seed=1).fingerprint()


def test_the_canonical_request_validates_to_itself() -> None:
    request = GenerationRequest(prompt="x", generate_video=True, cover_art=True)
    again = GenerationRequest.model_validate(request.canonical())
    assert again == request and again.cover_art is True


@pytest.mark.parametrize(
    "styles", [["slideshow"], ["lyric", "lyric", "lyric", "lyric"], ["lyric", "3d"]]
)
def test_unknown_or_too_many_styles_are_refused_even_without_a_video(styles: list[str]) -> None:
    for flag in (True, False):
        with pytest.raises(ValidationError, match="video_styles"):
            GenerationRequest(prompt="x", generate_video=flag, video_styles=styles)
