"""MP3: LAME (through pedalboard) on several cores, one stream out.

LAME encodes on one core, and after the master it is the longest wait of a render (~1.2 s for
a 120 s track). A long track is cut into ``SEGMENTS`` pieces encoded at once on threads
(pedalboard releases the GIL), and their frames are joined into one MPEG-1 Layer III stream:

- Every piece starts on a frame boundary of the whole track, so its k-th frame is the track's
  frame (start / 1152 + k): LAME's encoder delay is the same in every piece.
- A piece after the first starts ``LEAD_FRAMES`` frames early and one before the last runs past
  its end, so around each join both encoders have seen the same audio for long enough that
  their choices (window shapes, masking) have settled: the frames on either side of a join are
  each an ordinary encoding of the track (measured: the decoded error at a join is no larger
  than the usual frame-to-frame variation of one LAME run; with a 4-frame lead-in it was 5 dB
  worse for one frame).
- The join is the first frame in a short window where the right piece's window shape continues
  the left piece's and the right frame's bit reservoir (bytes its main data borrows from the
  frames before it) fits in what the left piece's dropped frame had borrowed: those borrowed
  bytes are replaced by the right piece's, so every frame decodes exactly as its own encoder
  wrote it.
- The first piece's Info (Xing/LAME) frame is rewritten for the whole stream: frame and byte
  counts, seek table, end padding (the last piece's), music length and both CRCs.

The pieces are fixed by the track's length alone, so the same audio always gives the same
bytes, on any number of cores. Anything unexpected in LAME's output (another layout, CRC-
protected frames, no join found) falls back to encoding the track in one piece.
"""

from __future__ import annotations

import io
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pedalboard.io import AudioFile

FloatArray = npt.NDArray[np.float32]

SEGMENTS = 2  # fixed, not the core count: the bytes must not depend on the machine
FRAME_SAMPLES = 1152  # MPEG-1 Layer III
LEAD_FRAMES = 32  # ~0.8 s of lead-in before a join, dropped
SEARCH_FRAMES = 16  # frames after the nominal join where a join may be made
TAIL_FRAMES = 8  # frames a left piece runs past the join window (unaffected by its flush)
MIN_SEGMENT_FRAMES = 8 * LEAD_FRAMES  # shorter tracks are encoded in one piece
_MPEG1_RATES = {44100: 0, 48000: 1, 32000: 2}  # sample rate → header index
_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_HEADER_BYTES = 4
# The Info frame (LAME's VBR tag, "Info" for CBR), offsets from the tag's start; LAME's own
# fields start 120 bytes in, after the frame and byte counts, the seek table and quality.
_CBR_TAG = b"Info"  # LAME's tag of a constant-bit-rate stream ("Xing" for VBR)
_TAG_FLAGS = 0x0F  # frame count, byte count, seek table and quality all present
_TAG_FRAMES = 8
_TAG_BYTES = 12
_TAG_TOC = 16
_TOC_ENTRIES = 100
_LAME_DELAY_PADDING = 141  # 12 bits of encoder delay, 12 of end padding
_LAME_MUSIC_LENGTH = 148
_LAME_MUSIC_CRC = 152
_LAME_TAG_CRC = 154  # CRC-16 of the frame's bytes before it
_TOC_BAG_SIZE = 400  # LAME's seek-point buffer (VbrTag.c)


class _CannotJoin(Exception):
    """LAME's output is not what the join expects: encode in one piece instead."""


def write_mp3(audio: FloatArray, sample_rate: int, path: Path, quality: str) -> None:
    """Write ``audio`` (float32, (channels, n)) to ``path`` as a CBR MP3 at pedalboard
    ``quality`` (e.g. "256 kbps"): in ``SEGMENTS`` pieces at once when the track is long
    enough and the rate is an MPEG-1 rate, else in one piece."""
    n_frames = audio.shape[1] // FRAME_SAMPLES
    if sample_rate in _MPEG1_RATES and n_frames >= SEGMENTS * MIN_SEGMENT_FRAMES:
        try:
            Path(path).write_bytes(_encode_joined(audio, sample_rate, quality))
            return
        except _CannotJoin:
            pass
    Path(path).write_bytes(_encode(audio, sample_rate, quality))


