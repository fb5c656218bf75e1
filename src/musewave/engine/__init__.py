"""The music engine: a pure library (no HTTP, queues or databases).

Its one entry point is :func:`generate`; the CLI and both kinds of worker call it.
"""

from musewave.engine.errors import Cancelled, EngineError, InvalidRequest, ValidationFailed
from musewave.engine.pipeline import GenerationResult, OutputFile, generate, resolve_seed
from musewave.engine.plan import Plan, make_plan
from musewave.engine.progress import STAGES, ProgressEvent
from musewave.engine.request import AUDIO_FORMATS, GenerationRequest
from musewave.engine.version import ENGINE_VERSION

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
