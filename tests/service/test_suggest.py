"""``/v1/suggest/*`` and ``/v1/prompt/enhance``: one contract with and without a language model
(a loopback stand-in speaking OpenAI's or Gemini's protocol), rate-limited, and the person's
words kept out of the logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from musewave.config import Settings
from musewave.engine.genres import GENRES
from musewave.engine.prompt import INSTRUMENT_WORDS
from musewave.planning.catalog import LANGUAGES
from musewave.planning.suggestions import SUGGEST_KINDS, EnhancedPrompt, SuggestionList
from musewave.service.app import create_app
from tests.conftest import LogLines
from tests.planning.standins import ModelStandIn, Reply, model_text

VOCABULARY = {
    "genres": set(GENRES),
    "instruments": set(INSTRUMENT_WORDS),
    "languages": set(LANGUAGES),
}
QUESTIONS: list[dict[str, Any]] = [
    {"q": "rainy night jazz"},
    {"q": "p", "limit": 3},
    {"genre": "lofi"},
    {"q": "reggaeton party", "genre": "Drum and Bass", "limit": 20},
    {},
]


@pytest.fixture
def stand_in() -> Iterator[ModelStandIn]:
    with ModelStandIn() as server:
        yield server


def client_for(tmp_path: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **settings), start_workers=False))


@pytest.fixture
def rules(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path / "rules") as client:
        yield client


def llm_client(tmp_path: Path, stand_in: ModelStandIn, provider: str) -> TestClient:
    if provider == "gemini":
        llm = {"llm_provider": "gemini", "llm_api_key": "k", "llm_base_url": stand_in.url}
    else:
        llm = {
            "llm_provider": "openai-compatible",
            "llm_model": "local-model",
            "llm_base_url": stand_in.openai_url,
        }
    return client_for(tmp_path / "llm", breaker_llm_timeout_s=2.0, **llm)


@pytest.fixture(params=["openai-compatible", "gemini"])
def with_llm(
    tmp_path: Path, stand_in: ModelStandIn, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    """An app asking the stand-in, as each provider."""
    with llm_client(tmp_path, stand_in, request.param) as client:
        yield client


@pytest.fixture
def with_local_llm(tmp_path: Path, stand_in: ModelStandIn) -> Iterator[TestClient]:
    """An app asking the stand-in as an OpenAI-compatible server (for behaviour that does
    not depend on the protocol)."""
    with llm_client(tmp_path, stand_in, "openai-compatible") as client:
        yield client


def shape(value: Any) -> Any:
    """The JSON's structure without its values: keys and types, lists by their items'."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return sorted({repr(shape(item)) for item in value})
    return type(value).__name__


def test_suggestions_have_one_contract_with_and_without_a_model(
    rules: TestClient, with_llm: TestClient, stand_in: ModelStandIn
) -> None:
    # The model answers within our vocabulary, plus a stray value that must be dropped.
    stand_in.answer(
        Reply.plan({"items": ["jazz", "piano", "es", "Nujabes", "not-a-thing", "<script>"]})
    )
    for kind in SUGGEST_KINDS:
        for params in QUESTIONS:
            plain = rules.get(f"/v1/suggest/{kind}", params=params)
            assisted = with_llm.get(f"/v1/suggest/{kind}", params=params)
            assert plain.status_code == assisted.status_code == 200, assisted.text
            a, b = plain.json(), assisted.json()
            assert shape(a) == shape(b), (kind, params)
            assert set(a) == set(b) == {"kind", "items", "source"}
            SuggestionList.model_validate(b)
            limit = params.get("limit", 8)
            assert 0 < len(b["items"]) <= limit and len(a["items"]) <= limit
            assert a["source"] == "rules"
            asked = bool(params.get("q") or params.get("genre"))
            assert b["source"].startswith("llm:") == asked
            if kind in VOCABULARY:
                assert {item["value"] for item in b["items"]} <= VOCABULARY[kind]
            assert "<script>" not in assisted.text
    assert stand_in.seen  # the model was asked
    system, user = model_text(stand_in.seen[0])
    assert "rainy night jazz" in user and "rainy night jazz" not in system


