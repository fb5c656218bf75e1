"""Language-model servers on loopback that speak the real wire protocols, for the official SDKs.

:class:`ModelStandIn` is a threaded ``http.server`` on 127.0.0.1 that answers

- Gemini's REST ``POST /{version}/models/{model}:generateContent`` (what ``google-genai``
  sends, authenticated by ``x-goog-api-key``), with ``candidates[].content.parts[].text``,
  ``finishReason``, ``promptFeedback`` and ``usageMetadata``, and errors as
  ``{"error": {"code", "message", "status"}}``;
- OpenAI's ``POST /v1/chat/completions`` (what ``openai`` sends, ``Authorization: Bearer``),
  with ``choices[].message.{content, refusal}`` and ``finish_reason``, and errors as
  ``{"error": {"message", "type", "param", "code"}}``.

Each request takes the next :class:`Reply` from a script (the last one repeats), and is
recorded (path, headers, JSON body) for the test to read. A ``hang`` reply holds the request
until the stand-in stops (or :meth:`release`): the client's own timeout ends it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

ReplyKind = Literal["json", "text", "status", "hang", "refuse"]

GEMINI_STATUS = {
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    400: "INVALID_ARGUMENT",
}
OPENAI_ERROR = {
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
    400: "invalid_request_error",
}


@dataclass(frozen=True)
class Reply:
    """What the stand-in answers: ``json`` (a value, sent as the model's text), ``text`` (raw
    model text, e.g. malformed JSON), ``status`` (an HTTP error), ``hang``, or ``refuse``."""

    kind: ReplyKind
    value: Any = None

    @classmethod
    def plan(cls, draft: dict[str, Any]) -> Reply:
        return cls("json", draft)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class ModelStandIn:
    """Start with ``with ModelStandIn() as server:``; ``server.url`` is its base URL."""

    def __init__(self, script: list[Reply] | None = None, hang_s: float = 60.0) -> None:
        self.script: list[Reply] = list(script or [])
        self.hang_s = hang_s  # how long a ``hang`` reply holds its request at most
        self.seen: list[Seen] = []
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def answer(self, *replies: Reply) -> None:
        """Replace the script: the next requests get ``replies`` in order (the last repeats)."""
        with self._lock:
            self.script = list(replies)

    def release(self) -> None:
        """Let every held (``hang``) request go."""
        self._released.set()

    def __enter__(self) -> ModelStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if not self.script:
                raise AssertionError("the stand-in was called with nothing to answer")
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without this, Nagle's algorithm
            # and the client's delayed ACK hold the body back ~40 ms on every answer.
            disable_nagle_algorithm = True

            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = stand_in._next(seen)
                gemini = ":generateContent" in self.path
                if not gemini and not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "no such route"}})
                    return
                if reply.kind == "hang":
                    stand_in._released.wait(stand_in.hang_s)
                    self._send(504, {"error": {"message": "released"}})
                    return
                if reply.kind == "status":
                    self._send(reply.value, _error(gemini, reply.value))
                    return
                if reply.kind == "refuse":
                    self._send(200, _refusal(gemini, body))
                    return
                text = json.dumps(reply.value) if reply.kind == "json" else str(reply.value)
                self._send(200, _answer(gemini, body, text))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    if status == 429:
                        self.send_header("retry-after", "1")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing to answer

        return Handler


def _error(gemini: bool, status: int) -> dict[str, Any]:
    if gemini:
        return {
            "error": {
                "code": status,
                "message": "stand-in error",
                "status": GEMINI_STATUS.get(status, "UNKNOWN"),
            }
        }
    return {
        "error": {
            "message": "stand-in error",
            "type": OPENAI_ERROR.get(status, "server_error"),
            "param": None,
            "code": OPENAI_ERROR.get(status),
        }
    }


def _usage(gemini: bool) -> dict[str, int]:
    if gemini:
        return {"promptTokenCount": 120, "candidatesTokenCount": 300, "totalTokenCount": 420}
    return {"prompt_tokens": 120, "completion_tokens": 300, "total_tokens": 420}


def _answer(gemini: bool, body: dict[str, Any], text: str) -> dict[str, Any]:
    if gemini:
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": _usage(True),
            "modelVersion": "stand-in-001",
            "responseId": "stand-in",
        }
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "?"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(False),
        "system_fingerprint": "fp_standin",
    }


def _refusal(gemini: bool, body: dict[str, Any]) -> dict[str, Any]:
    if gemini:  # the prompt itself was blocked: no candidates at all
        return {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
            "usageMetadata": _usage(True),
            "modelVersion": "stand-in-001",
        }
    answer = _answer(False, body, "")
    answer["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "refusal": "I can't help with that request.",
    }
    return answer


def model_text(seen: Seen) -> tuple[str, str]:
    """(system instructions, user message) of a recorded request, for either protocol."""
    body = seen.body
    if "contents" in body:
        system = "".join(p["text"] for p in body["systemInstruction"]["parts"])
        user = "".join(p["text"] for c in body["contents"] for p in c["parts"])
        return system, user
    messages = body["messages"]
    system = "".join(m["content"] for m in messages if m["role"] == "system")
    user = "".join(m["content"] for m in messages if m["role"] == "user")
    return system, user


def response_schema(seen: Seen) -> dict[str, Any]:
    """The JSON schema a recorded request asked the answer to follow."""
    body = seen.body
    if "generationConfig" in body:
        schema: dict[str, Any] = body["generationConfig"]["responseJsonSchema"]
        return schema
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    return schema
