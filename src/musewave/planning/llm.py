"""The one module that talks to language models: Gemini through ``google-genai``, and any
OpenAI-compatible chat server (OpenAI, Ollama, llama.cpp's server, vLLM) through ``openai``.

Both answer one kind of question, :meth:`LLMClient.answer_json`: fixed instructions, the
user's words as a JSON *data* document, and a JSON schema the answer must follow (structured
output). The answer comes back as text, unchecked: the caller validates it like any other
untrusted input. Every failure is an :class:`LLMError` with a short ``kind`` that is safe to
log and to count (never the provider's message, which may quote the request).

Retries are left to the caller's circuit breaker: the SDKs' own retries are off, and a call
gives up after ``timeout_s``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

from musewave.config import Settings
from musewave.resilience import Breaker

T = TypeVar("T")

Provider = Literal["gemini", "openai-compatible"]
DEFAULT_MODELS: Mapping[str, str] = {"gemini": "gemini-2.5-flash"}
# Room for a plan (about 1 KB of JSON) and then some; a cut-off answer is a malformed one.
MAX_OUTPUT_TOKENS = 2048
TEMPERATURE = 0.8
# An OpenAI-compatible server without keys (a local Ollama) still needs the header filled.
NO_KEY = "not-needed"

# The SDKs log request bodies at debug level: our users' words must not reach the logs.
for _name in ("openai", "google_genai", "google.genai", "httpx", "httpx2", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

ErrorKind = Literal[
    "timeout", "rate_limited", "server_error", "client_error", "unreachable", "refused", "empty"
]


class LLMError(RuntimeError):
    """A model call that gave no usable answer. ``kind`` says why, in one word; ``status`` is
    the HTTP status when there was one."""

    def __init__(self, kind: ErrorKind, status: int | None = None) -> None:
        super().__init__(f"LLM {kind}" + (f" (HTTP {status})" if status else ""))
        self.kind = kind
        self.status = status


class AnswerRejected(ValueError):
    """The model answered, but not with the asked-for JSON (``kind`` says how; safe to log)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"LLM answer rejected: {kind}")
        self.kind = kind


# Answers that the person's own words can cause: a refusal, a request the model rejects.
_QUESTION_FAULTS: frozenset[str] = frozenset({"refused", "client_error"})


def ask_through(breaker: Breaker, attempt: Callable[[], T]) -> T:
    """``attempt()`` through ``breaker``, counting only the model service's faults.

    A refusal, a rejected request or an answer of the wrong shape (:class:`AnswerRejected`)
    can be caused by the words of whoever asked, so it says nothing of the service's health:
    it is raised to the caller but is not one of the breaker's failures. Otherwise anyone
    could hold the ``llm`` breaker, shared by the planner and the suggestions, open with a
    few crafted prompts."""

    def counted() -> T | _Uncounted:
        try:
            return attempt()
        except AnswerRejected as error:
            return _Uncounted(error)
        except LLMError as error:
            if error.kind in _QUESTION_FAULTS:
                return _Uncounted(error)
            raise

    answer = breaker.call(counted)
    if isinstance(answer, _Uncounted):
        raise answer.error
    return answer


class _Uncounted:
    def __init__(self, error: Exception) -> None:
        self.error = error


class LLMClient(Protocol):
    provider: Provider
    model: str

    def answer_json(
        self,
        instructions: str,
        data: Mapping[str, Any],
        schema: Mapping[str, Any],
        schema_name: str,
        *,
        seed: int | None = None,
    ) -> str:
        """The model's answer to ``data`` under ``instructions``, constrained to ``schema``:
        JSON text, not yet checked. Raises :class:`LLMError`."""
        ...

    def close(self) -> None: ...


def planner_name(client: LLMClient) -> str:
    """``llm:<provider>:<model>``, as a plan records who made it."""
    return f"llm:{client.provider}:{client.model}"


def _kind_of_status(status: int) -> ErrorKind:
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "client_error"


def _is_timeout(error: BaseException) -> bool:
    # httpx, httpx2 and the SDKs each have their own timeout classes; all say so by name.
    return any("timeout" in cls.__name__.lower() for cls in type(error).__mro__)


def _user_message(data: Mapping[str, Any]) -> str:
    # Data, not prose: the user's words are string values in a JSON document, so nothing in
    # them reads as a new instruction or as the end of ours.
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


