"""Security headers on every HTTP response, and the content security policy of a page.

Every response says: do not sniff a type (``X-Content-Type-Options``), send no referrer
(``Referrer-Policy``), never frame me (``X-Frame-Options`` and CSP ``frame-ancestors``). A
response that is not a page (JSON, audio, files) gets the strictest policy, ``default-src
'none'``, so a file opened in a browser cannot run anything; a page (the API docs, later the
studio) sets its own with :func:`page_security_policy`, which this middleware keeps.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP = b"content-security-policy"
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_security_policy(html: str) -> str:
    """The policy for a page served by this app: its own files, and only the inline scripts
    it holds (by hash). Styles may be inline (Swagger UI and ReDoc set them at run time), and
    ReDoc renders in a worker made from a blob."""
    hashes = " ".join(
        "'sha256-{}'".format(
            base64.b64encode(hashlib.sha256(script.encode()).digest()).decode("ascii")
        )
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


class SecurityHeaders:
    """Pure ASGI: adds the headers to each HTTP response's start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.extend(_HEADERS)
                if not any(name.lower() == _CSP for name, _ in headers):
                    headers.append((_CSP, DEFAULT_POLICY.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
