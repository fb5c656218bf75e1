"""The planner a worker renders with: the rules, or a language model behind the ``llm`` breaker.

With ``MUSEWAVE_LLM_PROVIDER=none`` (the default) every plan is the rule-based planner's,
bit-identical for a request and seed. With a provider, :meth:`Planner.plan`:

1. looks the plan up in the cache, by request fingerprint (which includes the seed) +
   provider + model: a job retried, or the same seeded request again, gets the same plan;
2. else asks the model through ``breakers.llm``: the answer is read as a
   :class:`~musewave.engine.plan_draft.PlanDraft` and repaired into a plan
   (:func:`~musewave.engine.plan_draft.plan_from_draft`); an error or a timeout counts as
   one failure of the breaker, while a refusal, a rejected request, malformed JSON or a
   schema violation (which the user's words can cause) fall back without counting;
3. on any failure, or while the breaker is open (then without calling), falls back to the
   rule-based plan at once. An LLM outage slows nothing and fails no job.

The plan says who made it (``planner``: ``rules`` or ``llm:<provider>:<model>``); it is
written to ``plan.json`` and recorded with the job, and rendering that stored plan again is
bit-identical (``generate(..., planner=lambda _: plan)``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from musewave.cache import Cache, make_cache
from musewave.cache.keys import sha256_hex
from musewave.config import Settings
from musewave.engine.plan import Plan, make_plan
from musewave.engine.plan_draft import PlanDraft, draft_json_schema, plan_from_draft
from musewave.engine.request import GenerationRequest
from musewave.observability import metrics
from musewave.observability.logging import get_logger
from musewave.planning.llm import (
    AnswerRejected,
    LLMClient,
    LLMError,
    ask_through,
    open_llm_client,
    planner_name,
)
from musewave.planning.prompts import PLAN_INSTRUCTIONS, request_data, text_digest
from musewave.resilience import Breaker, BreakerOpen, Breakers

log = get_logger(__name__)

CACHE_NAMESPACE = "plans"
CACHE_TTL_S = 7 * 86_400.0  # a plan is a few KB; a retried job, days later, gets the same one

Source = Literal["rules", "llm", "cache", "fallback"]


class PlanRejected(AnswerRejected):
    """The model answered, but not with a plan: ``kind`` is ``malformed_json`` or
    ``schema_violation`` (safe to log; the answer itself is not)."""


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """A plan and how it was made. ``reason``: why it fell back (an error kind, or
    ``breaker_open``). ``repairs``: what the draft needed (see ``plan_from_draft``)."""

    plan: Plan
    source: Source
    reason: str | None = None
    repairs: tuple[str, ...] = ()
    latency_s: float = 0.0


def failure_reason(error: BaseException) -> str:
    """A word for why a model call gave no plan: safe to log and to count."""
    if isinstance(error, BreakerOpen):
        return "breaker_open"
    if isinstance(error, LLMError | AnswerRejected):
        return error.kind
    return type(error).__name__


class Planner:
    """Makes plans for requests: call it as ``planner(request)`` (the engine's ``planner``
    argument) or use :meth:`plan` for the outcome. ``client`` None: the rules alone."""

    def __init__(
        self, client: LLMClient | None, breaker: Breaker | None, cache: Cache | None = None
    ) -> None:
        if client is not None and breaker is None:
            raise ValueError("an LLM planner needs a breaker")
        self.client = client
        self.breaker = breaker
        self.cache = cache
        self.name = "rules" if client is None else planner_name(client)

    @classmethod
    def from_settings(cls, settings: Settings, breakers: Breakers) -> Planner:
        """The planner ``MUSEWAVE_LLM_*`` configure, guarded by ``breakers.llm`` (one call
        may take the breaker's call timeout, no longer), with a plan cache of its own
        (``MUSEWAVE_CACHE_URL``) when it asks a model; :meth:`close` closes both."""
        client = open_llm_client(settings, breakers.llm.config.call_timeout_s)
        if client is None:
            return cls(None, None)
        return cls(client, breakers.llm, make_cache(settings.cache_url))

    def __call__(self, request: GenerationRequest) -> Plan:
        return self.plan(request).plan

    def plan(self, request: GenerationRequest) -> PlanOutcome:
        """The plan for ``request`` (seeded). Never raises for a model's failure."""
        if self.client is None:
            outcome = PlanOutcome(make_plan(request), "rules")
            metrics.plan_made(outcome.source)
            return outcome
        started = time.monotonic()
        key = self._cache_key(request)
        cached = self._cached(key)
        if cached is not None:
            outcome = PlanOutcome(cached, "cache", latency_s=time.monotonic() - started)
        else:
            outcome = self._ask(request, started)
            if outcome.source == "llm" and self.cache is not None:
                self.cache.set(
                    CACHE_NAMESPACE, key, outcome.plan.model_dump_json().encode(), CACHE_TTL_S
                )
        metrics.plan_made(outcome.source)
        (log.warning if outcome.source == "fallback" else log.info)(
            "plan made",
            planner=outcome.plan.planner,
            source=outcome.source,
            reason=outcome.reason,
            repairs=list(outcome.repairs),
            latency_ms=round(outcome.latency_s * 1000, 1),
            prompt_sha256=text_digest(request.prompt),
        )
        return outcome

    def _ask(self, request: GenerationRequest, started: float) -> PlanOutcome:
        assert self.client is not None and self.breaker is not None
        client = self.client

        def attempt() -> tuple[Plan, tuple[str, ...]]:
            text = client.answer_json(
                PLAN_INSTRUCTIONS,
                request_data(request),
                draft_json_schema(),
                "musewave_plan",
                seed=request.seed,
            )
            draft = read_draft(text)
            repaired = plan_from_draft(request, draft, self.name)
            return repaired.plan, repaired.repairs

        try:
            plan, repairs = ask_through(self.breaker, attempt)
        except Exception as error:  # every failure falls back; none fails the job
            return PlanOutcome(
                make_plan(request),
                "fallback",
                reason=failure_reason(error),
                latency_s=time.monotonic() - started,
            )
        return PlanOutcome(plan, "llm", repairs=repairs, latency_s=time.monotonic() - started)

    def _cache_key(self, request: GenerationRequest) -> str:
        assert self.client is not None
        return sha256_hex(
            f"{request.fingerprint()}:{self.client.provider}:{self.client.model}".encode()
        )

    def _cached(self, key: str) -> Plan | None:
        if self.cache is None:
            return None
        raw = self.cache.get(CACHE_NAMESPACE, key)
        if raw is None:
            return None
        try:
            return Plan.model_validate_json(raw)
        except ValidationError:  # an older plan schema, or damaged: ask again
            return None

    def close(self) -> None:
        """Close the model client and the cache this planner was given."""
        if self.client is not None:
            self.client.close()
        if self.cache is not None:
            self.cache.close()


def read_draft(text: str) -> PlanDraft:
    """The model's answer as a draft; :class:`PlanRejected` when it is not JSON, or not a
    draft. A fenced answer (```json … ```), which some local models send even when asked
    for JSON alone, is read too."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        raise PlanRejected("malformed_json") from None
    try:
        return PlanDraft.model_validate(data)
    except ValidationError:
        raise PlanRejected("schema_violation") from None