def _encode(audio: FloatArray, sample_rate: int, quality: str) -> bytes:
    """One LAME run: an Info frame, then the audio frames."""
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", sample_rate, audio.shape[0], format="mp3", quality=quality) as f:
        f.write(np.ascontiguousarray(audio))
    return buffer.getvalue()


@dataclass(frozen=True)
class _Piece:
    """One LAME run over the track's frames from ``first_frame`` on."""

    first_frame: int
    info: bytes
    frames: list[bytes]
    side_info_bytes: int

    def frame(self, index: int) -> bytes:
        """The track's frame ``index`` as this piece encoded it."""
        return self.frames[index - self.first_frame]


def _encode_joined(audio: FloatArray, sample_rate: int, quality: str) -> bytes:
    """``SEGMENTS`` LAME runs at once, joined into one stream with one Info frame."""
    n_frames = audio.shape[1] // FRAME_SAMPLES
    joins = [round(n_frames * i / SEGMENTS) for i in range(1, SEGMENTS)]  # nominal
    first_frames = [0] + [join - LEAD_FRAMES for join in joins]
    stop_samples = [(join + SEARCH_FRAMES + TAIL_FRAMES) * FRAME_SAMPLES for join in joins]
    spans = list(zip(first_frames, [*stop_samples, audio.shape[1]], strict=True))

    def encode_piece(span: tuple[int, int]) -> _Piece:
        first_frame, stop_sample = span
        data = _encode(audio[:, first_frame * FRAME_SAMPLES : stop_sample], sample_rate, quality)
        return _split(data, first_frame, sample_rate, audio.shape[0])

    # The first piece on this thread, the others beside it.
    with ThreadPoolExecutor(SEGMENTS - 1, thread_name_prefix="musewave-mp3") as pool:
        later = [pool.submit(encode_piece, span) for span in spans[1:]]
        pieces = [encode_piece(spans[0]), *(future.result() for future in later)]

    delays = {_delay_padding(piece)[0] for piece in pieces}
    if len(delays) != 1:
        raise _CannotJoin("the pieces have different encoder delays")
    frames: list[bytes] = []
    left = pieces[0]
    next_frame = 0
    for join, right in zip(joins, pieces[1:], strict=True):
        at = _join_frame(left, right, join)
        frames += left.frames[next_frame - left.first_frame : at - left.first_frame]
        frames[-1] = _lend_reservoir(left, right, at)
        left, next_frame = right, at
    frames += left.frames[next_frame - left.first_frame :]
    music = b"".join(frames)
    info = _whole_stream_info(pieces[0], _delay_padding(pieces[-1])[1], len(frames), music)
    return info + music


def _split(data: bytes, first_frame: int, sample_rate: int, channels: int) -> _Piece:
    """LAME's output as its Info frame and audio frames (CBR, MPEG-1 Layer III, no CRC)."""
    side_info_bytes = 32 if channels == 2 else 17
    frames = []
    bit_rates = set()
    position = 0
    while position + _HEADER_BYTES <= len(data):
        header = int.from_bytes(data[position : position + _HEADER_BYTES], "big")
        if (
            header >> 21 != 0x7FF  # frame sync
            or (header >> 19) & 3 != 3  # MPEG-1
            or (header >> 17) & 3 != 1  # Layer III
            or not (header >> 16) & 1  # no CRC
            or (header >> 10) & 3 != _MPEG1_RATES[sample_rate]
            or not 0 < (header >> 12) & 15 < len(_KBPS)
            or ((header >> 6) & 3 == 3) != (channels == 1)  # mode: mono or a stereo one
        ):
            raise _CannotJoin(f"no MPEG-1 Layer III frame at byte {position}")
        bit_rates.add((header >> 12) & 15)
        size = 144_000 * _KBPS[(header >> 12) & 15] // sample_rate + ((header >> 9) & 1)
        frames.append(data[position : position + size])
        position += size
    tag = _HEADER_BYTES + side_info_bytes
    if position != len(data) or len(frames) < 2 or frames[0][tag : tag + 4] != _CBR_TAG:
        raise _CannotJoin("not an Info frame followed by whole frames")
    if len(bit_rates) != 1:  # the seek table written for the joined stream assumes CBR
        raise _CannotJoin("not a constant bit rate")
    if int.from_bytes(frames[0][tag + 4 : tag + 8], "big") != _TAG_FLAGS:
        raise _CannotJoin("the Info frame lacks a field")
    return _Piece(first_frame, frames[0], frames[1:], side_info_bytes)


