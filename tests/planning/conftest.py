"""Fixtures: a model stand-in on loopback, clients of each provider pointed at it, planners."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from musewave.cache import LocalCache
from musewave.config import Settings
from musewave.observability.logging import configure_logging
from musewave.planning.llm import GeminiClient, LLMClient, OpenAICompatibleClient
from musewave.planning.planner import Planner
from musewave.resilience import Breaker, BreakerConfig
from tests.planning.standins import ModelStandIn

PROVIDERS = ("gemini", "openai-compatible")
MODEL = "test-model"
API_KEY = "sk-test-0123456789-very-secret"
# Short, so a hanging model is given up on quickly; long enough for a busy machine's answer.
TIMEOUT_S = 1.5
GOOD_DRAFT: dict[str, Any] = {
    "title": "Harbor Lights",
    "genre": "synthwave",
    "bpm": 104,
    "key": "A minor",
    "moods": ["nostalgic", "dreamy"],
    "sections": [
        {"kind": "intro", "bars": 4, "energy": 0.3},
        {"kind": "verse", "bars": 8, "energy": 0.6},
        {"kind": "chorus", "bars": 8, "energy": 0.95},
        {"kind": "outro", "bars": 4, "energy": 0.3},
    ],
    "instruments": [
        {"role": "chords", "instrument": "supersaw"},
        {"role": "lead", "instrument": "saw_lead"},
        {"role": "bass", "instrument": "synth_bass"},
        {"role": "drums", "instrument": "kit_electronic"},
        {"role": "pads", "instrument": "pad"},
    ],
    "progressions": [
        {"section": "verse", "chords": "i-VI-III-VII"},
        {"section": "chorus", "chords": "VI-VII-i-i"},
    ],
}


def make_client(provider: str, stand_in: ModelStandIn, timeout_s: float = TIMEOUT_S) -> LLMClient:
    if provider == "gemini":
        return GeminiClient(MODEL, API_KEY, timeout_s=timeout_s, base_url=stand_in.url)
    return OpenAICompatibleClient(MODEL, API_KEY, timeout_s=timeout_s, base_url=stand_in.openai_url)


def llm_breaker(timeout_s: float = TIMEOUT_S, fail_max: int = 3) -> Breaker:
    return Breaker(
        "llm", BreakerConfig(call_timeout_s=timeout_s, fail_max=fail_max, reset_timeout_s=60.0)
    )


MakePlanner = Callable[..., Planner]


@pytest.fixture
def stand_in() -> Iterator[ModelStandIn]:
    with ModelStandIn() as server:
        yield server


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_planner(stand_in: ModelStandIn, provider: str) -> Iterator[MakePlanner]:
    """``make_planner(timeout_s=..., fail_max=..., cache=True)``: a planner of ``provider``
    asking the stand-in; closed at teardown."""
    planners: list[Planner] = []

    def _make(timeout_s: float = TIMEOUT_S, fail_max: int = 3, cache: bool = True) -> Planner:
        planner = Planner(
            make_client(provider, stand_in, timeout_s),
            llm_breaker(timeout_s, fail_max),
            LocalCache() if cache else None,
        )
        planners.append(planner)
        return planner

    yield _make
    for planner in planners:
        planner.close()


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Production logging at debug level (the SDKs' most talkative) into a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(Settings(env="production", log_level="debug"), stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()
