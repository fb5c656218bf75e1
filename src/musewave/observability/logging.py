"""Structured logging for the API and worker processes, configured once per process.

``MUSEWAVE_ENV=production`` writes one JSON object per line (``timestamp``, ``level``,
``event``, ``logger``, ``pid`` and whatever is bound, e.g. ``request_id``, ``job_id``);
development writes aligned console lines, colored on a terminal or when ``FORCE_COLOR`` is set
(``NO_COLOR`` turns colors off). structlog events and stdlib records (uvicorn, SQLAlchemy, the
cache) go through the same processors, so both carry the bound context variables.

The ``musewave generate`` CLI does not call this: its progress bar stays as it is.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from musewave.config import Settings

# uvicorn configures these itself unless told not to; they must propagate to the root handler.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# Locals would put request bodies and secrets into logs: frames only.
_dict_tracebacks = structlog.processors.ExceptionRenderer(
    ExceptionDictTransformer(show_locals=False)
)


# Leading keys of every JSON line, in this order, so lines read well in a terminal too.
_FIRST_KEYS = ("timestamp", "level", "logger", "event")


def _add_pid(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Worker processes share the server's output: the pid tells them apart.
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn passes an ANSI-colored copy of its message as an ``extra`` field.
    event_dict.pop("color_message", None)
    return event_dict


def _leading_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    first = {key: event_dict.pop(key) for key in _FIRST_KEYS if key in event_dict}
    return {**first, **event_dict}


def _shared_processors() -> list[Processor]:
    """What both structlog events and stdlib records go through before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.StackInfoRenderer(),
    ]


def wants_colors(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colors on a terminal, or when ``FORCE_COLOR`` is set; never when ``NO_COLOR`` is set
    (the conventions of no-color.org and force-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_formatter(production: bool, *, colors: bool) -> structlog.stdlib.ProcessorFormatter:
    """The stdlib formatter that renders every record: JSON lines, or console lines."""
    renderer: list[Processor]
    if production:
        renderer = [
            _add_pid,
            _dict_tracebacks,
            _leading_keys_first,
            structlog.processors.JSONRenderer(),
        ]
    else:
        # A plain traceback: rich's (ConsoleRenderer's default when rich is installed) shows
        # every frame's locals, request bodies and secrets included, and took seconds of the
        # event loop per error.
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=colors, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_shared_processors(),
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (default stderr) at
    ``settings.log_level``, in the format ``settings.env`` asks for.

    Safe to call again (a later call replaces the handler an earlier one installed).
    """
    stream = stream if stream is not None else sys.stderr
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(settings.is_production, colors=wants_colors(stream)))
    handler.set_name("musewave")

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "musewave"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become records too, not raw lines on stderr
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # the root's level decides

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # False: module-level loggers must follow a later configure_logging (tests, workers).
        cache_logger_on_first_use=False,
    )


def enabled_for(name: str, level: int) -> bool:
    """Whether a line at ``level`` (``logging.INFO``...) from logger ``name`` would be written.

    For hot paths: checking first skips building the line's fields, and a structlog call that
    the level filter drops still costs a few microseconds (a bound logger is made for every
    call). Exactly structlog's own decision: the stdlib level decides when the configuration
    in force starts with the level filter (:func:`configure_logging`'s does); otherwise (the
    defaults, ``structlog.testing.capture_logs``) nothing is filtered.
    """
    processors = structlog.get_config()["processors"]
    if not processors or processors[0] is not structlog.stdlib.filter_by_level:
        return True
    return logging.getLogger(name).isEnabledFor(level)


def get_logger(name: str, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (shown as ``logger`` in every line)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **initial_values)
    return logger