class GeminiClient:
    """Gemini's ``generateContent`` through ``google-genai``. ``base_url`` points it elsewhere
    (a proxy, a test's stand-in)."""

    provider: Provider = "gemini"

    def __init__(self, model: str, api_key: str, *, timeout_s: float, base_url: str | None):
        from google import genai
        from google.genai import types

        self.model = model
        self._types = types
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                timeout=max(1, round(timeout_s * 1000)),  # milliseconds
                retry_options=None,  # no SDK retries: the breaker decides
            ),
        )

    def answer_json(
        self,
        instructions: str,
        data: Mapping[str, Any],
        schema: Mapping[str, Any],
        schema_name: str,
        *,
        seed: int | None = None,
    ) -> str:
        from google.genai import errors

        types = self._types
        config = types.GenerateContentConfig(
            system_instruction=instructions,
            response_mime_type="application/json",
            response_json_schema=dict(schema),
            temperature=TEMPERATURE,
            candidate_count=1,
            max_output_tokens=MAX_OUTPUT_TOKENS,
            seed=None if seed is None else seed % 2**31,  # an int32 on the wire
        )
        try:
            response = self._client.models.generate_content(
                model=self.model,
                contents=[types.Content(role="user", parts=[types.Part(text=_user_message(data))])],
                config=config,
            )
        except errors.APIError as error:
            raise LLMError(_kind_of_status(int(error.code)), int(error.code)) from None
        except Exception as error:
            raise LLMError("timeout" if _is_timeout(error) else "unreachable") from None
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise LLMError("refused")
        candidates = response.candidates or []
        if candidates and candidates[0].finish_reason not in (
            None,
            types.FinishReason.STOP,
            types.FinishReason.MAX_TOKENS,  # a cut-off answer: left to the JSON check
            types.FinishReason.FINISH_REASON_UNSPECIFIED,
        ):
            raise LLMError("refused")  # SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT…
        parts = (
            candidates[0].content.parts if candidates and candidates[0].content else None
        ) or []
        text = "".join(part.text or "" for part in parts if not part.thought)
        if not text.strip():
            raise LLMError("empty")
        return text

    def close(self) -> None:
        self._client.close()


class OpenAICompatibleClient:
    """``POST {base_url}/chat/completions`` through ``openai``, with a strict JSON-schema
    ``response_format``."""

    provider: Provider = "openai-compatible"

    def __init__(self, model: str, api_key: str | None, *, timeout_s: float, base_url: str):
        import openai

        self.model = model
        self._client = openai.OpenAI(
            api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    def answer_json(
        self,
        instructions: str,
        data: Mapping[str, Any],
        schema: Mapping[str, Any],
        schema_name: str,
        *,
        seed: int | None = None,
    ) -> str:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": instructions},
                    {"role": "user", "content": _user_message(data)},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
                },
                temperature=TEMPERATURE,
                max_tokens=MAX_OUTPUT_TOKENS,
                seed=seed,
                n=1,
            )
        except openai.APIStatusError as error:
            raise LLMError(_kind_of_status(error.status_code), error.status_code) from None
        except Exception as error:  # APITimeoutError, APIConnectionError, a body not JSON…
            raise LLMError("timeout" if _is_timeout(error) else "unreachable") from None
        if not response.choices:
            raise LLMError("empty")
        choice = response.choices[0]
        if choice.message.refusal or choice.finish_reason == "content_filter":
            raise LLMError("refused")
        text = choice.message.content or ""
        if not text.strip():
            raise LLMError("empty")
        return text

    def close(self) -> None:
        self._client.close()


def open_llm_client(settings: Settings, timeout_s: float) -> LLMClient | None:
    """The client ``settings`` configure (``MUSEWAVE_LLM_*``), or None for the rules alone.
    ``timeout_s``: how long one call may take (the llm breaker's call timeout)."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if settings.llm_provider == "gemini":
        assert key is not None  # Settings refuses gemini without a key
        model = settings.llm_model or DEFAULT_MODELS["gemini"]
        return GeminiClient(model, key, timeout_s=timeout_s, base_url=settings.llm_base_url)
    if settings.llm_provider == "openai-compatible":
        assert settings.llm_model and settings.llm_base_url  # Settings requires both
        return OpenAICompatibleClient(
            settings.llm_model, key, timeout_s=timeout_s, base_url=settings.llm_base_url
        )
    return None
