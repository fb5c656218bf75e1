"""Multi-track MIDI export of a score, and the reader that proves it round-trips."""

from __future__ import annotations

from pathlib import Path

import mido

from musewave.engine.score import TICKS_PER_BEAT, Note, Part, Score

DRUM_CHANNEL = 9


def score_to_midi(
    score: Score, lyrics: dict[str, list[tuple[int, str]]] | None = None
) -> mido.MidiFile:
    """A type-1 MIDI file: a tempo track, then one track per part (drums on channel 10).

    ``lyrics`` maps a part name to (tick, syllable) lyric meta-events for its track (text
    stored as UTF-8 bytes, which karaoke players read)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(score.bpm), time=0))
    conductor.append(
        mido.MetaMessage("time_signature", numerator=score.beats_per_bar, denominator=4, time=0)
    )
    conductor.append(mido.MetaMessage("end_of_track", time=score.total_ticks))
    midi.tracks.append(conductor)
    tonal_channels = [c for c in range(16) if c != DRUM_CHANNEL]
    for index, part in enumerate(score.parts):
        channel = DRUM_CHANNEL if part.is_drums else tonal_channels[index % len(tonal_channels)]
        midi.tracks.append(_part_track(part, channel, (lyrics or {}).get(part.name, [])))
    return midi


def _part_track(part: Part, channel: int, lyrics: list[tuple[int, str]]) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=part.name, time=0))
    track.append(mido.Message("program_change", channel=channel, program=part.midi_program, time=0))
    # (tick, order, message): note-offs, then lyrics, then note-ons at the same tick.
    events: list[tuple[int, int, mido.Message]] = []
    for note in part.notes:
        on = mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)
        off = mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)
        events.append((note.start_tick, 2, on))
        events.append((note.end_tick, 0, off))
    for tick, text in lyrics:
        # mido writes meta text as Latin-1: pass the UTF-8 bytes through unchanged.
        raw = text.encode("utf-8").decode("latin-1")
        events.append((tick, 1, mido.MetaMessage("lyrics", text=raw)))
    events.sort(key=lambda e: (e[0], e[1], getattr(e[2], "note", -1)))
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_midi(
    score: Score, path: Path, lyrics: dict[str, list[tuple[int, str]]] | None = None
) -> Path:
    score_to_midi(score, lyrics).save(str(path))
    return path


def read_midi_notes(path: Path) -> dict[str, list[Note]]:
    """Notes per track name, sorted like the composer sorts them."""
    midi = mido.MidiFile(str(path))
    parts: dict[str, list[Note]] = {}
    for track in midi.tracks[1:]:
        name, now = "", 0
        open_notes: dict[int, tuple[int, int]] = {}
        notes: list[Note] = []
        for message in track:
            now += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "note_on" and message.velocity > 0:
                open_notes[message.note] = (now, message.velocity)
            elif message.type in ("note_off", "note_on") and message.note in open_notes:
                start, velocity = open_notes.pop(message.note)
                notes.append(Note(message.note, start, now - start, velocity))
        parts[name] = sorted(notes, key=lambda n: (n.start_tick, n.pitch, n.duration_ticks))
    return parts
