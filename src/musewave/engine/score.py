"""The score: notes per part, in integer MIDI ticks so MIDI export round-trips exactly."""

from __future__ import annotations

from dataclasses import dataclass, field

TICKS_PER_BEAT = 480

# The stems a mix is split into, in the order they are listed to users.
STEM_NAMES = ("drums", "bass", "chords", "pads", "lead", "vocals")


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``start_tick``/``duration_ticks`` are in MIDI ticks (``TICKS_PER_BEAT`` per beat).

    For drum parts ``pitch`` is a General-MIDI percussion key (36 kick, 38 snare, ...).
    """

    pitch: int
    start_tick: int
    duration_ticks: int
    velocity: int

    @property
    def end_tick(self) -> int:
        return self.start_tick + self.duration_ticks


@dataclass(slots=True)
class Part:
    """A single instrument line.

    ``stem`` is the stem this part is mixed into (one of ``STEM_NAMES``); ``voice`` names the
    renderer voice (see ``musewave.engine.render.VOICES``); ``midi_program`` is the General-MIDI
    program used in the exported MIDI file.
    """

    name: str
    stem: str
    voice: str
    midi_program: int
    is_drums: bool = False
    notes: list[Note] = field(default_factory=list)


@dataclass(slots=True)
class Score:
    """Everything the renderer needs: tempo, length and the parts."""

    bpm: float
    beats_per_bar: int
    total_ticks: int
    parts: list[Part]

    def seconds_per_tick(self) -> float:
        return 60.0 / (self.bpm * TICKS_PER_BEAT)

    def tick_to_seconds(self, tick: int) -> float:
        return tick * self.seconds_per_tick()

    @property
    def duration_s(self) -> float:
        return self.tick_to_seconds(self.total_ticks)

    def stems(self) -> list[str]:
        """Stem names used by at least one part with notes, in ``STEM_NAMES`` order."""
        used = {part.stem for part in self.parts if part.notes}
        return [name for name in STEM_NAMES if name in used]
