"""The byte layout of a value stored in Redis.

::

    flags (1 byte) | [key length (4 bytes, big-endian) | logical key (UTF-8)] | body

``flags`` bit 0 means the body is zlib-compressed; bit 1 means the logical key header is
present (only for hashed keys, see ``keys``). Bodies over ``compress_min_bytes`` are
compressed when that makes them smaller, so compressed and raw values mix freely in one
namespace and every reader decodes both.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

COMPRESSED = 0x01
HAS_KEY = 0x02
_KNOWN_FLAGS = COMPRESSED | HAS_KEY
_KEY_LENGTH = struct.Struct(">I")
HEADER_PREFIX_BYTES = 1 + _KEY_LENGTH.size
DEFAULT_COMPRESS_MIN_BYTES = 1024


class CorruptValueError(ValueError):
    """A stored value that this codec cannot decode."""


@dataclass(frozen=True, slots=True)
class ValueCodec:
    """Encode and decode stored values.

    ``compress_min_bytes``: bodies longer than this (bytes) are compressed.
    ``level``: zlib level 1 (fast) to 9 (small).
    """

    compress_min_bytes: int = DEFAULT_COMPRESS_MIN_BYTES
    level: int = 6

    def encode(self, value: bytes, *, logical_key: str | None = None) -> bytes:
        """The stored form of ``value``; ``logical_key`` is embedded when given."""
        flags = 0
        body = value
        if len(value) > self.compress_min_bytes:
            compressed = zlib.compress(value, self.level)
            if len(compressed) < len(value):
                flags |= COMPRESSED
                body = compressed
        header = b""
        if logical_key is not None:
            flags |= HAS_KEY
            encoded_key = logical_key.encode()
            header = _KEY_LENGTH.pack(len(encoded_key)) + encoded_key
        return bytes([flags]) + header + body

    def decode(self, stored: bytes) -> bytes:
        """The original value; raises ``CorruptValueError`` if ``stored`` is not ours."""
        flags = _flags_of(stored)
        offset = 1
        if flags & HAS_KEY:
            offset = HEADER_PREFIX_BYTES + key_length(stored)
        body = stored[offset:]
        if not flags & COMPRESSED:
            return body
        try:
            return zlib.decompress(body)
        except zlib.error as exc:
            raise CorruptValueError(f"bad zlib body: {exc}") from exc


def key_length(header_prefix: bytes) -> int:
    """Length (bytes) of the embedded logical key, from the first ``HEADER_PREFIX_BYTES``.

    Returns 0 when the value has no key header.
    """
    if not _flags_of(header_prefix) & HAS_KEY:
        return 0
    if len(header_prefix) < HEADER_PREFIX_BYTES:
        raise CorruptValueError("truncated key header")
    (length,) = _KEY_LENGTH.unpack_from(header_prefix, 1)
    return int(length)


def _flags_of(stored: bytes) -> int:
    if not stored:
        raise CorruptValueError("empty stored value")
    flags = stored[0]
    if flags & ~_KNOWN_FLAGS:
        raise CorruptValueError(f"unknown flags 0x{flags:02x}")
    return flags
