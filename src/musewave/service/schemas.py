"""HTTP request and response bodies. The generation body is the engine's request model plus
job options, and also accepts the legacy camelCase field names."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from musewave.engine.genres import GENRE_SYNONYMS, GENRES
from musewave.engine.request import (
    API_DURATION_RANGE_S,
    AUDIO_FORMATS,
    MAX_SEED,
    TIME_SIGNATURES,
    VIDEO_STYLES,
    GenerationRequest,
)
from musewave.engine.score import STEM_NAMES
from musewave.engine.theory import MODE_SYNONYMS, MODES
from musewave.engine.vocals.languages import LANGUAGE_SYNONYMS, LANGUAGES
from musewave.engine.vocals.voices import VOICES
from musewave.jobs import AssetRecord, JobRecord, JobState, Priority

_REQUEST_FIELDS = frozenset(GenerationRequest.model_fields)
API_MIN_S, API_MAX_S = API_DURATION_RANGE_S
# A string with something besides whitespace (Python's \s, which str.strip() also removes).
NOT_BLANK = r"\S"
# Lyrics are blank or hold a word (a letter or digit: the engine refuses lyrics with nothing
# to sing).
LYRICS_PATTERN = r"^\s*$|[^\W_]"
MAX_VARIANTS = 4
MAX_DEADLINE_S = 86_400.0
MAX_WEBHOOK_URL = 2048
WEBHOOK_EVENTS = ("start", "progress", "completed")
WebhookEvent = Literal["start", "progress", "completed"]


def _alias(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


def _integral(value: Any) -> Any:
    """``1.0`` as ``1``: JSON (and JSON Schema's ``integer``) does not tell them apart, and
    strict mode would refuse the float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _any_case(words: str) -> str:
    """A regex for ``words`` in any letter case, words apart by spaces or underscores."""
    parts = ["".join(f"[{c.upper()}{c.lower()}]" for c in word) for word in words.split()]
    return "[ _]+".join(parts)


def key_pattern() -> str:
    """The keys ``parse_key`` reads, as a regex for the document: a tonic, an optional
    accidental and an optional mode (``"D minor"``, ``"F# dorian"``, ``"Bb"``, ``"C#m"``),
    or a blank string (no key). Mode names are matched in any case."""
    modes = sorted({*MODES, *MODE_SYNONYMS} - {"harmonic_minor"}, key=lambda m: (-len(m), m))
    mode = "|".join(_any_case(m) for m in modes)
    return rf"^\s*(?:[A-Ga-g][#♯b♭]?\s*(?:{mode})?\s*)?$"


def _webhook_url_pattern() -> str:
    """The webhook URLs taken: http(s), an ASCII host name (an internationalised one in its
    ``xn--`` form) or a bracketed IPv6 address, a port up to 65535, no user info, and a path
    and query of printable ASCII (anything else percent-encoded). One regex for the validator
    and the document, so a URL the schema allows is never refused; every URL it matches is
    one ``urlsplit`` parses and an HTTP client can send."""
    h16 = "[0-9A-Fa-f]{1,4}"
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"
    ipv6 = "|".join(  # RFC 3986's IPv6address, one alternative per place of the "::"
        (
            rf"(?:{h16}:){{6}}{ls32}",
            rf"::(?:{h16}:){{5}}{ls32}",
            rf"(?:{h16})?::(?:{h16}:){{4}}{ls32}",
            rf"(?:(?:{h16}:){{0,1}}{h16})?::(?:{h16}:){{3}}{ls32}",
            rf"(?:(?:{h16}:){{0,2}}{h16})?::(?:{h16}:){{2}}{ls32}",
            rf"(?:(?:{h16}:){{0,3}}{h16})?::{h16}:{ls32}",
            rf"(?:(?:{h16}:){{0,4}}{h16})?::{ls32}",
            rf"(?:(?:{h16}:){{0,5}}{h16})?::{h16}",
            rf"(?:(?:{h16}:){{0,6}}{h16})?::",
        )
    )
    name = "[A-Za-z0-9._~!$&'()*+,;=%-]+"  # RFC 3986's reg-name characters
    port = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
    # The rest: printable ASCII, the characters an HTTP request target may hold (non-ASCII is
    # percent-encoded). ASCII ranges only: \s or \S would read differently in the document's
    # regex dialect (ECMA-262) than in Python's.
    rest = "[!-~]*"
    return rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:{name}|\[(?:{ipv6})\])(?::{port})?(?:[/?#]{rest})?$"


WEBHOOK_URL_PATTERN = _webhook_url_pattern()
_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)


# Lyrics need vocals: a request may not give both lyrics and an explicit ``instrumental: true``.
_LYRICS_NEED_VOCALS: dict[str, Any] = {
    "not": {
        "required": ["lyrics", "instrumental"],
        "properties": {
            "lyrics": {"type": "string", "pattern": NOT_BLANK},
            "instrumental": {"const": True},
        },
    }
}


class GenerationBody(GenerationRequest):
    """``POST /v1/generations``. Legacy names (``musicPrompt``, ``durationSec``,
    ``artistInspiration``, ``vocalLanguages``, ``generateVideo``, ``videoStyles``, ``coverArt``)
    are accepted."""

    # Strict: a JSON value of another type is refused, not coerced (0 is not false, "60" is
    # not 60), as the document's types say.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        strict=True,
        json_schema_extra=_LYRICS_NEED_VOCALS,
    )

    prompt: Annotated[
        str,
        Field(min_length=1, max_length=500, json_schema_extra={"pattern": NOT_BLANK}),
        _alias("prompt", "musicPrompt"),
    ]
    duration_s: Annotated[
        float,
        _alias("duration_s", "durationSec"),
        Field(json_schema_extra={"minimum": API_MIN_S, "maximum": API_MAX_S}),
    ] = 60.0
    genres: Annotated[
        list[str],
        Field(
            max_length=3,
            description=(
                "Genres, by name or synonym; any case, and `-` or `_` for spaces, are"
                " understood too (`Lo-Fi`, `Drum and Bass`)"
            ),
            json_schema_extra={
                "items": {
                    "type": "string",
                    "enum": sorted(GENRE_SYNONYMS),
                    "examples": sorted(GENRES),
                }
            },
        ),
    ] = Field(default_factory=list)
    formats: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=5,
            json_schema_extra={"items": {"type": "string", "enum": list(AUDIO_FORMATS)}},
        ),
    ] = Field(default_factory=lambda: ["mp3", "wav"])
    artist_inspiration: Annotated[
        str | None,
        Field(max_length=200),
        _alias("artist_inspiration", "artistInspiration"),
    ] = None
    vocal_languages: Annotated[
        list[str],
        Field(
            max_length=3,
            description=(
                "Languages to sing in, first the main one (any case); lyrics without a"
                " `[Tag | xx]` language are sung in it, written lyrics alternate between them"
            ),
            json_schema_extra={
                "items": {"type": "string", "enum": sorted({*LANGUAGES, *LANGUAGE_SYNONYMS})}
            },
        ),
        _alias("vocal_languages", "vocalLanguages"),
    ] = Field(default_factory=list)
    voice: Annotated[
        str | None,
        Field(
            description="The singer when the track has vocals (`instrumental: false` or"
            " lyrics): one of the voice presets, any case",
            json_schema_extra={
                "anyOf": [{"type": "string", "enum": list(VOICES)}, {"type": "null"}]
            },
        ),
    ] = None
    generate_video: Annotated[
        bool,
        _alias("generate_video", "generateVideo"),
        Field(
            description="Also render music videos (1280×720, 30 fps, H.264 + AAC MP4), one per"
            " style in `video_styles`: by default `lyric` when there are lyrics, else `spectrum`"
        ),
    ] = False
    video_styles: Annotated[
        list[str],
        Field(
            max_length=len(VIDEO_STYLES),
            description="Video styles; naming any implies `generate_video` unless that is"
            " `false`, which wins",
            json_schema_extra={"items": {"type": "string", "enum": list(VIDEO_STYLES)}},
        ),
        _alias("video_styles", "videoStyles"),
    ] = Field(default_factory=list)
    cover_art: Annotated[
        bool,
        _alias("cover_art", "coverArt"),
        Field(description="Also draw cover art: a 3000×3000 JPEG and a 600×600 thumbnail"),
    ] = False
    key: Annotated[
        str | None,
        Field(
            description="A tonic and a mode (`D minor`, `F# dorian`, `Bb`, `C#m`); blank: none",
            json_schema_extra={
                "anyOf": [{"type": "string", "pattern": key_pattern()}, {"type": "null"}]
            },
        ),
    ] = None
    seed: Annotated[Annotated[int, Field(ge=0, le=MAX_SEED)] | None, BeforeValidator(_integral)] = (
        None
    )
    time_signature: Annotated[str, Field(json_schema_extra={"enum": list(TIME_SIGNATURES)})] = (
        TIME_SIGNATURES[0]
    )
    stems: Annotated[
        bool | Annotated[list[str], Field(max_length=len(STEM_NAMES))],
        Field(
            description="Stems to write beside the mix: all (`true`), none, or those named",
            json_schema_extra={
                "anyOf": [
                    {"type": "boolean"},
                    {
                        "type": "array",
                        "items": {"type": "string", "enum": list(STEM_NAMES)},
                        "maxItems": len(STEM_NAMES),
                    },
                ]
            },
        ),
    ] = False
    lyrics: Annotated[
        str | None,
        Field(
            max_length=5000,
            description="Words to sing, `[Verse]`/`[Chorus]`/`[Bridge]` tags placing the"
            " blocks; blank, or with at least one letter or digit",
            json_schema_extra={
                "anyOf": [
                    {"type": "string", "maxLength": 5000, "pattern": LYRICS_PATTERN},
                    {"type": "null"},
                ]
            },
        ),
    ] = None
    priority: Annotated[Priority, Field(strict=False)] = Priority.NORMAL  # its value, a string
    n: Annotated[
        Annotated[int, Field(ge=1, le=MAX_VARIANTS)],
        BeforeValidator(_integral),
        Field(
            description="Variants: renders of this request with the seeds seed, seed + 1…, "
            "each its own job, listed together at /v1/generations/{id}",
        ),
    ] = 1
    deadline_s: Annotated[
        float | None,
        Field(
            ge=0,
            le=MAX_DEADLINE_S,
            description="Seconds after submission by which the job must have finished: past "
            "them it is cancelled, or ends `aborted` if it never started (the `Cancel-After` "
            "header says the same as a duration, e.g. `90s`, `5m`; the sooner one counts)",
        ),
    ] = None

    webhook: Annotated[
        Annotated[
            str,
            Field(max_length=MAX_WEBHOOK_URL, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN}),
        ]
        | None,
        Field(
            description="An http(s) URL the job's events are POSTed to, signed per Standard "
            "Webhooks with the key's secret (`GET /v1/webhooks/default/secret`); the host is "
            "an ASCII name (an internationalised one in its `xn--` form) or a bracketed IPv6 "
            "address, the path and query are printable ASCII (anything else percent-encoded), "
            "and the URL holds no user name or password",
        ),
    ] = None
    webhook_events_filter: Annotated[
        list[WebhookEvent] | None,
        Field(
            min_length=1,
            max_length=len(WEBHOOK_EVENTS),
            description="Which events to send: `start`, `progress` (at most one per 500 ms), "
            "`completed` (how the job ended: completed, failed or cancelled); default all",
        ),
    ] = None

    @field_validator("webhook")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        # Checked here rather than by ``pattern=`` so the error reads as words, not as a regex.
        # A host no resolver takes (an over-long label, an unknown name) is not refused here,
        # where the document could not say so: its attempts fail, recorded, and end.
        if value is not None and _WEBHOOK_URL.fullmatch(value) is None:
            raise ValueError(
                "must be an http(s) URL with an ASCII host name or a bracketed IPv6 address, "
                "a port up to 65535, a printable-ASCII path (percent-encode the rest) and no "
                "user name or password"
            )
        return value

    def webhook_events(self) -> list[str]:
        """The events the webhook asked for, in the usual order (all by default)."""
        wanted = set(self.webhook_events_filter or WEBHOOK_EVENTS)
        return [event for event in WEBHOOK_EVENTS if event in wanted]

    def to_request(self) -> GenerationRequest:
        # Only the fields the client set: a default passed on would count as set, and
        # lyrics with the default ``instrumental`` would then read as a contradiction.
        data = self.model_dump(exclude_unset=True)
        return GenerationRequest.model_validate({k: data[k] for k in data if k in _REQUEST_FIELDS})