def _side_info(frame: bytes, side_info_bytes: int) -> int:
    return int.from_bytes(frame[_HEADER_BYTES : _HEADER_BYTES + side_info_bytes], "big")


def _reservoir_bytes(frame: bytes, side_info_bytes: int) -> int:
    """main_data_begin: how many bytes of this frame's main data lie in earlier frames."""
    return _side_info(frame, side_info_bytes) >> (8 * side_info_bytes - 9)


def _last_window_shapes(frame: bytes, side_info_bytes: int) -> tuple[int, ...]:
    """The block type (0 long, 1 start, 2 short, 3 stop) of each channel's second granule:
    the window the next frame's first granule must continue."""
    channels = 2 if side_info_bytes == 32 else 1
    bits = 8 * side_info_bytes
    side = _side_info(frame, side_info_bytes)
    # main_data_begin (9), private bits (5 mono, 3 stereo), scfsi (4 per channel), then 59
    # bits per granule and channel: part2_3_length (12), big_values (9), global_gain (8),
    # scalefac_compress (4), so window_switching_flag is 33 bits in, block_type after it.
    granules_start = 9 + (5 if channels == 1 else 3) + 4 * channels
    shapes = []
    for channel in range(channels):
        at = granules_start + (channels + channel) * 59 + 33
        switching = (side >> (bits - at - 1)) & 1
        shapes.append((side >> (bits - at - 3)) & 3 if switching else 0)
    return tuple(shapes)


def _join_frame(left: _Piece, right: _Piece, nominal: int) -> int:
    """The first frame from ``nominal`` on that ``right`` can take over from ``left``."""
    side = left.side_info_bytes
    for at in range(nominal, nominal + SEARCH_FRAMES):
        same_window = _last_window_shapes(left.frame(at - 1), side) == _last_window_shapes(
            right.frame(at - 1), side
        )
        fits = _reservoir_bytes(right.frame(at), side) <= _reservoir_bytes(left.frame(at), side)
        if same_window and fits:
            return at
    raise _CannotJoin(f"no join near frame {nominal}")


def _lend_reservoir(left: _Piece, right: _Piece, at: int) -> bytes:
    """``left``'s frame ``at - 1`` with the tail its frame ``at`` had borrowed holding what
    ``right``'s frame ``at`` borrows instead (zeros before it: ancillary bytes).

    A frame's main data follows its side info (up to 511 bytes of borrowing fit in one
    frame's payload, which is ~800 bytes at 256 kbps), so only this frame changes."""
    last = bytearray(left.frame(at - 1))
    payload = len(last) - _HEADER_BYTES - left.side_info_bytes
    freed = _reservoir_bytes(left.frame(at), left.side_info_bytes)
    borrowed = _reservoir_bytes(right.frame(at), right.side_info_bytes)
    if freed > payload:
        raise _CannotJoin("the reservoir spans more than one frame")
    donor = right.frame(at - 1)
    last[len(last) - freed :] = bytes(freed - borrowed) + donor[len(donor) - borrowed :]
    return bytes(last)


def _delay_padding(piece: _Piece) -> tuple[int, int]:
    """(encoder delay, end padding) in samples, from the piece's LAME tag."""
    at = _HEADER_BYTES + piece.side_info_bytes + _LAME_DELAY_PADDING
    packed = int.from_bytes(piece.info[at : at + 3], "big")
    return packed >> 12, packed & 0xFFF


