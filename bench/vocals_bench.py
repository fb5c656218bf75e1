"""Vocals benchmark: intelligibility, pitch, caption timing and render cost of the singer.

- Intelligibility: pocketsphinx (its English model ships in the wheel) transcribes the dry
  English vocal stem line by line; its word error rate is reported against the same lyrics
  spoken by plain espeak-ng (the baseline: the singer starts from that speech).
- Pitch: librosa's pYIN on the vocal stem, share of voiced frames within 50 cents of the
  written note.
- Caption timing: each line's start against the nearest rise of the stem from silence to
  within 30 dB of its peak.
- Cost: seconds of vocals-stage wall time per second of track, per voice.

    python bench/vocals_bench.py [--voices male,female,soft,choir] [--duration 60]
"""

from __future__ import annotations

import argparse
import re
import time

import librosa
import numpy as np
from pocketsphinx import Decoder

from musewave.engine.plan import make_plan
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.vocals.espeak import SAMPLE_RATE as ESPEAK_RATE
from musewave.engine.vocals.espeak import speak
from musewave.engine.vocals.track import VocalTrack, render_vocals
from musewave.engine.vocals.voices import VOICES

SR = 44_100
ASR_RATE = 16_000
LYRICS = """[Verse]
We are walking in the morning light
Every window shining bright
I can hear the river call my name
Nothing ever stays the same

[Chorus]
Hold me closer never let me go
Sing it louder let the whole world know
Take my hand and run into the night
Everything will be all right

[Bridge]
When the summer fades away
I will find a way to stay
"""


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def _edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def _transcribe(decoder: Decoder, audio: np.ndarray, rate: int) -> str:
    pcm = librosa.resample(audio.astype(np.float32), orig_sr=rate, target_sr=ASR_RATE)
    pcm = pcm / max(float(np.abs(pcm).max()), 1e-9) * 0.8
    decoder.start_utt()
    decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def _wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(_edit_distance(_words(ref), _words(hyp)) for ref, hyp in pairs)
    return errors / sum(len(_words(ref)) for ref, _ in pairs)


def _lines() -> list[str]:
    return [line for line in LYRICS.splitlines() if line and not line.startswith("[")]


def baseline_wer(decoder: Decoder) -> float:
    pairs = [
        (line, _transcribe(decoder, speak(line, "en-us").audio, ESPEAK_RATE)) for line in _lines()
    ]
    return _wer(pairs)


def sung_wer(decoder: Decoder, track: VocalTrack) -> float:
    mono = track.audio.mean(axis=0)
    pairs = []
    for line in track.lines:
        part = mono[max(0, round((line.start_s - 0.1) * SR)) : round((line.end_s + 0.2) * SR)]
        pairs.append((line.text, _transcribe(decoder, part, SR)))
    return _wer(pairs)


def pitch_within_50_cents(track: VocalTrack, bpm: float, voice: str) -> float:
    begin, end = track.lines[0].start_s - 0.1, track.lines[-1].end_s + 0.1
    sung = track.audio[:, round(begin * SR) : round(end * SR)].mean(axis=0)
    y = librosa.resample(sung, orig_sr=SR, target_sr=16_000)
    preset = VOICES[voice]
    f0, voiced, _ = librosa.pyin(
        y,
        fmin=librosa.midi_to_hz(preset.low - 3),
        fmax=librosa.midi_to_hz(preset.high + 3),
        sr=16_000,
        frame_length=1024,
        hop_length=160,
    )
    times = begin + np.arange(f0.size) * 0.01
    tick_s = 60.0 / (bpm * TICKS_PER_BEAT)
    reference = np.full(times.size, np.nan)
    for item in track.melody:
        inside = (times >= item.note.start_tick * tick_s) & (times < item.note.end_tick * tick_s)
        reference[inside] = item.note.pitch
    judged = voiced & np.isfinite(f0) & np.isfinite(reference)
    cents = 1200 * np.log2(f0[judged] / librosa.midi_to_hz(reference[judged]))
    return float(np.mean(np.abs(cents) <= 50))


def caption_errors_ms(track: VocalTrack) -> list[float]:
    mono = track.audio.mean(axis=0)
    hop = round(0.002 * SR)
    frames = librosa.util.frame(np.pad(mono, (hop, hop)), frame_length=2 * hop, hop_length=hop)
    level = 10 * np.log10(np.mean(frames**2, axis=0) + 1e-20)
    times = np.arange(level.size) * hop / SR
    errors = []
    loud = level > level.max() - 30
    rises = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1  # silence → sound
    for line in track.lines:
        nearest = rises[np.argmin(np.abs(times[rises] - line.start_s))]
        errors.append(1000 * (times[nearest] - line.start_s))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="male,female,soft,choir")
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    decoder = Decoder(samprate=ASR_RATE)
    request = GenerationRequest.model_validate(
        {"prompt": "bright pop song", "genres": ["pop"], "seed": 21, "duration_s": args.duration,
         "bpm": 100, "lyrics": LYRICS},
        context={"duration_range_s": (10.0, 300.0)},
    )  # fmt: skip
    plan = make_plan(request)
    print("| voice | WER | pitch within 50 c | caption error max (ms) | render s per s |")
    print("|---|---|---|---|---|")
    print(f"| plain espeak-ng speech (baseline) | {baseline_wer(decoder):.1%} | | | |")
    for voice in args.voices.split(","):
        start = time.perf_counter()
        track = render_vocals(
            plan, lyrics=LYRICS, languages=["en"], voice=voice, sample_rate=SR,
            n_samples=round(plan.duration_s * SR),
        )  # fmt: skip
        cost = (time.perf_counter() - start) / plan.duration_s
        errors = caption_errors_ms(track)
        print(
            f"| {voice} | {sung_wer(decoder, track):.1%} | "
            f"{pitch_within_50_cents(track, plan.bpm, voice):.1%} | "
            f"{max(abs(e) for e in errors):.0f} | {cost:.3f} |"
        )


if __name__ == "__main__":
    main()
