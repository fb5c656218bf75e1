"""The API sings: lyrics and a voice in, sung audio, the instrumental and captions out."""

from __future__ import annotations

from musewave.engine.vocals.captions import parse_srt
from musewave.service.routes.generations import MAX_WAIT_S
from tests.service.support import ServerProcess, track

LYRICS = "[Verse]\nCity lights are calling me\n[Chorus]\nSing along, sing along"


def test_lyrics_and_a_voice_come_back_sung_with_captions(server: ServerProcess) -> None:
    body = track("sung by the api", lyrics=LYRICS, voice="female", vocalLanguages=["en"])
    with server.client(timeout=MAX_WAIT_S + 30) as client:
        response = client.post("/v1/generations", json=body, headers={"Prefer": "wait=120"})
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["state"] == "completed"
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
