"""Voice presets: which espeak-ng variant speaks, the range the melody stays in, and how the
vocoder colours it. Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layer:
    """One sung copy of the line: detuned (cents), late (ms), panned (-1…1), its formants
    scaled by ``formant_scale`` (>1 brighter/smaller head), at ``gain_db``."""

    detune_cents: float = 0.0
    delay_ms: float = 0.0
    pan: float = 0.0
    formant_scale: float = 1.0
    gain_db: float = 0.0


@dataclass(frozen=True, slots=True)
class VoicePreset:
    """``variant`` is an espeak-ng voice variant (``+f4``); ``low``/``high`` the melody's MIDI
    range; ``vibrato_cents`` the peak depth a long note grows to; ``breathiness`` 0–1 mixes
    aperiodic noise into the voiced sound; ``layers`` the copies sung together."""

    name: str
    variant: str
    low: int
    high: int
    vibrato_cents: float
    vibrato_hz: float
    breathiness: float
    formant_scale: float
    layers: tuple[Layer, ...] = (Layer(),)
    breath_db: float = -32.0  # breaths between phrases, relative to the voice's level


# Variants whose file has a ``breath`` line (f2, f3, f5, ...) add a breath noise that differs
# from one process to the next (nothing a caller sets seeds it), so their words are never the
# same twice; the presets use breath-free ones and add their own breath, seeded.
VOICES: dict[str, VoicePreset] = {
    preset.name: preset
    for preset in (
        VoicePreset("male", "+m3", 48, 67, 28.0, 5.4, 0.05, 1.0),
        VoicePreset("female", "+f4", 57, 76, 30.0, 5.8, 0.08, 1.0),
        VoicePreset("soft", "+f1", 55, 72, 18.0, 5.2, 0.35, 1.02, breath_db=-29.0),
        VoicePreset(
            "choir",
            "+f4",
            55,
            74,
            20.0,
            5.5,
            0.15,
            1.0,
            layers=(
                Layer(),
                Layer(detune_cents=-9.0, delay_ms=14.0, pan=-0.7, formant_scale=0.96, gain_db=-2.0),
                Layer(detune_cents=8.0, delay_ms=23.0, pan=0.7, formant_scale=1.05, gain_db=-2.0),
                Layer(detune_cents=3.0, delay_ms=9.0, pan=0.2, formant_scale=0.9, gain_db=-5.0),
            ),
        ),
    )
}
DEFAULT_VOICE = "female"
