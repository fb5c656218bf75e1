"""The stored value layout and the key layout, without a server."""

from __future__ import annotations

import os

import pytest

from musewave.cache.codec import COMPRESSED, HAS_KEY, CorruptValueError, ValueCodec, key_length
from musewave.cache.keys import physical_key, sha256_hex

CODEC = ValueCodec()


def test_compressible_values_over_1_kb_are_compressed() -> None:
    value = b"la " * 1000
    stored = CODEC.encode(value)
    assert stored[0] == COMPRESSED
    assert len(stored) < len(value) // 10
    assert CODEC.decode(stored) == value


@pytest.mark.parametrize(
    "value", [b"", b"x" * 1024, os.urandom(4096)], ids=["empty", "exactly-1kb", "random"]
)
def test_small_or_incompressible_values_are_stored_raw(value: bytes) -> None:
    stored = CODEC.encode(value)
    assert stored == b"\x00" + value
    assert CODEC.decode(stored) == value


def test_raw_and_compressed_values_decode_with_any_threshold() -> None:
    value = b"chord " * 500
    never = ValueCodec(compress_min_bytes=10**9)
    assert CODEC.decode(never.encode(value)) == value
    assert never.decode(CODEC.encode(value)) == value


def test_embedded_logical_key_is_readable_from_the_header() -> None:
    key = "ключ:" + "k" * 300
    stored = CODEC.encode(b"chord " * 500, logical_key=key)
    assert stored[0] == COMPRESSED | HAS_KEY
    length = key_length(stored[:5])
    assert stored[5 : 5 + length].decode() == key
    assert CODEC.decode(stored) == b"chord " * 500


@pytest.mark.parametrize("stored", [b"", b"\x80abc", b"\x01not zlib", b"\x02\x00"])
def test_foreign_bytes_are_reported_as_corrupt(stored: bytes) -> None:
    with pytest.raises(CorruptValueError):
        CODEC.decode(stored)


def test_short_keys_stay_readable_and_long_ones_are_hashed() -> None:
    assert physical_key("plans", "fp:abc") == "musewave:plans:fp:abc"
    long_key = "k" * 201
    assert physical_key("plans", long_key) == f"musewave:plans:#{sha256_hex(long_key.encode())}"
    assert physical_key("plans", "#x") == f"musewave:plans:#{sha256_hex(b'#x')}"
    assert physical_key("plans", "k" * 200) == "musewave:plans:" + "k" * 200
