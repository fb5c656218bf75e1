"""Shared fixtures: real renders, made once per test session and shared read-only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from musewave.engine import GenerationRequest, GenerationResult, generate

RenderFn = Callable[..., GenerationResult]


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> RenderFn:
    """``render(prompt=..., genres=[...], ...)`` → a cached GenerationResult for that request."""
    cache: dict[str, GenerationResult] = {}

    def _render(stems: bool = True, midi: bool = True, **fields: object) -> GenerationResult:
        request = GenerationRequest.model_validate({"prompt": "test track", "seed": 1, **fields})
        key = f"{request.fingerprint()}-{stems}-{midi}"
        if key not in cache:
            out = Path(tmp_path_factory.mktemp("render"))
            cache[key] = generate(request, out, stems=stems, midi=midi)
        return cache[key]

    return _render
