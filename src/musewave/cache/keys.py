"""How a (namespace, logical key) pair becomes a Redis key.

Layout::

    musewave:{namespace}:{logical key}         short keys (<= 200 UTF-8 bytes), stored as is
    musewave:{namespace}:#{sha256(logical)}     long keys, and keys starting with "#"

Why not hash every key: ``delete_pattern`` takes a glob over *logical* keys and must run as
``SCAN ... MATCH`` (never ``KEYS``). With the logical key readable in the Redis key, the
caller's pattern is simply appended to the literal namespace prefix and Redis does the
matching, one SCAN page at a time, with no side index to keep consistent with TTL expiry.
The keys MuseWave writes are short already (request fingerprints and ``cached`` keys are
SHA-256 hex digests), so the readable form is the normal case.

Long keys are hashed to bound key size. Their logical key is kept in the stored value's
header (see ``codec``), so ``delete_pattern`` makes a second pass, ``SCAN MATCH
musewave:{namespace}:#*``, reads those headers and matches them in Python with the same
glob rules (``patterns``). A plain key never starts with ``#``, so the two forms cannot
collide and the first pass can skip hashed keys exactly.

Namespaces are restricted to ``[A-Za-z0-9][A-Za-z0-9_.-]*`` (no ``:`` and no glob
characters), so a pattern can never reach outside its namespace's prefix.
"""

from __future__ import annotations

import hashlib
import re

ROOT = "musewave"
HASHED_MARKER = "#"
MAX_PLAIN_KEY_BYTES = 200
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` or raise ``ValueError`` if it could break key isolation."""
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"cache namespace {namespace!r} must match {_NAMESPACE.pattern} (1-64 characters)"
        )
    return namespace


def namespace_prefix(namespace: str) -> str:
    """``musewave:{namespace}:``, the literal start of every key in the namespace."""
    return f"{ROOT}:{validate_namespace(namespace)}:"


def is_hashed(key: str) -> bool:
    """Whether ``key`` is stored under its SHA-256 rather than as itself."""
    return key.startswith(HASHED_MARKER) or len(key.encode()) > MAX_PLAIN_KEY_BYTES


def physical_key(namespace: str, key: str) -> str:
    """The Redis key for logical ``key`` in ``namespace``."""
    if is_hashed(key):
        return namespace_prefix(namespace) + HASHED_MARKER + sha256_hex(key.encode())
    return namespace_prefix(namespace) + key


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
