"""The one module that talks to libespeak-ng (from the ``espeakng-loader`` wheel, via ctypes).

espeak-ng speaks a word and reports each phoneme it spoke (with IPA names, when initialised
with ``espeakINITIALIZE_PHONEME_IPA``) and the sample where it starts. That gives the singer
both the sound and its segmentation. The library keeps global state, so every call holds one
process-wide lock.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import espeakng_loader
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 22_050  # what libespeak-ng synthesises at
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of exiting the process
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_EVENT_END = 5
_RATE_WPM = 1  # espeak_SetParameter: espeakRATE
_LOCK = threading.Lock()


class EspeakError(RuntimeError):
    """libespeak-ng could not be loaded, or refused a voice or a text."""


class _EventId(ctypes.Union):
    _fields_ = (
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    )


class _Event(ctypes.Structure):
    # espeak_EVENT from speak_lib.h
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True, slots=True)
class Phone:
    """One spoken phoneme: its IPA name (stress marks included) and its span in samples."""

    ipa: str
    start: int
    end: int


@dataclass(frozen=True, slots=True, eq=False)
class Utterance:
    """A spoken text: float32 mono audio at ``SAMPLE_RATE`` (read-only) and its phonemes in
    order. Compared and hashed by identity (``speak`` returns one object per text)."""

    audio: npt.NDArray[np.float32]
    phones: tuple[Phone, ...]


class _Engine:
    """The loaded library with its callback; use only under ``_LOCK``."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as error:  # pragma: no cover - the wheel ships the library
            raise EspeakError(f"cannot load libespeak-ng: {error}") from error
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        lib.espeak_Synth.restype = ctypes.c_int
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), options
        )
        if rate != SAMPLE_RATE:  # pragma: no cover - a broken install
            raise EspeakError(f"libespeak-ng did not initialise (returned {rate})")
        self._lib = lib
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._marks: list[tuple[str, int]] = []
        self._callback = _Callback(self._on_audio)  # kept alive as long as the engine
        lib.espeak_SetSynthCallback(self._callback)
        self._voice = b""

    def _on_audio(self, wav: Any, n_samples: int, events: Any) -> int:
        if n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n_samples,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                name = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._marks.append((name, event.sample))
            elif event.type == _EVENT_END:
                self._marks.append(("", event.sample))
            index += 1
        return 0

    def speak(self, text: str, voice: str, rate_wpm: int) -> Utterance:
        encoded = voice.encode()
        if encoded != self._voice:
            if self._lib.espeak_SetVoiceByName(encoded) != 0:
                raise EspeakError(f"espeak-ng has no voice {voice!r}")
            self._voice = encoded
        self._lib.espeak_SetParameter(_RATE_WPM, rate_wpm, 0)
        self._chunks, self._marks = [], []
        data = text.encode("utf-8") + b"\0"
        if self._lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None) != 0:
            raise EspeakError("espeak-ng refused the text")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        audio = pcm.astype(np.float32) / np.float32(32768.0)
        audio.flags.writeable = False  # shared through the cache
        return Utterance(audio, _phones(self._marks, pcm.size))


def _phones(marks: list[tuple[str, int]], n_samples: int) -> tuple[Phone, ...]:
    """Spans from the phoneme events: each phoneme runs until the next event. Pauses (empty
    names) and language switches (``(en)``) end a phoneme but are not phonemes."""
    phones: list[Phone] = []
    for (name, start), (_, end) in zip(marks, [*marks[1:], ("", n_samples)], strict=True):
        end = min(end, n_samples)
        if name and not name.startswith("(") and end > start:
            phones.append(Phone(name, start, end))
    return tuple(phones)


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


@lru_cache(maxsize=1024)
def speak(text: str, voice: str, rate_wpm: int = 150) -> Utterance:
    """Speak ``text`` with the espeak-ng ``voice`` (e.g. ``"en-us"``, ``"cmn"``).

    Returns the audio (float32, mono, ``SAMPLE_RATE`` Hz) and its phonemes. Cached: a word
    that comes back is spoken once. Raises ``EspeakError`` for an unknown voice.
    """
    with _LOCK:
        return _engine().speak(text, voice, rate_wpm)


# Speaks the words given on stdin (JSON: [[text, voice], ...], rate) and writes their audio to
# stdout as an .npz, in a fresh interpreter.
_FRESH_SPEAKER = """
import io, json, sys
import numpy as np
from musewave.engine.vocals.espeak import speak
words, rate = json.load(sys.stdin)
out = io.BytesIO()
np.savez(out, *[speak(text, voice, rate).audio for text, voice in words])
sys.stdout.buffer.write(out.getvalue())
"""


@lru_cache(maxsize=8)
def speak_fresh(
    words: tuple[tuple[str, str], ...], rate_wpm: int
) -> tuple[npt.NDArray[np.float32], ...]:
    """The audio of each ``(text, voice)`` in ``words``, spoken in this order by a fresh
    espeak-ng in a child process (float32, mono, ``SAMPLE_RATE`` Hz).

    espeak-ng carries state from one utterance into the next (the same word spoken twice in
    one process differs by a few samples, and no reset or random seed restores it), so words
    spoken in a long-lived worker would depend on what it said before. A fresh interpreter
    that says exactly these words in this order gives the same samples in every process.
    Cached per process; raises ``EspeakError`` when the child cannot speak them.
    """
    package_root = str(Path(__file__).resolve().parents[3])  # the folder holding musewave/
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    request = json.dumps([[list(pair) for pair in words], rate_wpm]).encode()
    try:
        child = subprocess.run(
            [sys.executable, "-c", _FRESH_SPEAKER],
            input=request,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": path},
            check=False,
        )
    except OSError as error:
        raise EspeakError(f"cannot start a process to speak in: {error}") from error
    if child.returncode != 0:
        lines = child.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EspeakError(f"espeak-ng could not speak in a fresh process: {lines[-1:]}")
    with np.load(io.BytesIO(child.stdout)) as spoken:
        return tuple(spoken[f"arr_{i}"] for i in range(len(words)))
