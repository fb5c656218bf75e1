"""The webhook URL: the regex in the OpenAPI document and the validator are one rule, so a URL
the document allows is never refused (schemathesis checks this too, but only by chance)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from musewave.service.schemas import WEBHOOK_URL_PATTERN, GenerationBody


def body(webhook: str) -> GenerationBody:
    return GenerationBody(prompt="hooked", webhook=webhook)


@settings(max_examples=400, deadline=None)
@given(st.from_regex(WEBHOOK_URL_PATTERN))
def test_every_url_the_document_allows_is_taken_and_parses(url: str) -> None:
    assert body(url).webhook == url.strip()  # the model strips surrounding whitespace
    parts = urlsplit(url)  # what the dispatcher does with it; raises for a bad IPv6 literal
    assert parts.scheme in {"http", "https"} and parts.hostname
    assert parts.username is None and parts.password is None
    assert parts.port is None or 0 <= parts.port <= 65535


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
    ],
)
def test_urls_outside_the_rule_are_refused_in_words(url: str) -> None:
    assert not re.search(WEBHOOK_URL_PATTERN, url)
    with pytest.raises(ValidationError) as refused:
        body(url)
    (error,) = refused.value.errors()
    assert error["loc"] == ("webhook",)
    assert "must be an http(s) URL" in error["msg"] and "[" not in error["msg"]
