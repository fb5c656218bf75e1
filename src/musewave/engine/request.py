"""The generation request: validated, normalized, fingerprinted. Shared by the CLI and the API."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from musewave.engine.genres import GENRES, canonical_genre
from musewave.engine.score import STEM_NAMES
from musewave.engine.soundfont_choice import soundfont_identity
from musewave.engine.theory import TheoryError, parse_key
from musewave.engine.version import ENGINE_VERSION
from musewave.engine.vocals.languages import LANGUAGES, canonical_language
from musewave.engine.vocals.lyrics import LyricsError, parse_lyrics
from musewave.engine.vocals.voices import VOICES

AUDIO_FORMATS = ("wav", "flac", "mp3", "ogg", "opus")
VIDEO_STYLES = ("lyric", "spectrum", "waveform")
TIME_SIGNATURES = ("4/4", "3/4")
API_DURATION_RANGE_S = (30.0, 120.0)
CLI_DURATION_RANGE_S = (10.0, 300.0)
MAX_SEED = 2**32 - 1

# Validation context key: the CLI allows a wider duration range than the API.
DURATION_RANGE_CONTEXT = "duration_range_s"


def _valid_styles(styles: object) -> bool:
    """Whether ``styles`` would pass the ``video_styles`` field's checks."""
    return (
        isinstance(styles, list)
        and len(styles) <= len(VIDEO_STYLES)
        and all(isinstance(s, str) and s.strip().lower() in VIDEO_STYLES for s in styles)
    )


