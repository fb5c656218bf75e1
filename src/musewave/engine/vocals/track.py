"""The vocals stage: lyrics (given or written) → syllables → melody → sung audio and timings."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from musewave.engine.compose.timeline import chord_timeline, section_ticks
from musewave.engine.errors import Cancelled
from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.vocals.espeak import FreshSpeaker, Utterance, speak
from musewave.engine.vocals.languages import DEFAULT_LANGUAGE, LANGUAGES
from musewave.engine.vocals.lyrics import (
    LyricBlock,
    LyricsError,
    parse_lyrics,
    place_blocks,
)
from musewave.engine.vocals.melody import (
    VocalNote,
    comfortable_beats,
    compose_line,
    line_windows,
    melody_rng,
    section_center,
)
from musewave.engine.vocals.singer import SungLine, SungSyllable, SungWord, sing
from musewave.engine.vocals.syllables import Syllable, syllabify
from musewave.engine.vocals.voices import DEFAULT_VOICE, VOICES, VoicePreset
from musewave.engine.vocals.writer import lyrics_text, write_lyrics


@dataclass(frozen=True, slots=True)
class LyricNote:
    """A melody note with the syllable text it starts (empty for a melisma's later notes)."""

    note: VocalNote
    lyric: str


@dataclass(slots=True)
class VocalTrack:
    """The sung vocal: stereo float32 audio (2, n), the lines as sung, the melody with its
    syllables (for MIDI), the lyrics text that was sung and the language of each block."""

    audio: npt.NDArray[np.float32]
    lines: list[TimedLine]
    melody: list[LyricNote]
    lyrics: str
    written: bool  # True when the lyric writer wrote the lyrics


Speak = Callable[[str, str], Utterance]  # (text, espeak voice) -> what espeak-ng said


def _voice_name(language: str, preset: VoicePreset) -> str:
    return LANGUAGES[language].espeak_voice + preset.variant


def count_syllables(text: str, language: str, *, speak: Speak = speak) -> int:
    """Syllables of ``text`` as the singer pronounces it, word by word."""
    voice = LANGUAGES[language].espeak_voice
    return sum(max(1, len(syllabify(speak(word, voice).phones))) for word in text.split())


def _check_readable(block: LyricBlock, language: str) -> None:
    lang = LANGUAGES[language]
    if lang.unreadable is None:
        return
    for line in block.lines:
        for word in line.words:
            if lang.unreadable.search(word):
                raise LyricsError(lang.unreadable_hint)


def render_vocals(
    plan: Plan,
    *,
    lyrics: str | None,
    languages: list[str],
    voice: str | None,
    sample_rate: int,
    n_samples: int,
    should_cancel: Callable[[], bool] = lambda: False,
) -> VocalTrack:
    """Sing ``lyrics`` (or lyrics the writer makes, when None) over the plan.

    Raises ``LyricsError`` or ``melody.MelodyError`` (both ``ValueError``) for lyrics that
    cannot be sung: unreadable script, too many blocks or too dense for their sections;
    ``EspeakError`` when espeak-ng cannot speak; and ``Cancelled`` when ``should_cancel()``
    turns true (checked per block and per line).
    """
    preset = VOICES[voice or DEFAULT_VOICE]
    rng = np.random.default_rng([plan.seed, zlib.crc32(b"vocals")])
    # Every word is spoken by an espeak-ng of this render's own, started fresh: what a
    # long-lived worker said before must not change a sample of this track. It ends before
    # the (long) vocoding.
    with FreshSpeaker() as speaker:
        song = _song(speaker.speak, plan, preset, rng, lyrics, languages, should_cancel)
    audio, lines = sing(
        song.lines,
        preset,
        seconds_per_tick=60.0 / (plan.bpm * TICKS_PER_BEAT),
        n_samples=n_samples,
        sample_rate=sample_rate,
        rng=rng,
        should_cancel=should_cancel,
    )
    return VocalTrack(audio, lines, song.melody, song.lyrics, song.written)


@dataclass(frozen=True, slots=True)
class _Song:
    """What is to be sung: the lines with their spoken words and notes, the melody with its
    syllables, the lyrics text and whether the writer wrote it."""

    lines: list[SungLine]
    melody: list[LyricNote]
    lyrics: str
    written: bool


def _song(
    speak: Speak,
    plan: Plan,
    preset: VoicePreset,
    rng: np.random.Generator,
    lyrics: str | None,
    languages: list[str],
    should_cancel: Callable[[], bool],
) -> _Song:
    """The words to sing, spoken by ``speak``, on their melody (raises as render_vocals)."""
    langs = languages or [DEFAULT_LANGUAGE]
    if lyrics and lyrics.strip():
        blocks, written = parse_lyrics(lyrics), False
    else:
        counter = partial(count_syllables, speak=speak)
        blocks, written = write_lyrics(plan, langs, counter, rng), True
    placed = place_blocks(blocks, plan)
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    voice_range = (preset.low, preset.high)
    sung: list[SungLine] = []
    melody: list[LyricNote] = []
    for number, placement in enumerate(placed):
        language = placement.block.language or langs[0]
        _check_readable(placement.block, language)
        espeak_voice = _voice_name(language, preset)
        section = plan.sections[placement.section_index]
        words_per_line = []
        for line in placement.block.lines:
            words = []
            for written_word, spoken in zip(line.words, line.spoken, strict=True):
                utterance = speak(spoken, espeak_voice)
                syllables = syllabify(utterance.phones)
                if not syllables:
                    raise LyricsError(f"cannot pronounce {spoken!r} in {LANGUAGES[language].name}")
                words.append((written_word, utterance, syllables))
            words_per_line.append(words)
        counts = [sum(len(s) for _, _, s in words) for words in words_per_line]
        following = placed[number + 1].section_index if number + 1 < len(placed) else None
        span = _block_span(plan, placement.section_index, following, counts)
        windows = line_windows(plan, span, counts)
        center = section_center(plan, placement.section_index, voice_range)
        for line_number, (words, window) in enumerate(zip(words_per_line, windows, strict=True)):
            stresses = [syl.stress for _, _, syls in words for syl in syls]
            notes = compose_line(
                plan,
                key,
                spans,
                window,
                stresses,
                voice_range,
                center=center,
                block_end=line_number == len(windows) - 1,
                rng=melody_rng(plan, section.kind, line_number),
            )
            position = 0
            sung_words = []
            for text, utterance, syllables in words:
                sung_syllables = []
                for syllable in syllables:
                    sung_syllables.append(SungSyllable(syllable, notes[position]))
                    first, *rest = notes[position]
                    melody.append(LyricNote(first, _syllable_text(text, syllable, syllables)))
                    melody.extend(LyricNote(note, "") for note in rest)
                    position += 1
                sung_words.append(SungWord(text, utterance, tuple(sung_syllables)))
            sung.append(SungLine(tuple(sung_words), section.label))
        if should_cancel():
            raise Cancelled("cancelled during vocals")
    return _Song(sung, melody, lyrics_text(blocks) if written else lyrics or "", written)


def _block_span(
    plan: Plan, first: int, following: int | None, counts: list[int]
) -> tuple[int, int]:
    """Ticks a block is sung over: its section, and the free sections after it (up to the next
    block's) while the lines need more room to be sung unhurried."""
    needed = comfortable_beats(plan, counts)
    last = first
    limit = len(plan.sections) if following is None else following
    while sum(plan.sections[i].beats for i in range(first, last + 1)) < needed and last + 1 < limit:
        last += 1
    start, end = section_ticks(plan.sections[first])[0], section_ticks(plan.sections[last])[1]
    # A song that opens singing still needs a beat for the first consonants and a breath.
    return (max(start, TICKS_PER_BEAT), end) if end - start > 2 * TICKS_PER_BEAT else (start, end)


def _syllable_text(word: str, syllable: Syllable, syllables: tuple[Syllable, ...]) -> str:
    """The word on its first syllable, "-" continuations after (MIDI lyric convention)."""
    return word if syllable is syllables[0] else "-"
