"""Rendering parts and stems: render each distinct sound once, then place it per note."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import Cancelled
from ..score import STEM_NAMES, Part, Score
from ._types import Audio, Float64
from .drums import drive_and_darken
from .envelopes import fade_edges, release_curve, seconds_to_samples
from .filters import peaking
from .kits import CHOKED, CHOKERS, HIT_PAN, KITS, Kit, hit_for_key, tom_pan
from .oscillators import midi_to_hz
from .placement import (
    TARGET_PEAK,
    Ints,
    NoteArrays,
    add_at,
    add_gated,
    bucket_brightness,
    finish_sound,
    note_arrays,
    pan_gains,
    seeded_rng,
    stable_hash,
    velocity_bucket,
    velocity_gain,
)
from .soundfont import SoundFont, default_soundfont
from .voices import VOICE_TABLE, Voice

_NOTE_FADE_IN_S = 0.002
_NOTE_FADE_OUT_S = 0.005
_HIT_FADE_IN_S = 0.0003  # keeps drum transients sharp but avoids a step from silence
_HIT_FADE_OUT_S = 0.005
_CHOKE_FADE_S = 0.004
_FIXED_BUCKET = 2  # timbre used by voices whose brightness does not follow velocity


def _silence(*shape: int) -> Audio:
    """A zeroed buffer whose pages are touched now, in order. ``np.zeros`` maps pages lazily,
    and first-touch page faults scattered over many note placements cost far more."""
    buffer = np.empty(shape, dtype=np.float32)
    buffer.fill(0.0)
    return buffer


def render_part(part: Part, bpm: float, sample_rate: int, n_samples: int, seed: int) -> Audio:
    """Render one part to stereo float32 audio of shape ``(2, n_samples)``.

    Notes are placed at ``round(start_tick / TICKS_PER_BEAT * 60 / bpm * sample_rate)``;
    anything past ``n_samples`` is cut. Output depends only on the arguments (bit-identical
    across processes). Raises ``ValueError`` for an unknown voice or kit.
    """
    out = _silence(2, n_samples)
    _render_part_into(out, part, bpm, sample_rate, seed)
    return out


def stem_names(score: Score) -> list[str]:
    """The stems :func:`render_stems` returns for ``score``: those with notes, in
    ``STEM_NAMES`` order."""
    names = {part.stem for part in score.parts if part.notes}
    order = {name: i for i, name in enumerate(STEM_NAMES)}
    return sorted(names, key=lambda name: order.get(name, len(order)))


def render_stems(
    score: Score,
    sample_rate: int,
    n_samples: int,
    seed: int,
    should_cancel: Callable[[], bool] = lambda: False,
    on_stem: Callable[[str, Audio], None] | None = None,
    *,
    release: bool = False,
) -> dict[str, Audio]:
    """Render every part and sum them per ``part.stem``: ``{stem: (2, n_samples) float32}``.

    Only stems with at least one note appear, in ``STEM_NAMES`` order. ``should_cancel`` is
    polled before each part; raises :class:`~musewave.engine.errors.Cancelled` when it
    returns true. ``on_stem(name, audio)``, when given, is called as soon as a stem's last
    part is rendered (the buffer is final from then on: a mixer may take it over). With
    ``release``, a stem handed to ``on_stem`` is not kept (nor returned): the callee owns it,
    and may free it before the other stems are rendered.
    """
    stems: dict[str, Audio] = {}
    last_part = {part.stem: i for i, part in enumerate(score.parts) if part.notes}
    for i, part in enumerate(score.parts):
        if should_cancel():
            raise Cancelled("cancelled while rendering stems")
        if not part.notes:
            continue
        if part.stem not in stems:
            stems[part.stem] = _silence(2, n_samples)
        _render_part_into(stems[part.stem], part, score.bpm, sample_rate, seed)
        if on_stem is not None and last_part[part.stem] == i:
            on_stem(part.stem, stems[part.stem])
            if release:
                del stems[part.stem]
    return {name: stems[name] for name in stem_names(score) if name in stems}


def _render_part_into(out: Audio, part: Part, bpm: float, sample_rate: int, seed: int) -> None:
    notes = note_arrays(part.notes, bpm, sample_rate)
    keep = notes.start < out.shape[-1]
    notes = NoteArrays(
        notes.start[keep], notes.duration[keep], notes.pitch[keep], notes.velocity[keep]
    )
    part_key = stable_hash(part.name)
    voice_key = stable_hash(part.voice)
    if part.is_drums:
        kit = KITS.get(part.voice)
        if kit is None:
            raise ValueError(f"part {part.name!r}: unknown drum kit {part.voice!r}")
        _render_drums(out, kit, notes, sample_rate, seed, part_key, voice_key)
        return
    voice = VOICE_TABLE.get(part.voice)
    if voice is None:
        raise ValueError(f"part {part.name!r}: unknown voice {part.voice!r}")
    _render_tonal(out, voice, notes, sample_rate, seed, part_key, voice_key)


def _render_tonal(
    out: Audio, voice: Voice, notes: NoteArrays, sr: int, seed: int, *keys: int
) -> None:
    """Render one held tone per (pitch, velocity bucket, variant), long enough for the
    longest note that uses it, and gate it per note."""
    n = out.shape[-1]
    release = release_curve(seconds_to_samples(voice.release_s, sr))
    norm_window = seconds_to_samples(voice.norm_s, sr)
    cap = None if voice.max_s is None else seconds_to_samples(voice.max_s, sr)
    font = None if voice.program is None else default_soundfont()
    if font is not None and voice.program is not None and not font.has_program(voice.program):
        font = None
    variants = 1 if font is not None else voice.variants  # a sample is the same every time
    glide_from = _glide_sources(voice, notes, sr)
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    takes: dict[tuple[int, int, int], int] = {}
    for i in range(len(notes)):
        bucket = velocity_bucket(int(notes.velocity[i])) if voice.velocity_timbre else _FIXED_BUCKET
        sound = (int(notes.pitch[i]), bucket, int(glide_from[i]))
        take = takes.get(sound, 0)
        takes[sound] = take + 1
        groups.setdefault((*sound, take % variants), []).append(i)

    leads = _onset_leads(voice, notes, sr)
    for (pitch, bucket, source, variant), members in groups.items():
        needed = max(
            min(int(notes.duration[i]) + release.size, n - int(notes.start[i])) + int(leads[i])
            for i in members
        )
        length = max(needed, norm_window)
        if cap is not None:
            length = min(length, cap)
        tone = None if source >= 0 else _sampled_tone(font, voice, pitch, bucket, length, sr)
        layer = voice.synth_layer
        doubled = tone is not None and layer is not None and pitch < layer.below
        if tone is None or doubled:  # synthesized: alone, or under the sample
            rng = seeded_rng(seed, *keys, pitch, bucket, variant, source + 1)
            brightness = bucket_brightness(bucket)
            if source >= 0 and voice.gliding is not None:
                glide = _glide_hz(source, pitch, voice.glide_s, length, sr)
                synthesized = voice.gliding(glide, brightness, length, sr, rng)
            else:
                freq = min(midi_to_hz(pitch), 0.4 * sr)
                synthesized = voice.render(freq, brightness, length, sr, rng)
            if tone is not None and layer is not None:
                tone = _layered(tone, synthesized, layer.share)
            else:
                tone = synthesized
        tone = _bass_eq(tone, voice, pitch, sr)
        tone = finish_sound(
            tone,
            seconds_to_samples(_NOTE_FADE_IN_S, sr),
            seconds_to_samples(_NOTE_FADE_OUT_S, sr),
            norm_window,
            TARGET_PEAK * voice.level,
        )
        for i in members:
            gain = velocity_gain(int(notes.velocity[i]))
            lead = int(leads[i])
            # Started ``lead`` samples early so that it is heard on the beat; a note at the
            # very start skips the part of its swell that would fall before time zero.
            start = int(notes.start[i]) - lead
            skip = max(0, -start)
            # A mono tone broadcasts onto both channels (centred).
            add_gated(
                out,
                _faded_in(tone[..., skip:], sr) if skip else tone,
                start + skip,
                int(notes.duration[i]) + lead - skip,
                gain,
                release,
            )


RESTRIKE_GAP_S = 0.05


def _onset_leads(voice: Voice, notes: NoteArrays, sr: int) -> Ints:
    """Per note, how many samples before its written start it begins: the voice's
    ``onset_lead_s``, or its ``restrike_lead_s`` when larger and the note before it in the part
    has its pitch and ended at most ``RESTRIKE_GAP_S`` earlier (the string struck again while
    it rings). The rule is for a line played one note at a time, as the bass voices are."""
    leads = np.full(len(notes), seconds_to_samples(voice.onset_lead_s, sr), dtype=np.int64)
    if voice.restrike_lead_s > voice.onset_lead_s and len(notes) > 1:
        previous_end = notes.start[:-1] + notes.duration[:-1]
        restruck = (
            (notes.start[1:] - previous_end <= round(RESTRIKE_GAP_S * sr))
            & (notes.start[1:] > notes.start[:-1])
            & (notes.pitch[1:] == notes.pitch[:-1])
        )
        leads[1:][restruck] = seconds_to_samples(voice.restrike_lead_s, sr)
    return leads


def _bass_eq(tone: Audio, voice: Voice, pitch: int, sr: int) -> Audio:
    """``tone`` with the voice's boost on the note's fundamental and cut on its octave."""
    if pitch >= voice.eq_below:
        return tone
    f0 = midi_to_hz(pitch)
    if voice.fundamental_db:
        tone = peaking(tone, min(f0, 0.4 * sr), voice.fundamental_db, 0.7, sr)
    if voice.octave_cut_db:
        tone = peaking(tone, min(2.0 * f0, 0.4 * sr), -voice.octave_cut_db, 2.0, sr)
    return tone


def _layered(sampled: Audio, synthesized: Audio, share: float) -> Audio:
    """The sampled tone with the synthesized one under it, ``share`` (0-1) of the sum's peak
    from the synthesized tone, each first brought to the same peak."""
    n = min(sampled.shape[-1], synthesized.shape[-1])
    if sampled.ndim != synthesized.ndim:
        sampled, synthesized = np.atleast_2d(sampled), np.atleast_2d(synthesized)
    peaks = [float(np.max(np.abs(x))) or 1.0 for x in (sampled, synthesized)]
    return ((1.0 - share) / peaks[0]) * sampled[..., :n] + (share / peaks[1]) * synthesized[..., :n]


def _faded_in(tone: Audio, sr: int) -> Audio:
    """A copy of ``tone`` (cut into mid-attack) with the note fade-in, so it does not click."""
    return fade_edges(tone.copy(), seconds_to_samples(_NOTE_FADE_IN_S, sr), 0)


_GLIDE_GAP_S = 0.05


def _glide_sources(voice: Voice, notes: NoteArrays, sr: int) -> Ints:
    """Per note, the pitch it glides from (the previous note, when that one lasts until
    within ``_GLIDE_GAP_S`` of this start and has another pitch), else -1."""
    sources = np.full(len(notes), -1, dtype=np.int64)
    if voice.gliding is None or voice.glide_s <= 0.0 or len(notes) < 2:
        return sources
    previous_end = notes.start[:-1] + notes.duration[:-1]
    legato = (notes.start[1:] - previous_end <= round(_GLIDE_GAP_S * sr)) & (
        notes.start[1:] > notes.start[:-1]
    )
    moves = legato & (notes.pitch[1:] != notes.pitch[:-1])
    sources[1:][moves] = notes.pitch[:-1][moves]
    return sources


def _glide_hz(source: int, pitch: int, glide_s: float, n: int, sr: int) -> Float64:
    """Per-sample frequency sliding from ``source`` to ``pitch`` (MIDI) over ``glide_s``,
    fast at first and settling (a squared ramp in semitones)."""
    t = np.arange(n, dtype=np.float64) / sr
    remaining = np.clip(1.0 - t / glide_s, 0.0, 1.0) ** 2
    semitones = pitch + (source - pitch) * remaining
    return np.minimum(440.0 * 2.0 ** ((semitones - 69.0) / 12.0), 0.4 * sr)


def _sampled_tone(
    font: SoundFont | None, voice: Voice, pitch: int, bucket: int, n: int, sr: int
) -> Audio | None:
    """The note from the SoundFont, or ``None`` when the voice is synthesised (no font, or
    no sample zone covers ``pitch``)."""
    if font is None or voice.program is None or not 0 <= pitch <= 127:
        return None
    velocity = round(bucket_brightness(bucket) * 127)
    if not font.zones(voice.program, pitch, velocity):
        return None
    return font.render_note(voice.program, pitch, velocity, n, sr)


def _render_drums(out: Audio, kit: Kit, notes: NoteArrays, sr: int, seed: int, *keys: int) -> None:
    """Place one-shot hits; noise-based hits rotate through seeded variants, and an open
    hat is cut off by the next closed or pedal hat."""
    hits = [hit_for_key(int(p)) for p in notes.pitch]
    choke_starts = np.array(
        [int(s) for s, (name, _) in zip(notes.start, hits, strict=True) if name in CHOKERS],
        dtype=np.int64,
    )
    cache: dict[tuple[str, int, int, int], Audio] = {}
    takes: dict[tuple[str, int], int] = {}
    for i, (name, index) in enumerate(hits):
        recipe = kit.hits.get(name, kit.hits["perc"])
        bucket = velocity_bucket(int(notes.velocity[i]))
        take = takes.get((name, index), 0)
        takes[(name, index)] = take + 1
        key = (name, index, bucket, take % recipe.takes)
        sound = cache.get(key)
        if sound is None:
            sound = _render_hit(kit, name, index, bucket, key[3], sr, seed, keys)
            cache[key] = sound
        start = int(notes.start[i])
        if name == CHOKED:
            sound = _choke(sound, start, choke_starts, sr)
        add_at(out, sound, start, velocity_gain(int(notes.velocity[i])))


def _render_hit(
    kit: Kit,
    name: str,
    index: int,
    bucket: int,
    variant: int,
    sr: int,
    seed: int,
    keys: tuple[int, ...],
) -> Audio:
    recipe = kit.hits.get(name, kit.hits["perc"])
    rng = seeded_rng(seed, *keys, stable_hash(name), index, bucket, variant)
    mono = recipe.render(index, bucket_brightness(bucket), sr, rng)
    mono = drive_and_darken(mono, sr, kit.lowpass_hz, kit.drive)
    mono = finish_sound(
        mono,
        seconds_to_samples(_HIT_FADE_IN_S, sr),
        seconds_to_samples(_HIT_FADE_OUT_S, sr),
        mono.shape[-1],
        TARGET_PEAK * recipe.level,
    )
    pan = tom_pan(index) if name == "tom" else HIT_PAN.get(name, 0.0)
    left, right = pan_gains(pan)
    return np.stack([mono * np.float32(left), mono * np.float32(right)])


def _choke(sound: Audio, start: int, choke_starts: Ints, sr: int) -> Audio:
    """Cut ``sound`` (starting at ``start``) at the first choking hit after it, with a fade."""
    j = int(np.searchsorted(choke_starts, start, side="right"))
    if j >= choke_starts.size or choke_starts[j] - start >= sound.shape[-1]:
        return sound
    keep = int(choke_starts[j] - start)
    cut = sound[..., :keep].copy()
    fade = min(keep, seconds_to_samples(_CHOKE_FADE_S, sr))
    if fade > 0:
        cut[..., keep - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return cut
