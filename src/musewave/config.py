"""The one settings object. Every variable is ``MUSEWAVE_<FIELD>``; defaults run embedded mode.

The CLI, the API and the workers all read the same variables, e.g.::

    MUSEWAVE_DATA_DIR=/var/lib/musewave
    MUSEWAVE_DATABASE_URL=postgresql+psycopg://musewave@db/musewave
    MUSEWAVE_RETRY_DELAYS_S=2,6,18
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("musewave-data")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class Settings(BaseSettings):
    """Service-wide settings. Construct directly in tests: ``Settings(data_dir=tmp_path)``.

    Units are in the names: ``_s`` seconds, ``_ms`` milliseconds, ``_kb`` kibibytes,
    ``_mb`` megabytes.
    """

    # Errors never echo the input: it holds secrets (the LLM key, URLs with passwords).
    model_config = SettingsConfigDict(
        env_prefix="MUSEWAVE_", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    env: Literal["development", "production"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    # None means a SQLite file inside data_dir; see resolved_database_url.
    database_url: str | None = None
    # Defaults to <data_dir>/assets; see _storage_inside_data_dir.
    storage_dir: Path = DEFAULT_DATA_DIR / "assets"

    host: str = "127.0.0.1"
    # Who may call the API. "auto": anonymous use only while the server binds loopback
    # addresses (any other bind needs an API key, and a key to exist); "required": an API key
    # on every /v1 route and stream; "off": anyone, as an admin (logged loudly at start).
    auth: Literal["auto", "required", "off"] = "auto"
    # Generations a key may submit (its own --rate overrides), and an anonymous client IP;
    # counted in redis_url's Redis when set, in memory otherwise.
    rate_generations: str = "60/minute"
    rate_anonymous: str = "600/minute"
    # A ceiling on state-changing /v1 requests (POST, PUT, PATCH, DELETE) from all clients
    # together, shared through redis_url's Redis when set. Reads are not counted: they are
    # cheap, and a status poller must not starve the submissions.
    rate_ingress: str = "100/second"
    # Suggestion requests (/v1/suggest/*, /v1/prompt/enhance) a key, or an anonymous client
    # IP, may make: each may ask the configured language model.
    rate_suggestions: str = "120/minute"
    # Edge limits, enforced before a request reaches a route.
    max_body_kb: Annotated[int, Field(ge=1)] = 64  # a generation request is a few KB at most
    max_header_kb: Annotated[int, Field(ge=1)] = 16  # the request line and all headers
    # A client has this long to send a request's line and headers, and again its body.
    client_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    # Host header names the API answers (DNS rebinding); "*" answers any. A port is ignored.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = LOOPBACK_NAMES
    # Web origins allowed to call the API from a browser (CORS), e.g. https://studio.example;
    # none by default. Requests from other origins need an API key to change anything.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    # Where `musewave worker` serves its /metrics (0: not served); the API serves its own.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9464

    concurrency: Annotated[int, Field(ge=1)] = 2
    rate_limit_per_s: Annotated[float, Field(gt=0)] = 10.0
    lease_ms: Annotated[int, Field(ge=1000)] = 600_000
    stalled_check_s: Annotated[float, Field(gt=0)] = 30.0
    # Accepts "2,6,18" or a JSON list from the environment.
    retry_delays_s: Annotated[tuple[float, ...], NoDecode] = (2.0, 6.0, 18.0)

    # Set: production mode, BullMQ on this Redis is the job engine (``musewave worker`` runs jobs).
    redis_url: str | None = None
    queue_name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")] = (
        "music-generation"
    )
    # The queue's Redis must not evict keys (a dropped job is a lost job): refuse to start
    # unless its maxmemory-policy is noeviction; False only warns.
    require_noeviction: bool = True
    # A job whose worker dies more than this many times is failed (BullMQ maxStalledCount).
    max_stalls: Annotated[int, Field(ge=1)] = 3
    # Finished jobs BullMQ keeps in Redis (the database keeps every job regardless).
    keep_completed_s: Annotated[int, Field(ge=0)] = 86_400
    keep_completed_count: Annotated[int, Field(ge=0)] = 1_000
    keep_failed_s: Annotated[int, Field(ge=0)] = 7 * 86_400
    keep_failed_count: Annotated[int, Field(ge=0)] = 5_000
    # None: an in-process LRU. A Redis URL (may be a separate, allkeys-lru Redis) otherwise.
    cache_url: str | None = None
    min_free_disk_mb: Annotated[int, Field(ge=0)] = 200
    shutdown_grace_s: Annotated[float, Field(ge=0)] = 30.0
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # Circuit breakers (musewave.resilience.breakers): a call slower than *_timeout_s counts
    # as a failure; *_failures in a row open the breaker; it lets a probe through after
    # *_reset_s. State is shared through redis_url when that is set.
    breaker_engine_timeout_s: Annotated[float, Field(gt=0)] = 300.0
    breaker_engine_failures: Annotated[int, Field(ge=1)] = 5
    breaker_engine_reset_s: Annotated[float, Field(gt=0)] = 60.0
    breaker_encoder_timeout_s: Annotated[float, Field(gt=0)] = 180.0
    breaker_encoder_failures: Annotated[int, Field(ge=1)] = 5
    breaker_encoder_reset_s: Annotated[float, Field(gt=0)] = 30.0
    breaker_llm_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    breaker_llm_failures: Annotated[int, Field(ge=1)] = 3
    breaker_llm_reset_s: Annotated[float, Field(gt=0)] = 60.0
    # The planner (musewave.planning): "none" plans with the built-in rules and needs nothing;
    # "gemini" (Google's API, via google-genai) or "openai-compatible" (OpenAI, or a local
    # Ollama, llama.cpp server or vLLM) plan with that model, through the llm breaker, and fall
    # back to the rules on any failure. Suggestions (/v1/suggest/*) use it too.
    llm_provider: Literal["none", "gemini", "openai-compatible"] = "none"
    # The model to ask, e.g. "gemini-2.5-flash" or "llama3.1:8b"; unset: gemini-2.5-flash for
    # gemini (openai-compatible needs one).
    llm_model: str | None = None
    # The server of an openai-compatible provider, e.g. http://localhost:11434/v1 (Ollama);
    # for gemini, a different endpoint than Google's (a proxy). Unset: the provider's own.
    llm_base_url: str | None = None
    # The provider's API key (also read from MUSEWAVE_GEMINI_API_KEY). A secret: never logged.
    llm_api_key: Annotated[
        SecretStr | None,
        Field(validation_alias=AliasChoices("MUSEWAVE_LLM_API_KEY", "MUSEWAVE_GEMINI_API_KEY")),
    ] = None
    # The General-MIDI SoundFont the renderer plays acoustic instruments from: a .sf2 path,
    # "none" (synthesis only), or unset (Debian's FluidR3_GM when installed, else the small
    # font in the pretty_midi wheel). The engine reads this variable itself, so that a CLI
    # render needs no settings; a server or worker checks it here at start, so that a typo
    # fails fast instead of quietly falling back to synthesis. It is part of every result's
    # fingerprint: another font, another sound, no stale cache hits.
    soundfont: str = ""
    # Test-only fault injection: the first N attempts of every job fail before rendering.
    test_fail_attempts: Annotated[int, Field(ge=0)] = 0
    # Webhooks (musewave.webhooks). Destinations a webhook may reach although they resolve to
    # loopback, private, link-local or metadata addresses: host names or CIDRs, e.g.
    # "hooks.internal,10.1.0.0/16". None by default.
    webhook_allow_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Waits before the 2nd, 3rd... attempt of a delivery (Standard Webhooks' schedule,
    # shortened); "5,30,300" or a JSON list.
    webhook_retry_delays_s: Annotated[tuple[float, ...], NoDecode] = (5, 30, 300, 1800, 7200)
    webhook_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0  # per attempt, all in
    # After a secret rotation the previous secret signs too (a second signature) this long.
    webhook_rotation_overlap_s: Annotated[float, Field(ge=0)] = 86_400.0
    webhook_concurrency: Annotated[int, Field(ge=1, le=256)] = 8  # attempts in flight a process

    @model_validator(mode="before")
    @classmethod
    def _storage_inside_data_dir(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("storage_dir") is None:
            data_dir = Path(data.get("data_dir") or DEFAULT_DATA_DIR)
            return {**data, "storage_dir": data_dir / "assets"}
        return data

    @field_validator("retry_delays_s", "webhook_retry_delays_s", mode="before")
    @classmethod
    def _parse_delays(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in (p.strip() for p in text.split(",")) if part]
        return value

    @field_validator("allowed_hosts", "cors_origins", "webhook_allow_hosts", mode="before")
    @classmethod
    def _parse_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin like https://studio.example")
        return tuple(origin.rstrip("/") for origin in value)

    @field_validator("retry_delays_s", "webhook_retry_delays_s")
    @classmethod
    def _finite_non_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not math.isfinite(delay) or delay < 0 for delay in value):
            raise ValueError("retry delays must be finite and >= 0 seconds")
        return value

    @field_validator("webhook_allow_hosts")
    @classmethod
    def _hosts_or_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from musewave.webhooks.destinations import AllowList  # ValueError names the entry

        AllowList.parse(value)
        return value

    @field_validator("rate_generations", "rate_anonymous", "rate_ingress", "rate_suggestions")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        from limits import parse  # a rate the limits library reads: "60/minute", "5/second"

        parse(value)  # ValueError: pydantic names the variable
        return value

    @field_validator("llm_model", "llm_base_url", "llm_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty variable (a ConfigMap or Secret template's "") means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _llm_complete(self) -> Settings:
        if self.llm_provider == "openai-compatible" and not (self.llm_model and self.llm_base_url):
            raise ValueError(
                "MUSEWAVE_LLM_PROVIDER=openai-compatible needs MUSEWAVE_LLM_MODEL and "
                "MUSEWAVE_LLM_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)"
            )
        if self.llm_provider == "gemini" and self.llm_api_key is None:
            raise ValueError("MUSEWAVE_LLM_PROVIDER=gemini needs MUSEWAVE_LLM_API_KEY")
        return self

    @field_validator("soundfont")
    @classmethod
    def _a_readable_font(cls, value: str) -> str:
        chosen = value.strip()
        if chosen and chosen.lower() != "none" and not Path(chosen).is_file():
            raise ValueError("soundfont must be a readable .sf2 file, or none")
        return chosen

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def resolved_database_url(self) -> str:
        """``database_url``, or a SQLite file ``<data_dir>/musewave.db`` when it is unset."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'musewave.db').as_posix()}"

    def process_data(self) -> dict[str, Any]:
        """These settings as JSON data for a child process to validate again, secrets in
        clear (``model_dump`` masks them): hand it over, never log it."""
        data = self.model_dump(mode="json")
        if self.llm_api_key is not None:
            data["llm_api_key"] = self.llm_api_key.get_secret_value()
        return data

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def get_settings() -> Settings:
    """Settings from the environment, read afresh on every call (cache at the call site)."""
    return Settings()
