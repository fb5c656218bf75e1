"""The SoundFont (SF2) sample player: the one module that finds, loads and plays SoundFonts.

A General-MIDI SoundFont gives acoustic instruments (piano, strings, brass, guitars, mallets,
choir) the timbre of real recordings, which oscillators do not reach. This is a small SF2
reader over numpy rather than a binding: the sample data is memory-mapped (only the samples
actually played are read, so a 140 MB font costs little memory), and a note is rendered by
resampling its zone's sample with linear interpolation, looping it, and applying the zone's
volume envelope: vectorised, deterministic and free of native code. Modulators, LFOs and
effects sends are ignored, and so is the modulation envelope, except in the fonts of
:data:`FILTER_SWEEP_FONTS`, whose presets open their low-pass with it; the renderer adds its
own gate and mix.

Which font: ``MUSEWAVE_SOUNDFONT`` (a path; ``none`` turns samples off), else the first of
:data:`SYSTEM_SOUNDFONTS` that exists (Debian's ``fluid-soundfont-gm``, installed in the
Docker image), else the small GM font that the ``pretty_midi`` wheel ships. With none of
them the renderer falls back to synthesis for every voice.

Thread-safety: a :class:`SoundFont` is immutable after loading except for its sample cache,
which a lock guards; :func:`default_soundfont` loads once per process under a lock.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# Which font is played is decided without numpy (the request model fingerprints with it).
from ..soundfont_choice import soundfont_identity, soundfont_path
from ._types import Audio, as_audio
from .filters import lowpass
from .placement import pan_gains

_ABS_CENT_HZ = 8.176  # SF2 absolute cents are relative to MIDI key 0
_VELOCITY_TO_CUTOFF_CENTS = 4800.0

# Generator operators (SF2 2.04 §8.1.2) that this player reads.
_START, _END, _LOOP_START, _LOOP_END = 0, 1, 2, 3
_START_COARSE, _END_COARSE, _LOOP_START_COARSE, _LOOP_END_COARSE = 4, 12, 45, 50
_FILTER_FC, _PAN = 8, 17
_DELAY, _ATTACK, _HOLD, _DECAY, _SUSTAIN, _RELEASE = 33, 34, 35, 36, 37, 38
_KEY_TO_HOLD, _KEY_TO_DECAY = 39, 40
_MOD_ENV_TO_FILTER_FC = 11
_MOD_DELAY, _MOD_ATTACK, _MOD_HOLD, _MOD_DECAY, _MOD_SUSTAIN, _MOD_RELEASE = 25, 26, 27, 28, 29, 30
_KEY_TO_MOD_HOLD, _KEY_TO_MOD_DECAY = 31, 32
_INSTRUMENT, _KEY_RANGE, _VEL_RANGE = 41, 43, 44
_ATTENUATION, _COARSE_TUNE, _FINE_TUNE, _SAMPLE_ID, _SAMPLE_MODES = 48, 51, 52, 53, 54
_SCALE_TUNING, _ROOT_KEY = 56, 58
_RANGES = (_KEY_RANGE, _VEL_RANGE)
# Operators a preset zone may not set (they only make sense on a sample).
_INSTRUMENT_ONLY = frozenset(
    {_START, _END, _LOOP_START, _LOOP_END, _START_COARSE, _END_COARSE, _LOOP_START_COARSE}
    | {_LOOP_END_COARSE, 46, 47, _SAMPLE_MODES, 57, _ROOT_KEY}
)
_DEFAULTS: Mapping[int, int] = {
    _FILTER_FC: 13500,
    _DELAY: -12000,
    _ATTACK: -12000,
    _HOLD: -12000,
    _DECAY: -12000,
    _RELEASE: -12000,
    # The modulation envelope's times, so a preset zone's offset adds to the spec's default.
    _MOD_DELAY: -12000,
    _MOD_ATTACK: -12000,
    _MOD_HOLD: -12000,
    _MOD_DECAY: -12000,
    _MOD_RELEASE: -12000,
    _SCALE_TUNING: 100,
    _ROOT_KEY: -1,
}

FILTER_SWEEP_FONTS = frozenset({"TimGM6mb.sf2"})
"""Fonts (file names) whose presets set a low cutoff and open it with the modulation
envelope: TimGM6mb's piano sits at 440 Hz, its guitars at 470-800 Hz, each opened by 30-50
semitones on the attack. Played without the sweep, every such instrument was a muffled
fundamental (the rock guitars no longer heard as rock). For these fonts the player sweeps the
cutoff (:func:`_swept`); in the others (FluidR3: cutoffs mostly open, three presets with a
sweep) renders stay as they were measured."""

_PHDR = np.dtype(
    [("name", "S20"), ("preset", "<u2"), ("bank", "<u2"), ("bag", "<u2"), ("unused", "<u4", 3)]
)
_BAG = np.dtype([("gen", "<u2"), ("mod", "<u2")])
_GEN = np.dtype([("oper", "<u2"), ("amount", "<i2")])
_INST = np.dtype([("name", "S20"), ("bag", "<u2")])
_SHDR = np.dtype(
    [
        ("name", "S20"),
        ("start", "<u4"),
        ("end", "<u4"),
        ("loop_start", "<u4"),
        ("loop_end", "<u4"),
        ("rate", "<u4"),
        ("pitch", "u1"),
        ("correction", "i1"),
        ("link", "<u2"),
        ("type", "<u2"),
    ]
)
_RECORD_SIZES = {"phdr": 38, "pbag": 4, "pgen": 4, "inst": 22, "ibag": 4, "igen": 4, "shdr": 46}


class SoundFontError(ValueError):
    """The file is not a readable SF2 SoundFont."""


Generators = dict[int, int]


@dataclass(frozen=True, slots=True)
class Zone:
    """One playable layer of a preset: a sample with its merged generators."""

    key_lo: int
    key_hi: int
    vel_lo: int
    vel_hi: int
    gens: Mapping[int, int]
    sample: int

    def matches(self, key: int, velocity: int) -> bool:
        return self.key_lo <= key <= self.key_hi and self.vel_lo <= velocity <= self.vel_hi


def _chunks(data: memoryview, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(id, data offset, size) of the RIFF chunks between ``start`` and ``end``."""
    at = start
    while at + 8 <= end:
        ident = bytes(data[at : at + 4]).decode("latin-1")
        (size,) = struct.unpack_from("<I", data, at + 4)
        yield ident, at + 8, size
        at += 8 + size + (size & 1)


