"""espeak-ng in a child process of its own: the same words in the same order give the same
samples in every process, and a child that dies, hangs or talks nonsense is one error."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.vocals import espeak
from musewave.engine.vocals.espeak import EspeakError, FreshSpeaker, SpeakerFailed


def test_two_fresh_speakers_say_the_same_words_the_same_way() -> None:
    words = [("hold", "en-us+f4"), ("me", "en-us+f4"), ("closer", "en-us+m3"), ("dale", "es-419")]
    with FreshSpeaker() as first:
        said = [first.speak(text, voice) for text, voice in words]
        assert first.speak("hold", "en-us+f4") is said[0]  # each text spoken once
    espeak.speak("something before", "en-us")  # this process's own espeak-ng has spoken
    with FreshSpeaker() as second:
        again = [second.speak(text, voice) for text, voice in words]
    for one, other in zip(said, again, strict=True):
        assert np.array_equal(one.audio, other.audio) and one.phones == other.phones
        assert one.audio.dtype == np.float32 and not one.audio.flags.writeable
    assert all(utterance.phones for utterance in said)  # with their phonemes


def test_a_refused_voice_is_an_espeak_error_and_the_speaker_goes_on() -> None:
    with FreshSpeaker() as speaker:
        with pytest.raises(EspeakError, match="no voice") as refused:
            speaker.speak("hello", "no-such-voice")
        assert not isinstance(refused.value, SpeakerFailed)
        assert speaker.speak("hello", "en-us").audio.size > 1000


@pytest.mark.parametrize(
    ("child", "timeout_s", "why"),
    [
        ("raise SystemExit('no libespeak-ng here')", 30.0, "no libespeak-ng here"),
        (
            "import sys\nsys.stdin.readline()\nprint(1, flush=True)\nsys.stdin.read()",
            30.0,
            "answered",
        ),
        ("import time\ntime.sleep(120)", 1.0, "did not answer within"),
    ],
)
def test_a_child_that_dies_talks_nonsense_or_hangs_is_one_error(
    monkeypatch: pytest.MonkeyPatch, child: str, timeout_s: float, why: str
) -> None:
    monkeypatch.setattr(espeak, "_FRESH_SPEAKER", child)
    monkeypatch.setattr(espeak, "ANSWER_TIMEOUT_S", timeout_s)
    with pytest.raises(SpeakerFailed, match=why), FreshSpeaker() as speaker:
        speaker.speak("hello", "en-us")


def test_speaking_outside_the_with_block_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="outside its with-block"):
        FreshSpeaker().speak("hello", "en-us")
