"""Every error the API answers is an RFC 9457 problem (``application/problem+json``)::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "no job '0f3c…'", "instance": "/v1/jobs/0f3c…"}

The ``type`` member names the kind of problem:

``about:blank``
    The error means no more than its HTTP status (RFC 9457 §4.2.1), and ``title`` is the
    status's reason phrase. Every ``HTTPException`` (a route's, the router's 404 for an unknown
    URL and 405 for a wrong method, a static file's 404), ``JobNotFound`` (404),
    ``JobConflict`` (409), and every unhandled error (500, with a generic ``detail``: the
    exception, its traceback and its locals go to the log, never into the answer). Headers an
    ``HTTPException`` carries (``Allow``, ``Retry-After``…) are kept.

``https://musewave.dev/problems/validation``
    422: the request did not validate. ``errors`` lists each failure with its ``loc`` (where:
    ``["body", "prompt"]``, ``["query", "limit"]``), ``msg`` and ``type`` (Pydantic's error
    type). The value that failed is never echoed back, and messages are clipped, so an answer
    stays small whatever was sent (a 10 MB prompt, NaN, 1e400, a lone surrogate).

``https://musewave.dev/problems/queue-unavailable``
    503 with ``Retry-After: 5``: the job engine (Redis) did not answer. Nothing was changed;
    the same request may be sent again.

The ``https://musewave.dev/problems/…`` URIs are identifiers, stable across releases; clients
compare them as strings and need not fetch them (RFC 9457 §3.1.1). The only extension member
is ``errors``, on validation problems.

:func:`install_problem_handlers` wires this into an app (and into its OpenAPI document);
:func:`problem_responses` documents a route's error statuses::

    @router.get("/v1/jobs/{job_id}", responses=problem_responses(404))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from opentelemetry import trace
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musewave.jobs.errors import (
    IdempotencyConflict,
    InvalidCursor,
    JobConflict,
    JobNotFound,
    QueueUnavailable,
)
from musewave.observability.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
BLANK_TYPE = "about:blank"
PROBLEM_TYPE_BASE = "https://musewave.dev/problems/"
VALIDATION_TYPE = PROBLEM_TYPE_BASE + "validation"
QUEUE_UNAVAILABLE_TYPE = PROBLEM_TYPE_BASE + "queue-unavailable"

QUEUE_RETRY_AFTER_S = 5
# Bounds on what a 422 can contain, whatever the request held.
MAX_FIELD_ERRORS = 20
MAX_MSG_CHARS = 300
MAX_LOC_CHARS = 80
MAX_DETAIL_CHARS = 1000
MAX_INSTANCE_CHARS = 500

_PROBLEM_REF = "#/components/schemas/Problem"
_REF_TEMPLATE = "#/components/schemas/{model}"
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")
# Headers that belong to the problem body, not to whatever raised it.
_BODY_HEADERS = frozenset({"content-type", "content-length"})
_INSTALLED = "problem_handlers_installed"  # an app.state flag

log = get_logger("musewave.service")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # an optional member is left out, never null


class FieldError(BaseModel):
    """One reason a request did not validate."""

    loc: list[str | int] = Field(
        description='Where: the request part then the path inside it, e.g. ["body", "prompt"].'
    )
    msg: str = Field(description="What is wrong, for a person (never the value sent).")
    type: str = Field(description='Pydantic\'s error type, e.g. "string_too_long", "missing".')


class Problem(BaseModel):
    """An RFC 9457 problem details object (``application/problem+json``)."""

    type: str = Field(
        default=BLANK_TYPE,
        description=(
            'A URI naming the kind of problem: "about:blank" (no more than the status says), '
            f'"{VALIDATION_TYPE}" or "{QUEUE_UNAVAILABLE_TYPE}".'
        ),
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code of this response.")
    detail: str = Field(description="What went wrong with this request, for a person.")
    # Optional members are left out of a response, never null: the schema has no null.
    instance: str | SkipJsonSchema[None] = Field(
        default=None,
        description="The path of the request this problem is about.",
        json_schema_extra=_no_default,
    )
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None,
        description=f"Validation problems only: each failing field (at most {MAX_FIELD_ERRORS}).",
        json_schema_extra=_no_default,
    )


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    """``problem`` as an ``application/problem+json`` response (``None`` members left out)."""
    kept = {k: v for k, v in (headers or {}).items() if k.lower() not in _BODY_HEADERS}
    return Response(
        problem.model_dump_json(exclude_none=True),
        status_code=problem.status,
        headers=kept,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: each status documented as a :class:`Problem`
    (``application/problem+json``). The app needs :func:`install_problem_handlers`, which puts
    the ``Problem`` schema into the document."""
    return {code: _problem_response_doc(code) for code in codes}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem, and say so in its OpenAPI document.

    Call it before the app serves its first request; calling it again changes nothing.
    Unhandled errors are caught by a middleware placed inside every other one (whatever the
    order of ``add_middleware`` calls), so outer middlewares (request IDs, metrics, the access
    log) see an ordinary 500 response; the error is logged here as ``unhandled error``.
    """
    if getattr(app.state, _INSTALLED, False):
        return
    if app.middleware_stack is not None:
        raise RuntimeError("install_problem_handlers must run before the app starts")
    setattr(app.state, _INSTALLED, True)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(QueueUnavailable, _queue_unavailable)
    app.add_exception_handler(JobNotFound, _job_error)
    app.add_exception_handler(JobConflict, _job_error)
    app.add_exception_handler(IdempotencyConflict, _job_error)
    app.add_exception_handler(InvalidCursor, _invalid_cursor)
    # Errors raised outside the user middlewares (where _UnhandledErrors cannot see them)
    # reach Starlette's ServerErrorMiddleware, which answers with this handler.
    app.add_exception_handler(Exception, _unhandled_error)
    app.user_middleware.append(Middleware(_UnhandledErrors))  # appended: the innermost
    _document_problems(app)


# --- building problems ---------------------------------------------------------------------


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _clean(text: str, limit: int) -> str:
    """``text`` clipped to ``limit`` characters (its start and end kept) and made encodable
    as UTF-8 (a lone surrogate becomes ``?``)."""
    if len(text) > limit:
        half = (limit - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text.encode("utf-8", "replace").decode("utf-8")


def _instance(conn: HTTPConnection) -> str | None:
    path = quote(conn.url.path, safe="/:@!$&'()*+,;=-._~")
    return path if len(path) <= MAX_INSTANCE_CHARS else None


def instance_of(scope: Scope) -> str | None:
    try:
        return _instance(HTTPConnection(scope))
    except Exception:  # a scope too broken to build a URL from
        return None


def _detail_text(detail: Any) -> str:
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
    return _clean(text, MAX_DETAIL_CHARS)


def _field_error(error: Any) -> FieldError:
    raw: Mapping[str, Any] = error if isinstance(error, Mapping) else {"msg": str(error)}
    loc = [
        part if isinstance(part, int) else _clean(str(part), MAX_LOC_CHARS)
        for part in raw.get("loc", ())
    ]
    kind = str(raw.get("type", "value_error"))
    msg = str(raw.get("msg", "not valid"))
    ctx = raw.get("ctx")
    if kind == "json_invalid" and isinstance(ctx, Mapping) and isinstance(ctx.get("error"), str):
        msg = f"{msg}: {ctx['error']}"  # the JSON parser's words, which quote nothing sent
    return FieldError(loc=loc, msg=_clean(msg, MAX_MSG_CHARS), type=_clean(kind, MAX_LOC_CHARS))


def _summary(errors: list[FieldError], total: int) -> str:
    first = errors[0]
    where = ".".join(str(part) for part in first.loc) or "request"
    more = total - 1
    suffix = f" (and {more} more error{'s' if more != 1 else ''})" if more else ""
    return f"{where}: {first.msg}{suffix}"


def _internal_problem(instance: str | None) -> Problem:
    return Problem(
        title=_phrase(500),
        status=500,
        detail="The server failed to handle this request; the error was logged.",
        instance=instance,
    )


# --- handlers --------------------------------------------------------------------------------


def _body_allowed(status: int) -> bool:
    return status >= 200 and status not in (204, 205, 304)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 405:
        exc.headers = _with_every_allowed_method(request, exc.headers)
    if not _body_allowed(status):
        return Response(status_code=status, headers=exc.headers)
    detail = _detail_text(exc.detail)
    if detail == _phrase(status):  # Starlette's default, which only repeats the title
        detail = _generic_detail(request, status, exc.headers or {})
    problem = Problem(
        title=_phrase(status), status=status, detail=detail, instance=_instance(request)
    )
    return problem_response(problem, exc.headers)


def _with_every_allowed_method(
    request: Request, headers: Mapping[str, str] | None
) -> dict[str, str]:
    """A 405's headers with ``Allow`` naming the methods of every documented route at this
    path (Starlette names only the first route's: ``GET`` where ``POST`` is documented too)."""
    methods: set[str] = set()
    for route in _every_route(request.app.router.routes):
        if not isinstance(route, Route) or not route.include_in_schema or not route.methods:
            continue
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    kept = {k: v for k, v in (headers or {}).items() if k.lower() != "allow" or not methods}
    return {**kept, "Allow": ", ".join(sorted(methods))} if methods else kept


def _every_route(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes, those of included routers too (the app includes them without a prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _every_route(included.routes) if included is not None else [route]


def _generic_detail(request: Request, status: int, headers: Mapping[str, str]) -> str:
    if status == 404:
        return "Nothing is at this URL."
    allowed = next((v for k, v in headers.items() if k.lower() == "allow"), None)
    if status == 405 and allowed:
        return f"{_clean(request.method, MAX_LOC_CHARS)} is not allowed here; use {allowed}."
    return _phrase(status)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    errors = [_field_error(error) for error in list(raw)[:MAX_FIELD_ERRORS]]
    problem = Problem(
        type=VALIDATION_TYPE,
        title="Your request is not valid",
        status=422,
        detail=_summary(errors, len(raw)) if errors else "The request is not valid.",
        instance=_instance(request),
        errors=errors,
    )
    return problem_response(problem)


async def _invalid_cursor(request: Request, exc: Exception) -> Response:
    error = FieldError(loc=["query", "cursor"], msg=str(exc), type="value_error")
    problem = Problem(
        type=VALIDATION_TYPE,
        title="Your request is not valid",
        status=422,
        detail=_summary([error], 1),
        instance=_instance(request),
        errors=[error],
    )
    return problem_response(problem)


async def _job_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, JobNotFound) else 409
    problem = Problem(
        title=_phrase(status),
        status=status,
        detail=_detail_text(str(exc)),
        instance=_instance(request),
    )
    return problem_response(problem)


async def _queue_unavailable(request: Request, exc: Exception) -> Response:
    # The cause (a Redis error) may name hosts: it goes to the log, not to the client.
    log.warning("queue unavailable", path=request.url.path, error=str(exc))
    problem = Problem(
        type=QUEUE_UNAVAILABLE_TYPE,
        title="The job queue is unavailable",
        status=503,
        detail="The job queue did not answer and nothing was changed; try again shortly.",
        instance=_instance(request),
    )
    return problem_response(problem, {"Retry-After": str(QUEUE_RETRY_AFTER_S)})


async def _unhandled_error(request: Request, exc: Exception) -> Response:
    return problem_response(_internal_problem(_instance(request)))


class _UnhandledErrors:
    """Pure ASGI: an error escaping the app before its response started becomes a logged 500
    problem. Once a response has started (a stream), the error is re-raised as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:
            if started:
                raise
            log.exception("unhandled error", method=scope.get("method"), path=scope.get("path"))
            trace.get_current_span().record_exception(error)
            response = problem_response(_internal_problem(instance_of(scope)))
            await response(scope, receive, send)


# --- OpenAPI ---------------------------------------------------------------------------------


def _problem_response_doc(status: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "description": "Validation Error" if status == 422 else _phrase(status),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
    }
    if status in (429, 503):
        doc["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before sending the request again.",
                "schema": {"type": "integer"},
            }
        }
    return doc


def _is_fastapi_422(response: Any) -> bool:
    """FastAPI's own 422 entry (``HTTPValidationError`` as ``application/json``)."""
    if not isinstance(response, dict):
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return isinstance(schema, dict) and schema.get("$ref", "").endswith("/HTTPValidationError")


def _add_problems_to(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template=_REF_TEMPLATE, mode="serialization")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses", {})
            if _is_fastapi_422(responses.get("422")):
                responses["422"] = _problem_response_doc(422)
    for name in _FASTAPI_422_SCHEMAS:  # drop FastAPI's 422 schemas once nothing uses them
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(document):
            del schemas[name]


def _document_problems(app: FastAPI) -> None:
    build = app.openapi
    changed: list[dict[str, Any]] = []  # FastAPI caches the document: change it once

    def openapi() -> dict[str, Any]:
        document = build()
        if not any(document is done for done in changed):
            _add_problems_to(document)
            changed[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
