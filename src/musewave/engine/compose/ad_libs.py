"""Ad-libs in the pockets: the kit's vocal one-shots moved off the pitched parts' attacks.

A shouted word over a note's attack hides it: in the mixes of trap, hip-hop and reggaeton a
transcriber found a sixth to two fifths of the chord notes that started while an ad-lib
sounded, against four in five of the others. A hype man shouts in the gaps the beat leaves,
so each ad-lib moves a beat either way when fewer pitched notes start while it sounds there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from musewave.engine.compose.timeline import STEP_TICKS
from musewave.engine.genres import (
    VOX_CHECK_IT,
    VOX_COME_ON,
    VOX_DALE,
    VOX_DURO,
    VOX_EH,
    VOX_HEY,
    VOX_KEYS,
    VOX_LETS_GO,
    VOX_OYE,
    VOX_UH,
    VOX_YEAH,
    VOX_YO,
)
from musewave.engine.score import TICKS_PER_BEAT, Note

# How long each one-shot sounds (render.drums.VoxShot: espeak-ng at 210 words a minute,
# trimmed to the voice): the composer places them without hearing the kit.
VOX_LENGTH_S = {
    VOX_YEAH: 0.29, VOX_UH: 0.17, VOX_HEY: 0.27, VOX_LETS_GO: 0.55, VOX_YO: 0.31,
    VOX_CHECK_IT: 0.40, VOX_COME_ON: 0.44, VOX_DALE: 0.23, VOX_EH: 0.16, VOX_OYE: 0.31,
    VOX_DURO: 0.22,
}  # fmt: skip
# A note that starts just before a shout is still covered by its attack.
LEAD_IN_S = 0.03
# Where an ad-lib may go, in 16ths: where it is written, else a beat later or earlier (a tie
# keeps it where written, then answering rather than anticipating). Whole beats keep each
# shout where its groove puts it in the beat (on it, or on its offbeat 8th): moved by 8ths or
# 16ths into the gaps, the shouts were no longer heard as hip-hop's (Hip-Hop left the
# taggers' top five in 3 of 9 renders).
SHIFT_STEPS = (0, 4, -4)


def ad_libs_in_pockets(drums: Sequence[Note], pitched: Sequence[Note], bpm: float) -> list[Note]:
    """``drums`` with each vocal one-shot (``VOX_KEYS``) moved by ``SHIFT_STEPS`` (16ths) to
    where the fewest of ``pitched``'s notes start while it sounds (``VOX_LENGTH_S`` after its
    start, ``LEAD_IN_S`` before); on a tie the first place in ``SHIFT_STEPS`` wins. An ad-lib
    is never moved to before tick 0, to while the previous one still sounds, nor into the
    next one's place; one with no such place left stays where the groove wrote it (dropping
    it lost trap's tempo on one render in three). Other drum notes are kept as they are; the
    result is in the input's order. ``bpm`` converts seconds to ticks."""
    ticks_per_s = bpm * TICKS_PER_BEAT / 60.0
    onsets = np.sort(np.array([n.start_tick for n in pitched], dtype=np.int64))
    lead_in = round(LEAD_IN_S * ticks_per_s)
    order = sorted(
        (i for i, n in enumerate(drums) if n.pitch in VOX_KEYS), key=lambda i: drums[i].start_tick
    )
    moved = list(drums)
    free_from = 0  # where the previous ad-lib has ended (at first: nothing before tick 0)
    for at, i in enumerate(order):
        note = drums[i]
        length = round(VOX_LENGTH_S.get(note.pitch, 0.3) * ticks_per_s)
        next_written = drums[order[at + 1]].start_tick if at + 1 < len(order) else None
        best: tuple[int, int] | None = None  # (covered onsets, start tick)
        for shift in SHIFT_STEPS:
            start = note.start_tick + shift * STEP_TICKS
            if start < free_from:
                continue
            if shift and next_written is not None and start + length > next_written:
                continue
            covered = int(
                np.searchsorted(onsets, start + length, "right")
                - np.searchsorted(onsets, start - lead_in, "left")
            )
            if best is None or covered < best[0]:
                best = (covered, start)
        start = note.start_tick if best is None else best[1]
        moved[i] = replace(note, start_tick=start)
        free_from = start + length
    return moved
