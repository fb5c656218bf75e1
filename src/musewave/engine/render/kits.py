"""Drum kits as data: General-MIDI key -> hit name, and per kit a recipe for each hit name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .drums import Clap, Hit, Membrane, Metal, NoiseHit, Sampled, Snare, VoxShot

_TOM_KEYS = (41, 43, 45, 47, 48, 50)  # low floor tom ... high tom

# Vocal one-shots (ad-libs, chants) on keys above General MIDI's percussion range, one word per
# key from VOX_FIRST_KEY on; ``genres`` names the same keys (VOX_YEAH ...).
VOX_FIRST_KEY = 100
VOX_WORDS: tuple[tuple[str, str], ...] = (
    ("yeah", "en-us"),  # trap ad-libs
    ("uh", "en-us"),
    ("hey", "en-us"),
    ("let's go", "en-us"),
    ("yo", "en-us"),  # boom-bap hype man
    ("check it", "en-us"),
    ("come on", "en-us"),
    ("dale", "es-419"),  # reggaeton shouts
    ("eh", "es-419"),
    ("oye", "es-419"),
    ("duro", "es-419"),
)

GM_KEYS: Mapping[int, tuple[str, int]] = MappingProxyType(
    {
        35: ("kick", 0),
        36: ("kick", 0),
        37: ("rim", 0),
        38: ("snare", 0),
        39: ("clap", 0),
        40: ("snare", 0),
        42: ("hat_closed", 0),
        44: ("hat_pedal", 0),
        46: ("hat_open", 0),
        49: ("crash", 0),
        51: ("ride", 0),
        54: ("tambourine", 0),
        56: ("cowbell", 0),
        57: ("crash", 0),
        59: ("ride", 0),
        69: ("shaker", 0),
        70: ("shaker", 0),
        75: ("claves", 0),
        **{key: ("tom", i) for i, key in enumerate(_TOM_KEYS)},
        **{VOX_FIRST_KEY + i: ("vox", i) for i in range(len(VOX_WORDS))},
    }
)
"""GM percussion key -> (hit name, index). Unlisted keys play ``("perc", 0)``."""

CHOKERS = frozenset({"hat_closed", "hat_pedal"})
"""Hits that cut off a ringing open hat (one hi-hat: closing it stops the open sound)."""

CHOKED = "hat_open"

HIT_PAN: Mapping[str, float] = MappingProxyType(
    {
        "hat_closed": 0.25,
        "hat_pedal": 0.25,
        "hat_open": 0.25,
        "ride": -0.3,
        "crash": 0.3,
        "shaker": -0.2,
        "tambourine": 0.2,
        "cowbell": -0.15,
    }
)
"""Stereo position of a hit (audience view); unlisted hits are centred."""


def tom_pan(index: int) -> float:
    """Toms sweep from left (floor tom) to right (high tom), as heard from the audience."""
    return 0.35 - 0.14 * (5 - index)


@dataclass(frozen=True, slots=True)
class Kit:
    """Recipes per hit name, and a kit-wide colour (drive, then low-pass)."""

    hits: Mapping[str, Hit]
    lowpass_hz: float | None = None
    drive: float = 0.0


_808_HAT = Metal(0.07, lowpass_hz=12000.0, level=0.6)
_808_OPEN = Metal(0.5, lowpass_hz=12000.0, level=0.55)
_808_PEDAL = Metal(0.05, highpass_hz=6000.0, lowpass_hz=11000.0, level=0.45)
_CRASH = Metal(2.0, scale=1.4, highpass_hz=3500.0, lowpass_hz=13000.0, noise_level=0.8, level=0.55)
_RIDE = Metal(
    1.4,
    scale=1.1,
    highpass_hz=4500.0,
    noise_level=0.3,
    pings=(3120.0, 3150.0, 5200.0),
    ping_level=0.25,
    level=0.5,
)
_COWBELL = Metal(
    0.3, freqs_hz=(540.0, 800.0), highpass_hz=600.0, lowpass_hz=4000.0, noise_level=0.0, level=0.5
)
_TAMBOURINE = Clap(3, 0.006, (5000.0, 12000.0), 0.03, 0.18, level=0.5)
_SHAKER = NoiseHit((4000.0, 10000.0), 0.12, attack_s=0.015, level=0.45)
_RIM = NoiseHit((2500.0, 7000.0), 0.035, tone_hz=1750.0, tone_level=0.8, level=0.7)
_CLAVES = NoiseHit(
    (2000.0, 3000.0), 0.09, noise_level=0.1, tone_hz=2500.0, tone_level=1.0, level=0.6
)
_PERC = NoiseHit((1500.0, 6000.0), 0.15, level=0.6)

_COMMON: Mapping[str, Hit] = {
    "rim": _RIM,
    "clap": Clap(),
    "hat_closed": _808_HAT,
    "hat_pedal": _808_PEDAL,
    "hat_open": _808_OPEN,
    "crash": _CRASH,
    "ride": _RIDE,
    "tambourine": _TAMBOURINE,
    "cowbell": _COWBELL,
    "shaker": _SHAKER,
    "claves": _CLAVES,
    "perc": _PERC,
}

_SYNTH_KITS: Mapping[str, Kit] = MappingProxyType(
    {
        "kit_electronic": Kit(
            {
                **_COMMON,
                "kick": Membrane(50.0, 3.2, 0.018, 0.5, click=0.25, drive=1.5),
                "snare": Snare(200.0, 0.12, (1000.0, 5000.0), 0.2),
                "tom": Membrane(90.0, 1.6, 0.04, 0.45, click=0.1, step_ratio=1.19, level=0.9),
            }
        ),
        "kit_808": Kit(
            {
                **_COMMON,
                "kick": Membrane(48.0, 2.5, 0.05, 1.5, click=0.12, drive=2.2),
                "snare": Snare(180.0, 0.15, (1200.0, 6000.0), 0.22, tone_level=0.7),
                "clap": Clap(4, 0.011, (700.0, 2600.0), tail_t60_s=0.3),
                "tom": Membrane(80.0, 1.3, 0.08, 0.7, click=0.05, step_ratio=1.19, level=0.9),
            }
        ),
        "kit_acoustic": Kit(
            {
                **_COMMON,
                "kick": Membrane(
                    58.0,
                    1.9,
                    0.025,
                    0.35,
                    click=0.35,
                    click_band=(1000.0, 4000.0),
                    skin=0.12,
                    skin_hz=800.0,
                ),
                "snare": Snare(
                    190.0,
                    0.15,
                    (1500.0, 6000.0),
                    0.2,
                    tone_level=0.8,
                    wires=0.6,
                    wires_t60_s=0.3,
                ),
                "tom": Membrane(
                    85.0, 1.35, 0.05, 0.6, click=0.15, skin=0.15, step_ratio=1.19, level=0.9
                ),
                "hat_closed": Metal(0.08, lowpass_hz=12000.0, noise_level=0.8, level=0.55),
                "hat_open": Metal(0.6, lowpass_hz=12000.0, noise_level=0.8, level=0.5),
                "ride": Metal(
                    1.8,
                    scale=1.1,
                    highpass_hz=4000.0,
                    noise_level=0.35,
                    pings=(3120.0, 3143.0, 4410.0, 4437.0, 5230.0),
                    ping_level=0.3,
                    level=0.5,
                ),
            }
        ),
        "kit_lofi": Kit(
            {
                **_COMMON,
                # A quick-falling kick and a soft, high snap. The kick's driven sine fell
                # from 130 Hz with a 40 ms time constant and rang 0.45 s: a transcriber heard
                # it as notes (an A2 on every kick, octaves under the keys), and the snare's
                # noise in the keys' 0.9-4.5 kHz struck their held notes again (mix onset F1
                # 0.62 on three renders; 0.67 without the snare, 0.70 without the kick). A
                # 0.16 s thump read 0.70 but its stem was heard as "guitar, quiet", hardly
                # as drums; falling in 12 ms from 100 Hz and ringing 0.35 s, the kick keeps
                # the beat (0.69; "drums" 0.2, main's kit 0.36, the controls' below 0.1).
                "kick": Membrane(50.0, 2.0, 0.012, 0.35, click=0.2, drive=1.2),
                "snare": Snare(200.0, 0.08, (2000.0, 6000.0), 0.14, tone_level=0.35),
                "tom": Membrane(85.0, 1.4, 0.05, 0.45, click=0.1, step_ratio=1.19, level=0.9),
                "hat_closed": Metal(0.06, lowpass_hz=12000.0, noise_level=0.6, level=0.5),
            },
            lowpass_hz=7000.0,
            drive=1.8,
        ),
        "kit_cinematic": Kit(
            {
                **_COMMON,
                # The boom rings 0.7 s (it rang 1.4 s; see the taiko below).
                "kick": Membrane(
                    40.0,
                    3.5,
                    0.07,
                    0.7,
                    click=0.2,
                    skin=0.25,
                    skin_hz=500.0,
                    skin_t60_s=0.3,
                    drive=1.8,
                ),
                "snare": Snare(
                    170.0,
                    0.2,
                    (800.0, 5000.0),
                    0.4,
                    tone_level=0.8,
                    wires=0.5,
                    wires_t60_s=0.5,
                ),
                "clap": Clap(4, 0.012, (700.0, 3000.0), tail_t60_s=0.6),
                # Taiko-like: a deep boom and a slap of skin. The boom is a steady sine (A1 and
                # the tom steps above it) that a transcriber hears as notes; at 1.6 s and full
                # level it sounded through the strings' octave 8ths, and the mix was heard with
                # about 45 notes in 200 that were not written, most an octave under the bass
                # (mix F1 0.64; 0.79 with the drums muted). Shorter (0.5 s) and 8 dB down, with
                # the kick's boom halved: 0.71, the kit still heard as drums and the mix as
                # orchestral.
                "tom": Membrane(
                    55.0,
                    1.6,
                    0.06,
                    0.5,
                    level=0.4,
                    click=0.1,
                    skin=0.35,
                    skin_hz=1500.0,
                    skin_t60_s=0.12,
                    drive=1.6,
                    step_ratio=1.15,
                ),
                "crash": Metal(
                    3.5,
                    scale=1.3,
                    highpass_hz=3000.0,
                    lowpass_hz=12000.0,
                    noise_level=0.9,
                    attack_s=0.45,
                    level=0.55,
                ),
            }
        ),
    }
)


# GM percussion keys each hit name plays in a sampled kit (per index; toms low to high).
SAMPLED_KEYS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "kick": (36,),
        "rim": (37,),
        "snare": (38,),
        "clap": (39,),
        "hat_closed": (42,),
        "hat_pedal": (44,),
        "hat_open": (46,),
        "crash": (49,),
        "ride": (51,),
        "tambourine": (54,),
        "cowbell": (56,),
        "shaker": (70,),
        "claves": (75,),
        "tom": _TOM_KEYS,
    }
)
# Hand drums in place of toms: low conga for the low toms, open then muted high conga above.
CONGA_KEYS = (64, 64, 64, 63, 63, 62)


def sampled_kit(
    program: int,
    synthesized: Kit,
    keys: Mapping[str, tuple[int, ...]] = SAMPLED_KEYS,
    levels: Mapping[str, float] | None = None,
    lowpass_hz: float | None = None,
    drive: float = 0.0,
) -> Kit:
    """A kit that plays GM drum kit ``program`` from the SoundFont, each hit falling back to
    ``synthesized``'s recipe (without a font). ``levels`` overrides per-hit levels; hits
    without a GM key (``perc``) stay synthesized."""
    hits: dict[str, Hit] = dict(synthesized.hits)
    for name, fallback in synthesized.hits.items():
        if name in keys and not isinstance(fallback, Sampled | VoxShot):
            level = (levels or {}).get(name, fallback.level)
            hits[name] = Sampled(program, keys[name], fallback, level=level)
    return Kit(hits, lowpass_hz=lowpass_hz, drive=drive)


def with_vox(kit: Kit) -> Kit:
    """``kit`` plus the vocal one-shots (``VOX_WORDS``) as its ``vox`` hit."""
    return Kit({**kit.hits, "vox": VoxShot(VOX_WORDS)}, kit.lowpass_hz, kit.drive)


# GM drum kit programs in the percussion bank (both the Debian fonts and TimGM6mb have them).
GM_KIT_STANDARD, GM_KIT_ROOM, GM_KIT_ELECTRONIC, GM_KIT_808, GM_KIT_JAZZ, GM_KIT_BRUSH = (
    0,
    8,
    24,
    25,
    32,
    40,
)

_KITS: Mapping[str, Kit] = MappingProxyType(
    {
        **_SYNTH_KITS,
        # Sampled kits for the groove genres (their synthesized kits were heard as
        # electronic/ambient): a drum machine break for boom-bap, a miked room kit for funk.
        "kit_boombap": sampled_kit(
            GM_KIT_ELECTRONIC, _SYNTH_KITS["kit_lofi"], lowpass_hz=9000.0, drive=1.2
        ),
        "kit_funk": sampled_kit(GM_KIT_ROOM, _SYNTH_KITS["kit_acoustic"]),
        "kit_trap": sampled_kit(GM_KIT_ELECTRONIC, _SYNTH_KITS["kit_808"]),
        "kit_reggae": sampled_kit(GM_KIT_STANDARD, _SYNTH_KITS["kit_acoustic"]),
        "kit_jazz": sampled_kit(GM_KIT_JAZZ, _SYNTH_KITS["kit_acoustic"]),
        "kit_brush": sampled_kit(GM_KIT_BRUSH, _SYNTH_KITS["kit_acoustic"]),
        "kit_afro": sampled_kit(
            GM_KIT_ELECTRONIC,
            _SYNTH_KITS["kit_electronic"],
            keys={**SAMPLED_KEYS, "tom": CONGA_KEYS},
        ),
    }
)


# Every kit carries the vocal one-shots, so a genre's chant plays whichever kit a plan picks.
KITS: Mapping[str, Kit] = MappingProxyType({name: with_vox(kit) for name, kit in _KITS.items()})


def hit_for_key(key: int) -> tuple[str, int]:
    """``(hit name, index)`` for a GM percussion key; unknown keys fall back to ``perc``."""
    return GM_KEYS.get(key, ("perc", 0))
