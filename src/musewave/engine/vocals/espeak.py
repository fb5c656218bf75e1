"""The one module that talks to libespeak-ng (from the ``espeakng-loader`` wheel, via ctypes).

espeak-ng speaks a word and reports each phoneme it spoke (with IPA names, when initialised
with ``espeakINITIALIZE_PHONEME_IPA``) and the sample where it starts. That gives the singer
both the sound and its segmentation. The library keeps global state, so every call holds one
process-wide lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

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
# A fresh speaker's longest wait for one word (its first includes starting the interpreter).
ANSWER_TIMEOUT_S = 30.0


class EspeakError(RuntimeError):
    """libespeak-ng could not be loaded, or refused a voice or a text."""


class SpeakerFailed(EspeakError):
    """The process espeak-ng speaks in (:class:`FreshSpeaker`) could not start, or died: a
    fault of this machine, not of the words asked for."""


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


# A fresh interpreter's speaking loop: one JSON request per line on stdin ([text, voice, rate]);
# for each, a JSON header line on stdout ({"n": samples, "phones": [[ipa, start, end], ...]} or
# {"error": why}), then the audio as n float32 samples.
_FRESH_SPEAKER = """
import json, sys
from musewave.engine.vocals.espeak import EspeakError, speak
out = sys.stdout.buffer
for line in sys.stdin:
    text, voice, rate = json.loads(line)
    try:
        said = speak(text, voice, rate)
    except EspeakError as error:
        out.write(json.dumps({"error": str(error)}).encode() + b"\\n")
    else:
        phones = [[p.ipa, p.start, p.end] for p in said.phones]
        out.write(json.dumps({"n": said.audio.size, "phones": phones}).encode() + b"\\n")
        out.write(said.audio.tobytes())
    out.flush()
"""


class FreshSpeaker:
    """espeak-ng in a child process started for this object: a context manager whose
    :meth:`speak` is :func:`speak`'s, from a fresh library state.

    espeak-ng carries state from one utterance into the next (the same word spoken twice in
    one process differs by a few samples, and no reset or random seed restores it), so words
    spoken in a long-lived worker would depend on what it said before. A fresh process that
    is asked the same words in the same order gives the same samples in every process: a
    render that speaks through its own ``FreshSpeaker`` is bit-identical wherever it runs.
    Each text is spoken once per speaker. Raises ``SpeakerFailed`` when the child cannot
    start, dies, or does not answer within :data:`ANSWER_TIMEOUT_S`; ``EspeakError`` for a
    voice or text espeak-ng refuses.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._received = bytearray()  # read from the child, not yet taken
        self._said: dict[tuple[str, str, int], Utterance] = {}

    def __enter__(self) -> FreshSpeaker:
        package_root = str(Path(__file__).resolve().parents[3])  # the folder holding musewave/
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        self._errors = tempfile.TemporaryFile()  # a pipe could fill up and stall the child
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-c", _FRESH_SPEAKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                bufsize=0,  # raw pipes: what select() says is ready is all there is
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as error:
            self._errors.close()
            raise SpeakerFailed(f"cannot start a process to speak in: {error}") from error
        return self

    def __exit__(self, failed: type[BaseException] | None, *exc: object) -> None:
        child, self._child = self._child, None
        if child is not None:
            assert child.stdin is not None and child.stdout is not None
            if failed is not None:
                child.kill()  # it may be stuck mid-answer; nothing it says is needed now
            with contextlib.suppress(OSError):
                child.stdin.close()  # the child's loop ends
            try:
                child.wait(timeout=ANSWER_TIMEOUT_S)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged library
                child.kill()
                child.wait()
            child.stdout.close()
        if self._errors is not None:
            self._errors.close()
            self._errors = None

    def speak(self, text: str, voice: str, rate_wpm: int = 150) -> Utterance:
        """The audio (float32, mono, ``SAMPLE_RATE`` Hz, read-only) and phonemes of ``text``."""
        said = self._said.get((text, voice, rate_wpm))
        if said is None:
            said = self._said[text, voice, rate_wpm] = self._ask(text, voice, rate_wpm)
        return said

    def _ask(self, text: str, voice: str, rate_wpm: int) -> Utterance:
        child = self._child
        if child is None:
            raise RuntimeError("FreshSpeaker is used outside its with-block")
        assert child.stdin is not None
        try:
            child.stdin.write(json.dumps([text, voice, rate_wpm]).encode() + b"\n")
            child.stdin.flush()
        except OSError:
            raise SpeakerFailed(f"espeak-ng's process has ended: {self._last_error()}") from None
        header = self._take(None)
        try:
            answer = json.loads(header)
            if "error" in answer:
                raise EspeakError(str(answer["error"]))
            size = int(answer["n"]) * 4
            phones = tuple(Phone(str(ipa), int(a), int(b)) for ipa, a, b in answer["phones"])
        except (ValueError, TypeError, KeyError):
            raise SpeakerFailed(f"espeak-ng's process answered {header[:80]!r}") from None
        audio = np.frombuffer(self._take(size), dtype=np.float32)
        return Utterance(audio, phones)  # frombuffer over bytes: read-only already

    def _take(self, size: int | None) -> bytes:
        """The child's next line (``size`` None; without its newline) or next ``size`` bytes,
        waiting at most :data:`ANSWER_TIMEOUT_S` for them."""
        assert self._child is not None and self._child.stdout is not None
        pipe = self._child.stdout.fileno()
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            end = self._received.find(b"\n") if size is None else size
            if 0 <= end <= len(self._received):
                taken = bytes(self._received[:end])
                del self._received[: end + 1 if size is None else end]  # and the newline
                return taken
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([pipe], [], [], remaining)[0]:
                raise SpeakerFailed(f"espeak-ng did not answer within {ANSWER_TIMEOUT_S:.0f} s")
            chunk = os.read(pipe, 1 << 16)
            if not chunk:
                raise SpeakerFailed(f"espeak-ng's process ended: {self._last_error()}")
            self._received += chunk

    def _last_error(self) -> str:
        """The child's last line on stderr (why it died), once it has ended."""
        if self._child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(timeout=5)
        if self._errors is None:
            return "no error output"
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no error output"


@lru_cache(maxsize=8)
def speak_fresh(
    words: tuple[tuple[str, str], ...], rate_wpm: int
) -> tuple[npt.NDArray[np.float32], ...]:
    """The audio of each ``(text, voice)`` in ``words``, spoken in this order by a
    :class:`FreshSpeaker` (float32, mono, ``SAMPLE_RATE`` Hz): the same samples in every
    process. Cached per process; raises ``EspeakError`` when they cannot be spoken."""
    with FreshSpeaker() as speaker:
        return tuple(speaker.speak(text, voice, rate_wpm).audio for text, voice in words)
