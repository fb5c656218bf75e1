"""The music engine: a pure library (no HTTP, queues or databases).

Its one entry point is :func:`generate`; the CLI and both kinds of worker call it. Names are
imported on first use, so reading the request model does not load the DSP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from musewave.engine.errors import Cancelled, EngineError, InvalidRequest, ValidationFailed
    from musewave.engine.pipeline import GenerationResult, OutputFile, generate, resolve_seed
    from musewave.engine.plan import Plan, make_plan
    from musewave.engine.progress import STAGES, ProgressEvent
    from musewave.engine.request import AUDIO_FORMATS, GenerationRequest
    from musewave.engine.version import ENGINE_VERSION

_HOMES = {
    "Cancelled": "errors",
    "EngineError": "errors",
    "InvalidRequest": "errors",
    "ValidationFailed": "errors",
    "GenerationResult": "pipeline",
    "OutputFile": "pipeline",
    "generate": "pipeline",
    "resolve_seed": "pipeline",
    "Plan": "plan",
    "make_plan": "plan",
    "STAGES": "progress",
    "ProgressEvent": "progress",
    "AUDIO_FORMATS": "request",
    "GenerationRequest": "request",
    "ENGINE_VERSION": "version",
}

__all__ = [
    "AUDIO_FORMATS",
    "ENGINE_VERSION",
    "STAGES",
    "Cancelled",
    "EngineError",
    "GenerationRequest",
    "GenerationResult",
    "InvalidRequest",
    "OutputFile",
    "Plan",
    "ProgressEvent",
    "ValidationFailed",
    "generate",
    "make_plan",
    "resolve_seed",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'musewave.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"musewave.engine.{home}"), name)
