"""The webhook URL: the regex in the OpenAPI document and the validator are one rule, so a URL
the document allows is never refused (schemathesis checks this too, but only by chance)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from schemathesis.core.jsonschema.patterns import compile_ecma_pattern

from musewave.service.schemas import WEBHOOK_URL_PATTERN, GenerationBody


def body(webhook: str) -> GenerationBody:
    return GenerationBody(prompt="hooked", webhook=webhook)


# The pattern as the document's readers (ECMA-262 regexes) take it, per schemathesis.
ECMA_READING = compile_ecma_pattern(WEBHOOK_URL_PATTERN)


def test_the_pattern_reads_the_same_in_python_and_in_the_document() -> None:
    # Class escapes such as \s, \S, \d or \w mean different characters in the two dialects.
    assert not re.search(r"\\[sSdDwWbB]", WEBHOOK_URL_PATTERN)
    assert ECMA_READING is not None


@settings(max_examples=400, deadline=None)
@given(st.from_regex(WEBHOOK_URL_PATTERN) | st.from_regex(ECMA_READING or WEBHOOK_URL_PATTERN))
def test_every_url_the_document_allows_is_taken_parsed_and_sendable(url: str) -> None:
    url = url.strip()  # the model strips surrounding whitespace
    assert body(url).webhook == url
    parts = urlsplit(url)  # what the dispatcher does with it; raises for a bad IPv6 literal
    assert parts.scheme in {"http", "https"} and parts.hostname
    assert parts.username is None and parts.password is None
    assert parts.port is None or 0 <= parts.port <= 65535
    # The request line an HTTP/1.1 client sends: h11 refuses a target it may not carry.
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    h11.Request(method="POST", target=target, headers=[("Host", parts.netloc)])


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:8080/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://[2001:db8::7]",
        "HTTPS://Example.COM:443/a/b?c=d#e",
        "https://xn--mnchen-3ya.de/hook",
        "http://10.0.0.7:65535",
    ],
)
def test_usual_urls_are_taken(url: str) -> None:
    assert body(url).webhook == url.strip()  # the model strips surrounding whitespace
    assert re.search(WEBHOOK_URL_PATTERN, url)


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://\u023e\u0091\U0004c8dd\u009b\u009d]\u00ab\u00d7/\u00b6",  # schemathesis found it
        "http://[oops]/",
        "http://[::1/",
        "http://[1.2.3.4]/",
        "http://host:65536/",
        "http://host:/",
        "https://user:pw@example.com/",
        "https://user@example.com/",
        "http://m\u00fcnchen.de/",
        "http://\uff20evil.example/",  # a full-width @ that NFKC turns into a real one
        "ftp://example.com/",
        "http:///path",
        "http://",
        "http://a.example/x\x1cy",  # \S in Python, but not in the document's dialect
        "http://a.example/x\x85y",
        "https://a.example/caf\u00e9",  # non-ASCII: percent-encode it
        "https://a.example/a b",
    ],
)
def test_urls_outside_the_rule_are_refused_in_words(url: str) -> None:
    assert not re.search(WEBHOOK_URL_PATTERN, url)
    with pytest.raises(ValidationError) as refused:
        body(url)
    (error,) = refused.value.errors()
    assert error["loc"] == ("webhook",)
    assert "must be an http(s) URL" in error["msg"] and "[" not in error["msg"]