def _whole_stream_info(first: _Piece, padding: int, n_frames: int, music: bytes) -> bytes:
    """``first``'s Info frame describing the joined stream."""
    info = bytearray(first.info)
    tag = _HEADER_BYTES + first.side_info_bytes
    size = len(info) + len(music)
    info[tag + _TAG_FRAMES : tag + _TAG_FRAMES + 4] = n_frames.to_bytes(4, "big")
    info[tag + _TAG_BYTES : tag + _TAG_BYTES + 4] = size.to_bytes(4, "big")
    info[tag + _TAG_TOC : tag + _TAG_TOC + _TOC_ENTRIES] = _seek_table(n_frames)
    at = tag + _LAME_DELAY_PADDING
    delay = int.from_bytes(info[at : at + 3], "big") >> 12
    info[at : at + 3] = (delay << 12 | padding).to_bytes(3, "big")
    at = tag + _LAME_MUSIC_LENGTH
    info[at : at + 4] = size.to_bytes(4, "big")
    at = tag + _LAME_MUSIC_CRC
    info[at : at + 2] = crc16(music).to_bytes(2, "big")
    at = tag + _LAME_TAG_CRC
    info[at : at + 2] = crc16(bytes(info[:at])).to_bytes(2, "big")
    return bytes(info)


def _seek_table(n_frames: int) -> bytes:
    """The Xing seek table LAME writes for ``n_frames`` CBR frames (VbrTag.c: seek points
    sampled into a 400-entry buffer that halves its resolution when full)."""
    bag = [0] * _TOC_BAG_SIZE
    want, seen, filled = 1, 0, 0
    for count in range(1, n_frames + 1):  # the sum of bit rates, in frames (CBR)
        seen += 1
        if seen < want:
            continue
        if filled < _TOC_BAG_SIZE:
            bag[filled], filled, seen = count, filled + 1, 0
        if filled == _TOC_BAG_SIZE:
            bag[: _TOC_BAG_SIZE // 2] = bag[1::2]
            want, filled = want * 2, filled // 2
    table = [0] * _TOC_ENTRIES
    for i in range(1, _TOC_ENTRIES):
        index = min(
            math.floor(float(np.float32(i) / np.float32(_TOC_ENTRIES)) * filled), filled - 1
        )
        table[i] = min(int(256.0 * bag[index] / n_frames), 255)
    return bytes(table)


@lru_cache(maxsize=1)
def _crc16_table() -> npt.NDArray[np.uint16]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return np.array(table, dtype=np.uint16)


_CRC_LANES = 4096


def crc16(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005 reflected, initial 0): the CRC of LAME's tag.

    A byte at a time is ~1 s per 4 MB in Python, so the data is cut into ``_CRC_LANES``
    runs whose CRCs are computed side by side with numpy, then chained: with an initial
    value of 0, leading zero bytes change nothing (the data is zero-padded in front), and
    carrying a CRC across a run of zeros is a fixed linear map (two 256-entry tables)."""
    table = _crc16_table()
    run = -(-len(data) // _CRC_LANES) or 1
    padded = np.zeros(_CRC_LANES * run, dtype=np.uint8)
    padded[len(padded) - len(data) :] = np.frombuffer(data, dtype=np.uint8)
    columns = np.ascontiguousarray(padded.reshape(_CRC_LANES, run).T)
    crcs = np.zeros(_CRC_LANES, dtype=np.uint16)
    for column in columns:
        crcs = (crcs >> 8) ^ table[(crcs ^ column) & 0xFF]
    # Where each bit of a CRC goes after ``run`` zero bytes.
    bits = np.array([1 << bit for bit in range(16)], dtype=np.uint16)
    for _ in range(run):
        bits = (bits >> 8) ^ table[bits & 0xFF]
    low = [_xor_of(bits[:8], byte) for byte in range(256)]
    high = [_xor_of(bits[8:], byte) for byte in range(256)]
    crc = 0
    for lane in crcs.tolist():
        crc = low[crc & 0xFF] ^ high[crc >> 8] ^ lane
    return crc


def _xor_of(images: npt.NDArray[np.uint16], byte: int) -> int:
    value = 0
    for bit in range(8):
        if byte >> bit & 1:
            value ^= int(images[bit])
    return value