class Links(BaseModel):
    self: str
    events: str
    ws: str
    cancel: str
    assets: str


def job_links(job_id: str) -> Links:
    return Links(
        self=f"/v1/jobs/{job_id}",
        events=f"/v1/jobs/{job_id}/events",
        ws=f"/ws/progress/{job_id}",
        cancel=f"/v1/jobs/{job_id}/cancel",
        assets=f"/v1/jobs/{job_id}/assets",
    )


def asset_url(job_id: str, name: str) -> str:
    return f"/v1/jobs/{job_id}/assets/{name}"


class AssetView(BaseModel):
    name: str
    kind: str
    media_type: str
    size_bytes: int
    sha256: str
    duration_s: float | None
    url: str

    @classmethod
    def of(cls, job_id: str, asset: AssetRecord) -> AssetView:
        return cls(
            name=asset.name,
            kind=asset.kind,
            media_type=asset.media_type,
            size_bytes=asset.size_bytes,
            sha256=asset.sha256,
            duration_s=asset.duration_s,
            url=asset_url(job_id, asset.name),
        )


class Timings(BaseModel):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime
    duration_ms: int | None


class JobMetrics(BaseModel):
    """How the job went, once it ran."""

    queue_wait_ms: int | None = Field(
        description="From submission to the start of the attempt that ran last."
    )
    run_ms: int | None = Field(description="The last attempt, from start to finish.")
    stage_ms: dict[str, int] = Field(
        description="Milliseconds per engine stage of the attempt that completed the job "
        "(planning, composing, rendering, mixing, mastering, encoding…); empty until then."
    )
    real_time_factor: float | None = Field(
        description="Seconds of audio made per second of the completed attempt's run."
    )
    attempts: int
    worker_id: str | None = Field(description="The worker that ran the last attempt.")

    @classmethod
    def of(cls, job: JobRecord) -> JobMetrics:
        queue_wait_ms = (
            None
            if job.started_at is None
            else round((job.started_at - job.created_at).total_seconds() * 1000)
        )
        real_time_factor = None
        if job.state is JobState.COMPLETED and job.duration_ms:
            audio_s = next(
                (a.duration_s for a in job.assets if a.kind == "mix" and a.duration_s), None
            ) or float(job.request.get("duration_s", 0.0))
            real_time_factor = round(audio_s / (job.duration_ms / 1000), 2)
        return cls(
            queue_wait_ms=queue_wait_ms,
            run_ms=job.duration_ms,
            stage_ms=job.stage_ms or {},
            real_time_factor=real_time_factor,
            attempts=job.attempts,
            worker_id=job.worker_id,
        )