def _split_range(amount: int) -> tuple[int, int]:
    raw = amount & 0xFFFF
    return raw & 0xFF, raw >> 8


def _zone_gens(
    bags: NDArray[np.void], gens: NDArray[np.void], first: int, last: int
) -> list[Generators]:
    """The generator dicts of bags ``first`` to ``last`` (exclusive)."""
    zones: list[Generators] = []
    for b in range(first, last):
        lo, hi = int(bags["gen"][b]), int(bags["gen"][b + 1])
        zones.append(
            {
                int(op): int(amount)
                for op, amount in zip(gens["oper"][lo:hi], gens["amount"][lo:hi], strict=True)
            }
        )
    return zones


def _split_global(zones: list[Generators], terminal: int) -> tuple[Generators, list[Generators]]:
    """A first zone without the terminal generator is the global zone (defaults for the rest)."""
    if zones and terminal not in zones[0]:
        return zones[0], [z for z in zones[1:] if terminal in z]
    return {}, [z for z in zones if terminal in z]


def _intersect(a: Generators, b: Generators, op: int) -> tuple[int, int]:
    a_lo, a_hi = _split_range(a.get(op, 0x7F00))
    b_lo, b_hi = _split_range(b.get(op, 0x7F00))
    return max(a_lo, b_lo), min(a_hi, b_hi)


