"""Errors the engine raises. Callers (CLI, workers) decide what is retryable from the type."""


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class InvalidRequest(EngineError):
    """The request cannot be rendered as given; retrying will not help."""


class Cancelled(EngineError):
    """``should_cancel()`` turned true; the engine stopped and removed its partial files."""


class ValidationFailed(EngineError):
    """A written file did not decode back as expected. Retryable: the render may succeed again."""


class OutputFailed(EngineError):
    """A file could not be written (disk full, an I/O error). Retryable: space may free up."""