class JobView(BaseModel):
    id: str
    state: JobState
    stage: str
    progress: float
    priority: Priority
    attempts: int
    max_attempts: int
    seed: int | None
    fingerprint: str
    cancel_requested: bool
    request: dict[str, Any]
    timings: Timings
    error: str | None
    error_kind: str | None
    assets: list[AssetView]
    metrics: JobMetrics
    links: Links
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None
    planner: str | None = Field(
        default=None,
        description="Which planner made the track's plan: `rules`, or `llm:<provider>:<model>`"
        " (a language model, MUSEWAVE_LLM_PROVIDER); null until the job has completed",
    )

    @classmethod
    def of(cls, job: JobRecord) -> JobView:
        return cls(
            id=job.id,
            state=job.state,
            stage=job.stage,
            progress=job.progress,
            priority=job.priority,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            seed=job.seed,
            fingerprint=job.fingerprint,
            cancel_requested=job.cancel_requested,
            request=job.request,
            timings=Timings(
                created_at=job.created_at,
                started_at=job.started_at,
                finished_at=job.finished_at,
                run_after=job.run_after,
                duration_ms=job.duration_ms,
            ),
            error=job.error,
            error_kind=job.error_kind,
            assets=[AssetView.of(job.id, a) for a in job.assets],
            metrics=JobMetrics.of(job),
            links=job_links(job.id),
            webhook=job.webhook,
            webhook_events_filter=job.webhook_events_filter,
            planner=job.planner,
        )


