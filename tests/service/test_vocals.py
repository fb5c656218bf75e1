"""The API sings: lyrics and a voice in, sung audio, the instrumental and captions out."""

from __future__ import annotations

from musewave.engine.vocals.captions import parse_srt
from tests.service.support import (
    ServerProcess,
    SseWatcher,
    get_job,
    stages_in_order,
    submit,
    track,
)

LYRICS = "[Verse]\nCity lights are calling me\n[Chorus]\nSing along, sing along"


def test_lyrics_and_a_voice_come_back_sung_with_captions(server: ServerProcess) -> None:
    body = track("sung by the api", lyrics=LYRICS, voice="female", vocalLanguages=["en"])
    with server.client() as client:
        submitted = submit(client, body)
        with SseWatcher(server, submitted["id"], wait_connected=False) as watcher:
            events = watcher.wait_done(timeout_s=240)
        assert events[-1]["type"] == "completed", events[-1]
        assert "vocals" in stages_in_order(events)
        job = get_job(client, submitted["id"])
        assert job["request"]["voice"] == "female" and job["request"]["instrumental"] is False
        assets = {asset["name"]: asset for asset in job["assets"]}
        assert assets["instrumental.wav"]["kind"] == "instrumental"
        assert {assets[n]["kind"] for n in ("lyrics.srt", "lyrics.lrc", "lyrics.json")} == {
            "captions"
        }
        assert assets["lyrics.txt"]["kind"] == "lyrics"
        srt = client.get(assets["lyrics.srt"]["url"])
        assert srt.status_code == 200
        cues = parse_srt(srt.text)
        assert [text for _, _, text in cues] == [
            "City lights are calling me",
            "Sing along, sing along",
        ]
        assert all(0 < start < end <= 30 for start, end, _ in cues)


def test_an_unknown_voice_or_language_is_a_422_naming_the_field(server: ServerProcess) -> None:
    with server.client() as client:
        for field, value in (("voice", "robot"), ("vocal_languages", ["klingon"])):
            response = client.post("/v1/generations", json=track("x", **{field: value}))
            assert response.status_code == 422, response.text
            assert field in str(response.json()["errors"][0]["loc"])