def test_the_models_favourites_come_first_and_the_rules_top_up(
    with_local_llm: TestClient, stand_in: ModelStandIn
) -> None:
    stand_in.answer(Reply.plan({"items": ["ambient", "piano"]}))
    items = with_local_llm.get("/v1/suggest/genres", params={"q": "calm", "limit": 5}).json()[
        "items"
    ]
    assert [item["value"] for item in items[:2]] == ["ambient", "piano"]
    assert len(items) == 5 and len({item["value"] for item in items}) == 5


@pytest.mark.parametrize(
    "reply", [Reply("status", 500), Reply("text", "{oops"), Reply.plan({"items": "jazz"})]
)
def test_a_failing_model_gives_the_rules_answer(
    rules: TestClient, with_local_llm: TestClient, stand_in: ModelStandIn, reply: Reply
) -> None:
    stand_in.answer(reply)
    for kind in SUGGEST_KINDS:
        params = {"q": "sunny beach", "limit": 4}
        plain = rules.get(f"/v1/suggest/{kind}", params=params).json()
        assert with_local_llm.get(f"/v1/suggest/{kind}", params=params).json() == plain


@pytest.mark.parametrize(
    "reply", [Reply("refuse"), Reply("status", 400), Reply("text", "{oops")], ids=str
)
def test_answers_a_persons_words_can_cause_do_not_open_the_shared_breaker(
    with_local_llm: TestClient, stand_in: ModelStandIn, reply: Reply
) -> None:
    stand_in.answer(reply)
    for n in range(5):  # more than the breaker's 3 failures
        assert with_local_llm.get("/v1/suggest/genres", params={"q": f"try {n}"}).is_success
    stand_in.answer(Reply.plan({"items": ["ambient"]}))
    answer = with_local_llm.get("/v1/suggest/genres", params={"q": "calm"}).json()
    assert answer["source"].startswith("llm:")  # still asked: the breaker stayed closed
    assert len(stand_in.seen) == 6


def test_enhance_has_one_contract_with_and_without_a_model(
    rules: TestClient, with_llm: TestClient, stand_in: ModelStandIn
) -> None:
    better = "melancholic lo-fi hip-hop at 78 BPM in F minor with rhodes and upright bass"
    stand_in.answer(Reply.plan({"prompt": better}))
    body = {"prompt": "rainy   night walk", "genres": ["lofi"]}
    plain = rules.post("/v1/prompt/enhance", json=body)
    assisted = with_llm.post("/v1/prompt/enhance", json=body)
    assert plain.status_code == assisted.status_code == 200
    a, b = plain.json(), assisted.json()
    assert set(a) == set(b) and set(a["hints"]) == set(b["hints"])
    EnhancedPrompt.model_validate(a)  # both are what the document says
    EnhancedPrompt.model_validate(b)
    assert a["original"] == b["original"] == "rainy night walk"
    assert a["source"] == "rules" and b["source"].startswith("llm:")
    assert a["prompt"].startswith("rainy night walk, lo-fi hip-hop")
    assert a["hints"]["genre"] == "lofi" and a["hints"]["bpm"] is not None
    assert b["prompt"] == better
    assert b["hints"] == {
        "genre": "lofi",
        "bpm": 78.0,
        "key": "F minor",
        "moods": ["melancholic"],
        "instruments": {"chords": "electric_piano", "bass": "upright_bass"},
    }


def test_enhance_refuses_what_is_not_a_prompt(rules: TestClient) -> None:
    for body in ({"prompt": "   "}, {"prompt": "x" * 501}, {"prompt": 5}, {"text": "hi"}):
        response = rules.post("/v1/prompt/enhance", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"


def test_suggestions_are_rate_limited_per_caller(tmp_path: Path) -> None:
    with client_for(tmp_path, rate_suggestions="3/minute") as client:
        answers = [client.get("/v1/suggest/genres") for _ in range(3)]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        refused = client.post("/v1/prompt/enhance", json={"prompt": "one more"})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["status"] == 429


def test_the_persons_words_stay_out_of_the_logs(
    with_local_llm: TestClient, stand_in: ModelStandIn, log_lines: LogLines
) -> None:
    stand_in.answer(Reply("status", 500))
    secret = "wombat-lullaby-4242"
    with_local_llm.get("/v1/suggest/artists", params={"q": secret})
    with_local_llm.post("/v1/prompt/enhance", json={"prompt": f"a {secret} song"})
    text = log_lines.stream.getvalue()
    assert log_lines.where(event="suggestion fell back to rules")
    assert secret not in text