class SoundFont:
    """A loaded SF2 file: presets by (bank, program) and memory-mapped 16-bit samples.

    Raises :class:`SoundFontError` when the file is not an SF2 SoundFont.
    """

    def __init__(self, path: Path, *, sweeps_filter: bool | None = None) -> None:
        self.path = path
        # Whether the modulation envelope sweeps the cutoff (default: FILTER_SWEEP_FONTS).
        self.sweeps_filter = (
            path.name in FILTER_SWEEP_FONTS if sweeps_filter is None else sweeps_filter
        )
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        data = memoryview(raw)  # type: ignore[arg-type]
        if len(data) < 12 or bytes(data[0:4]) != b"RIFF" or bytes(data[8:12]) != b"sfbk":
            raise SoundFontError(f"{path.name}: not an SF2 SoundFont")
        tables: dict[str, NDArray[np.void]] = {}
        smpl: tuple[int, int] | None = None
        for ident, offset, size in _chunks(data, 12, len(data)):
            if ident != "LIST":
                continue
            kind = bytes(data[offset : offset + 4])
            for sub, sub_offset, sub_size in _chunks(data, offset + 4, offset + size):
                if kind == b"sdta" and sub == "smpl":
                    smpl = (sub_offset, sub_size // 2)
                elif kind == b"pdta" and sub in _RECORD_SIZES:
                    tables[sub] = np.frombuffer(
                        bytes(data[sub_offset : sub_offset + sub_size]), dtype=self._dtype(sub)
                    )
        if smpl is None or set(tables) != set(_RECORD_SIZES):
            raise SoundFontError(f"{path.name}: missing sample data or preset tables")
        self._samples = np.ndarray((smpl[1],), dtype="<i2", buffer=raw, offset=smpl[0])
        self._shdr = tables["shdr"]
        self._tables = tables
        # Presets are merged from their instruments on first use: a render plays a handful
        # of the ~190 in a GM font, and merging all of them cost more than rendering some.
        self._preset_index = {
            (int(bank), int(preset)): index
            for index, (bank, preset) in enumerate(
                zip(tables["phdr"]["bank"][:-1], tables["phdr"]["preset"][:-1], strict=True)
            )
        }
        self._merged: dict[tuple[int, int], list[Zone]] = {}
        self._instruments: dict[int, tuple[Generators, list[Generators]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _dtype(name: str) -> np.dtype[np.void]:
        return {"phdr": _PHDR, "pbag": _BAG, "ibag": _BAG, "pgen": _GEN, "igen": _GEN}.get(
            name, _INST if name == "inst" else _SHDR
        )

    def _preset(self, bank: int, program: int) -> list[Zone]:
        """The merged zones of a preset ([] when the font has none), merged once."""
        key = (bank, program)
        with self._lock:
            zones = self._merged.get(key)
            if zones is None:
                index = self._preset_index.get(key)
                zones = [] if index is None else self._merge_preset(index)
                self._merged[key] = zones
        return zones

    def _instrument(self, index: int) -> tuple[Generators, list[Generators]]:
        """(global zone, sample zones) of instrument ``index``; the caller holds the lock."""
        found = self._instruments.get(index)
        if found is None:
            t = self._tables
            bag = t["inst"]["bag"]
            zones = _zone_gens(t["ibag"], t["igen"], int(bag[index]), int(bag[index + 1]))
            found = self._instruments[index] = _split_global(zones, _SAMPLE_ID)
        return found

    def _merge_preset(self, p: int) -> list[Zone]:
        t = self._tables
        phdr = t["phdr"]
        n_instruments = len(t["inst"]) - 1  # the last record is the terminal "EOI"
        zones = _zone_gens(t["pbag"], t["pgen"], int(phdr["bag"][p]), int(phdr["bag"][p + 1]))
        p_global, p_zones = _split_global(zones, _INSTRUMENT)
        merged: list[Zone] = []
        for pz in p_zones:
            pz_all = {**p_global, **pz}
            index = pz_all[_INSTRUMENT]
            if not 0 <= index < n_instruments:
                continue
            i_global, i_zones = self._instrument(index)
            for iz in i_zones:
                iz_all = {**_DEFAULTS, **i_global, **iz}
                # Preset generators add to the instrument's, except ranges (intersect).
                gens = dict(iz_all)
                for op, amount in pz_all.items():
                    if op not in _RANGES and op != _INSTRUMENT and op not in _INSTRUMENT_ONLY:
                        gens[op] = gens.get(op, 0) + amount
                key_lo, key_hi = _intersect(pz_all, iz_all, _KEY_RANGE)
                vel_lo, vel_hi = _intersect(pz_all, iz_all, _VEL_RANGE)
                sample = iz_all[_SAMPLE_ID]
                if key_lo <= key_hi and vel_lo <= vel_hi and 0 <= sample < len(self._shdr) - 1:
                    merged.append(Zone(key_lo, key_hi, vel_lo, vel_hi, gens, sample))
        return merged

    def has_program(self, program: int, bank: int = 0) -> bool:
        return bool(self._preset(bank, program))

    def zones(self, program: int, key: int, velocity: int, bank: int = 0) -> list[Zone]:
        """The zones that sound for ``key`` at ``velocity`` (0–127) in a preset; [] if none."""
        return [z for z in self._preset(bank, program) if z.matches(key, velocity)]

    def render_note(
        self, program: int, key: int, velocity: int, n: int, sample_rate: int, bank: int = 0
    ) -> Audio:
        """The held sound of one note, shape ``(2, n)`` float32, unnormalised: every matching
        zone's sample resampled to ``key``, looped if the zone loops, with its delay, attack,
        hold, decay and sustain (no release: the caller's note gate applies one).

        ``bank`` 128 is the General-MIDI percussion bank (drum kits by program).
        Raises ``KeyError`` when the preset has no zone for ``key``.
        """
        zones = self.zones(program, key, velocity, bank)
        if not zones:
            raise KeyError(f"program {program} has no zone for key {key}")
        out = np.zeros((2, n), dtype=np.float32)
        for zone in zones:
            mono = self._render_zone(zone, key, n, sample_rate)
            # Softer notes are darker: the SF2 default velocity-to-cutoff modulator, made
            # twice as deep so that velocity is heard as timbre, not only level.
            cutoff_cents = zone.gens[_FILTER_FC] - _VELOCITY_TO_CUTOFF_CENTS * (
                1.0 - velocity / 127.0
            )
            sweep_cents = zone.gens.get(_MOD_ENV_TO_FILTER_FC, 0) if self.sweeps_filter else 0
            if sweep_cents:
                mono = _swept(mono, zone.gens, key, cutoff_cents, sweep_cents, sample_rate)
            else:
                cutoff_hz = _ABS_CENT_HZ * 2.0 ** (cutoff_cents / 1200.0)
                if cutoff_hz < 0.45 * sample_rate:
                    mono = lowpass(mono, cutoff_hz, sample_rate)
            left, right = pan_gains(float(np.clip(zone.gens.get(_PAN, 0) / 500.0, -1.0, 1.0)))
            gain = 10.0 ** (-zone.gens.get(_ATTENUATION, 0) / 200.0)
            out[0] += mono * np.float32(left * gain)
            out[1] += mono * np.float32(right * gain)
        return out

    def _render_zone(self, zone: Zone, key: int, n: int, sr: int) -> Audio:
        g = zone.gens
        h = self._shdr[zone.sample]
        start = int(h["start"]) + g.get(_START, 0) + 32768 * g.get(_START_COARSE, 0)
        end = int(h["end"]) + g.get(_END, 0) + 32768 * g.get(_END_COARSE, 0)
        loop_start = (
            int(h["loop_start"]) + g.get(_LOOP_START, 0) + 32768 * g.get(_LOOP_START_COARSE, 0)
        )
        loop_end = int(h["loop_end"]) + g.get(_LOOP_END, 0) + 32768 * g.get(_LOOP_END_COARSE, 0)
        end = min(end, self._samples.size)
        start = min(max(start, 0), end - 2)
        wave = self._wave(start, end)
        loops = g.get(_SAMPLE_MODES, 0) & 1 and start < loop_start < loop_end <= end
        root = g[_ROOT_KEY] if g[_ROOT_KEY] >= 0 else int(h["pitch"])
        cents = (
            (key - root) * g[_SCALE_TUNING]
            + 100 * g.get(_COARSE_TUNE, 0)
            + g.get(_FINE_TUNE, 0)
            + int(h["correction"])
        )
        step = 2.0 ** (cents / 1200.0) * int(h["rate"]) / sr
        # A sample that does not loop ends: only the part before its end is computed.
        count = n if loops else min(n, int(np.ceil((wave.size - 1) / step)))
        pos = np.arange(count, dtype=np.float64)
        pos *= step
        if loops:
            first, period = loop_start - start, loop_end - loop_start
            k = min(count, int(np.ceil(first / step)))
            tail = pos[k:]
            tail -= first
            np.mod(tail, period, out=tail)
            tail += first
        index = pos.astype(np.int64)
        frac = (pos - index).astype(np.float32)
        np.minimum(index, wave.size - 2, out=index)
        here = wave[index]
        tone = np.zeros(n, dtype=np.float32)
        tone[:count] = here + frac * (wave[index + 1] - here)
        return as_audio(tone * _volume_envelope(g, key, n, sr))

    def _wave(self, start: int, end: int) -> Audio:
        """Samples ``start:end`` as float32 in [-1, 1), converted once per sample span."""
        return _cached_wave(self, start, end)


@lru_cache(maxsize=512)
def _cached_wave(font: SoundFont, start: int, end: int) -> Audio:
    with font._lock:
        wave = font._samples[start:end].astype(np.float32) / np.float32(32768.0)
    wave.flags.writeable = False
    return wave


def _seconds(timecents: int) -> float:
    return float(2.0 ** (timecents / 1200.0))


def _volume_envelope(g: Mapping[int, int], key: int, n: int, sr: int) -> Audio:
    """The SF2 volume envelope without release: delay, linear attack, hold, then a decay that
    falls linearly in dB (100 dB per decay time) to the sustain level. Float32, shape ``(n,)``;
    only the attack and the decay down to the sustain level are computed per sample."""
    delay = min(n, round(_seconds(g[_DELAY]) * sr) if g[_DELAY] > -12000 else 0)
    attack = min(n - delay, round(_seconds(g[_ATTACK]) * sr) if g[_ATTACK] > -12000 else 0)
    hold = min(
        n - delay - attack, round(_seconds(g[_HOLD] + g.get(_KEY_TO_HOLD, 0) * (60 - key)) * sr)
    )
    decay_s = max(_seconds(g[_DECAY] + g.get(_KEY_TO_DECAY, 0) * (60 - key)), 1e-3)
    sustain_db = min(max(g.get(_SUSTAIN, 0), 0), 1440) / 10.0
    env = np.empty(n, dtype=np.float32)
    env[:delay] = 0.0
    at = delay
    env[at : at + attack] = np.arange(attack, dtype=np.float32) / np.float32(max(attack, 1))
    at += attack
    env[at : at + hold] = 1.0
    at += hold
    falling = min(n - at, round(decay_s * sustain_db / 100.0 * sr))
    rate = np.float32(-np.log(10.0) / 20.0 * 100.0 / (decay_s * sr))  # dB/sample -> ln units
    env[at : at + falling] = np.exp(np.arange(falling, dtype=np.float32) * rate)
    env[at + falling :] = np.float32(10.0 ** (-sustain_db / 20.0))
    return env


def _mod_envelope(g: Mapping[int, int], key: int, n: int, sr: int) -> Audio:
    """The SF2 modulation envelope without release, 0 to 1, float32 of shape ``(n,)``: delay,
    linear attack, hold, then a linear fall (the decay time spans the whole range) to the
    sustain level."""

    def samples(timecents: int, per_key: int = 0) -> int:
        return 0 if timecents <= -12000 else round(_seconds(timecents + per_key) * sr)

    delay = min(n, samples(g[_MOD_DELAY]))
    attack = min(n - delay, samples(g[_MOD_ATTACK]))
    held_from = delay + attack
    hold = samples(g[_MOD_HOLD], g.get(_KEY_TO_MOD_HOLD, 0) * (60 - key))
    decay_from = held_from + min(n - held_from, hold)
    sustain = 1.0 - min(max(g.get(_MOD_SUSTAIN, 0), 0), 1000) / 1000.0
    decay_tc = g[_MOD_DECAY] + g.get(_KEY_TO_MOD_DECAY, 0) * (60 - key)
    decay_s = _seconds(decay_tc)
    falling = min(n - decay_from, round(decay_s * (1.0 - sustain) * sr))
    env = np.empty(n, dtype=np.float32)
    env[:delay] = 0.0
    env[delay:held_from] = np.arange(attack, dtype=np.float32) / np.float32(max(attack, 1))
    env[held_from:decay_from] = 1.0
    fall = np.arange(falling, dtype=np.float32) / np.float32(max(decay_s * sr, 1.0))
    env[decay_from : decay_from + falling] = 1.0 - fall
    env[decay_from + falling :] = np.float32(sustain)
    return env


def _swept(
    mono: Audio, g: Mapping[int, int], key: int, cutoff_cents: float, sweep_cents: int, sr: int
) -> Audio:
    """``mono`` through a low-pass whose cutoff (absolute cents) moves from ``cutoff_cents`` by
    ``sweep_cents`` times the modulation envelope: the tone low-passed at the cutoffs of the
    envelope's peak and of its lowest level, crossfaded by the envelope (two static filters
    instead of one per sample: heard as the attack opening and the tone closing as it rings)."""
    env = _mod_envelope(g, key, mono.shape[-1], sr)
    lo, hi = float(env.min()), float(env.max())

    def filtered(level: float) -> Audio:
        cutoff_hz = _ABS_CENT_HZ * 2.0 ** ((cutoff_cents + sweep_cents * level) / 1200.0)
        return lowpass(mono, cutoff_hz, sr) if cutoff_hz < 0.45 * sr else mono

    first, last = filtered(hi), filtered(lo)
    if hi - lo < 1e-6:
        return first
    weight = (env - np.float32(lo)) / np.float32(hi - lo)
    return as_audio(last + weight * (first - last))


_default_lock = threading.Lock()
_default: list[SoundFont | None] = []


def default_soundfont() -> SoundFont | None:
    """The process-wide SoundFont, loaded on first use; ``None`` when there is none or it
    cannot be read (synthesis is the fallback)."""
    with _default_lock:
        if not _default:
            path = soundfont_path()
            font: SoundFont | None = None
            if path is not None:
                try:
                    font = SoundFont(path)
                except (OSError, SoundFontError):
                    font = None
            _default.append(font)
        return _default[0]


def reset_default_soundfont() -> None:
    """Forget the loaded default, so the next use looks again (tests, ``MUSEWAVE_SOUNDFONT``)."""
    with _default_lock:
        _default.clear()
        _cached_wave.cache_clear()
        soundfont_identity.cache_clear()
