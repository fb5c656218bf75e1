"""Suggestions for composing a request: ``GET /v1/suggest/{genres,artists,instruments,
languages}`` and ``POST /v1/prompt/enhance``.

Any caller with access (a user key, or anonymous use where the server allows it) may ask;
each request counts against ``MUSEWAVE_RATE_SUGGESTIONS`` for its key or anonymous IP, since
each may ask the configured language model. The answers have the same shape whether they come
from our rules or from a model (``source`` says which).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from musewave.access import Caller
from musewave.planning.suggestions import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SUGGEST_KINDS,
    EnhanceBody,
    EnhancedPrompt,
    SuggestionList,
    Suggestions,
    SuggestKind,
)
from musewave.service.auth import CallerDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.services import Services

router = APIRouter(tags=["suggestions"], responses=problem_responses(401, 429))

_RULES_ONLY = Suggestions(None, None)

_WHAT = {
    "genres": "Genres (ids for the request's `genres`), those the text names first",
    "artists": "Artists to name in `artist_inspiration`, those of the genre first",
    "instruments": "Instrument words the planner understands in a prompt (`with rhodes`)",
    "languages": "Vocal languages (ISO 639-1 codes for `vocal_languages`)",
}


async def _count(services: Services, caller: Caller, request: Request, response: Response) -> None:
    client_ip = request.client.host if request.client else "unknown"
    limits = services.limits
    if limits.remote:
        verdict = await run_in_threadpool(limits.hit_suggestion, caller, client_ip)
    else:
        verdict = limits.hit_suggestion(caller, client_ip)
    if not verdict.allowed:
        raise HTTPException(
            status_code=429,
            detail=f"at most {verdict.limit} suggestion requests in this window; retry later",
            headers=verdict.headers(),
        )
    response.headers.update(verdict.headers())


def _suggestions(services: Services) -> Suggestions:
    return services.suggestions or _RULES_ONLY


def _route(kind: SuggestKind) -> None:
    async def suggest(
        services: ServicesDep,
        caller: CallerDep,
        request: Request,
        response: Response,
        q: Annotated[
            str,
            Query(
                max_length=MAX_QUERY_CHARS,
                description="What the person typed so far: a word to complete, or a prompt",
            ),
        ] = "",
        genre: Annotated[
            str | None,
            Query(
                max_length=80,
                description="The genre chosen so far (an id or a synonym; others are ignored)",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> SuggestionList:
        await _count(services, caller, request, response)
        return await run_in_threadpool(
            _suggestions(services).suggest, kind, " ".join(q.split()), genre, limit
        )

    suggest.__name__ = f"suggest_{kind}"
    suggest.__doc__ = f"{_WHAT[kind]}. At most `limit`, best first."
    router.add_api_route(
        f"/v1/suggest/{kind}",
        suggest,
        methods=["GET"],
        response_model=SuggestionList,
        responses=problem_responses(422),
    )


for _kind in SUGGEST_KINDS:
    _route(_kind)


@router.post(
    "/v1/prompt/enhance", response_model=EnhancedPrompt, responses=problem_responses(400, 422)
)
async def enhance_prompt(
    body: EnhanceBody,
    services: ServicesDep,
    caller: CallerDep,
    request: Request,
    response: Response,
) -> EnhancedPrompt:
    """A richer prompt: the genre, a mood, a tempo and instruments the prompt leaves open are
    filled in (by the configured model, or from the genre's defaults), and what the planner
    reads in the result is listed under ``hints``."""
    await _count(services, caller, request, response)
    return await run_in_threadpool(
        _suggestions(services).enhance, " ".join(body.prompt.split()), body.genres
    )