class SubmitResponse(JobView):
    """The job that answers a submission: ``created`` is False when an existing job does (the
    same ``Idempotency-Key``, or an identical seeded request: running, or finished). With
    ``n`` > 1 it is the first variant, and ``variants`` lists them all."""

    created: bool
    variants: list[str] = Field(
        description="The ids of the generation's jobs, in order (this one first)."
    )

    @classmethod
    def of_submission(
        cls, job: JobRecord, created: bool, variants: list[str] | None = None
    ) -> SubmitResponse:
        return cls(**JobView.of(job).model_dump(), created=created, variants=variants or [job.id])


class GenerationView(BaseModel):
    """The jobs one request made (one, or ``n`` variants), in order."""

    id: str = Field(description="The generation's id: its first job's.")
    jobs: list[JobView]

    @classmethod
    def of(cls, jobs: list[JobRecord]) -> GenerationView:
        return cls(id=jobs[0].id, jobs=[JobView.of(job) for job in jobs])


class JobPage(BaseModel):
    jobs: list[JobView]
    next_cursor: str | None


class WebhookSecretView(BaseModel):
    """The secret that signs the caller's webhooks (Standard Webhooks: ``whsec_`` + base64)."""

    key: str = Field(description="The current secret: verify `webhook-signature` with it")
    previous_valid_until: datetime | None = Field(
        description="After a rotation: until when the previous secret signs too (a second "
        "signature in the header)"
    )
    rotated_at: datetime | None


class WebhookAttemptView(BaseModel):
    at: datetime
    status: int | None = Field(description="The receiver's HTTP status; null: no answer")
    error: str | None
    duration_ms: int


class WebhookDeliveryView(BaseModel):
    """One webhook message of a job and its attempts. ``id`` is its ``webhook-id``, the same on
    every attempt and re-send. ``state``: `pending`, `delivered`, `failed` (attempts used
    up, or the destination refused), `gone` (the receiver answered 410: no more deliveries
    for this job), `disabled` (left unsent after a 410)."""

    id: str
    type: str
    state: str
    url: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    log: list[WebhookAttemptView] = Field(description="The latest attempts, oldest first")


class WebhookDeliveryPage(BaseModel):
    deliveries: list[WebhookDeliveryView]