class GenerationRequest(BaseModel):
    """What a user asks for. Construct with ``GenerationRequest.model_validate(data)``.

    Pass ``context={"duration_range_s": (lo, hi)}`` to widen the duration range (the CLI does).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    prompt: Annotated[str, Field(min_length=1, max_length=500)]
    genres: Annotated[list[str], Field(max_length=3)] = []
    duration_s: float = 60.0
    bpm: Annotated[float | None, Field(ge=40, le=220)] = None
    key: str | None = None
    time_signature: str = "4/4"
    seed: Annotated[int | None, Field(ge=0, le=MAX_SEED)] = None
    loop: bool = False
    artist_inspiration: Annotated[str | None, Field(max_length=200)] = None
    lyrics: Annotated[str | None, Field(max_length=5000)] = None
    vocal_languages: Annotated[list[str], Field(max_length=3)] = []
    instrumental: bool = True
    # The singer's voice when the track has vocals (instrumental false); ignored otherwise.
    voice: str | None = None
    formats: Annotated[list[str], Field(min_length=1, max_length=5)] = ["mp3", "wav"]
    # Outputs beyond the mix: every stem (true), the stems named, or none; the score as MIDI.
    stems: bool | Annotated[list[str], Field(max_length=len(STEM_NAMES))] = False
    midi: bool = False
    # Music videos (one MP4 per style) and cover art (a 3000×3000 JPEG and a thumbnail).
    generate_video: bool = False
    video_styles: Annotated[list[str], Field(max_length=len(VIDEO_STYLES))] = []
    cover_art: bool = False

    @field_validator("prompt")
    @classmethod
    def _collapse_prompt_whitespace(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("genres")
    @classmethod
    def _canonical_genres(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            genre = canonical_genre(value)
            if genre is None:
                known = ", ".join(sorted(GENRES))
                raise ValueError(f"unknown genre {value!r}; known genres: {known}")
            if genre not in out:
                out.append(genre)
        return out

    @field_validator("duration_s")
    @classmethod
    def _duration_in_range(cls, value: float, info: ValidationInfo) -> float:
        context = info.context or {}
        low, high = context.get(DURATION_RANGE_CONTEXT, API_DURATION_RANGE_S)
        if not low <= value <= high:
            raise ValueError(f"duration must be between {low:g} and {high:g} seconds")
        return float(value)

    @field_validator("key")
    @classmethod
    def _readable_key(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return parse_key(value).name()
        except TheoryError as error:
            raise ValueError(str(error)) from error

    @field_validator("time_signature")
    @classmethod
    def _known_time_signature(cls, value: str) -> str:
        compact = value.replace(" ", "")
        if compact not in TIME_SIGNATURES:
            raise ValueError(f"time signature must be one of {', '.join(TIME_SIGNATURES)}")
        return compact

    @field_validator("vocal_languages")
    @classmethod
    def _language_codes(cls, values: list[str]) -> list[str]:
        # Order kept: the first language is the one lyrics are sung in unless a tag says.
        out: list[str] = []
        for value in values:
            if not value.strip():
                continue
            code = canonical_language(value)
            if code is None:
                known = ", ".join(LANGUAGES)
                raise ValueError(f"unknown vocal language {value!r}; supported: {known}")
            if code not in out:
                out.append(code)
        return out

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        name = value.strip().lower()
        if name not in VOICES:
            raise ValueError(f"unknown voice {value!r}; voices are {', '.join(VOICES)}")
        return name

    @field_validator("lyrics")
    @classmethod
    def _singable_lyrics(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return value
        try:
            parse_lyrics(value)
        except LyricsError as error:
            raise ValueError(str(error)) from error
        return value

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            fmt = value.strip().lower().lstrip(".")
            if fmt not in AUDIO_FORMATS:
                raise ValueError(f"unknown format {value!r}; supported: {', '.join(AUDIO_FORMATS)}")
            if fmt not in out:
                out.append(fmt)
        return sorted(out)

    @field_validator("stems")
    @classmethod
    def _known_stems(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, bool):
            return value
        unknown = sorted(set(value) - set(STEM_NAMES))
        if unknown:
            raise ValueError(f"unknown stems {unknown}; stems are {', '.join(STEM_NAMES)}")
        chosen = [name for name in STEM_NAMES if name in value]
        return chosen or False

    @field_validator("video_styles")
    @classmethod
    def _known_video_styles(cls, values: list[str]) -> list[str]:
        styles = {value.strip().lower() for value in values}
        unknown = sorted(styles - set(VIDEO_STYLES))
        if unknown:
            raise ValueError(
                f"unknown video styles {unknown}; styles are {', '.join(VIDEO_STYLES)}"
            )
        return [style for style in VIDEO_STYLES if style in styles]

    def wants_stem(self, name: str) -> bool:
        return self.stems is True or (isinstance(self.stems, list) and name in self.stems)

    @model_validator(mode="before")
    @classmethod
    def _lyrics_mean_vocals(cls, data: Any) -> Any:
        # Lyrics imply a vocal track: set instrumental false, so the request says what it is
        # (and validates again the same way from its own dump).
        if isinstance(data, dict) and data.get("lyrics") and "instrumental" not in data:
            return {**data, "instrumental": False}
        return data

    @model_validator(mode="before")
    @classmethod
    def _styles_mean_video(cls, data: Any) -> Any:
        # Styles imply a video, as lyrics imply vocals; a video without styles gets the lyric
        # video when there are lyrics, the spectrum otherwise. An explicit ``generate_video:
        # false`` wins: valid styles are dropped (so equal requests fingerprint equally);
        # invalid ones are left for the field's checks to refuse.
        if not isinstance(data, dict):
            return data
        styles = data.get("video_styles")
        if styles and "generate_video" not in data:
            return {**data, "generate_video": True}
        if data.get("generate_video") is True and not styles:
            return {**data, "video_styles": ["lyric" if data.get("lyrics") else "spectrum"]}
        if data.get("generate_video") is False and styles and _valid_styles(styles):
            return {**data, "video_styles": []}
        return data

    @model_validator(mode="after")
    def _lyrics_need_vocals(self) -> GenerationRequest:
        if self.lyrics and self.instrumental:
            raise ValueError("lyrics were given but instrumental is true; drop one of them")
        return self

    def with_seed(self, seed: int) -> GenerationRequest:
        return self.model_copy(update={"seed": seed})

    def canonical(self) -> dict[str, Any]:
        """The normalized request as plain JSON data (sorted keys when dumped)."""
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """SHA-256 of the canonical request plus the engine version and the SoundFont this
        process plays (the same request renders differently with another font)."""
        payload = json.dumps(
            {
                "engine": ENGINE_VERSION,
                "soundfont": soundfont_identity(),
                "request": self.canonical(),
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
