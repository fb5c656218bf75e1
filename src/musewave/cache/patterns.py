"""Redis glob patterns (as in ``SCAN ... MATCH``) matched in Python.

``delete_pattern`` must mean the same thing on every backend, so the in-process cache and the
Redis cache's hashed keys (see ``keys``) are matched with this translation of Redis's own
``stringmatchlen`` rules rather than with ``fnmatch``, whose syntax differs (``[!a]`` vs
``[^a]``, no backslash escapes). Matching is on UTF-8 bytes, like Redis: ``?`` is one byte.

Syntax: ``*`` any run of bytes, ``?`` one byte, ``[abc]``/``[a-z]``/``[^a-z]`` classes,
``\\x`` the literal ``x``. An unterminated ``[`` is rejected as ambiguous.
"""

from __future__ import annotations

import re


class GlobPattern:
    """One compiled pattern; ``matches(key)`` tests a whole logical key."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._regex = re.compile(_translate(pattern.encode()), re.DOTALL)

    def matches(self, key: str) -> bool:
        """Whether the whole of ``key`` matches, Redis-style."""
        return self._regex.fullmatch(key.encode()) is not None


def _translate(pattern: bytes) -> bytes:
    out: list[bytes] = []
    i = 0
    while i < len(pattern):
        char = pattern[i : i + 1]
        if char == b"*":
            out.append(b".*")
        elif char == b"?":
            out.append(b".")
        elif char == b"[":
            regex, i = _translate_class(pattern, i + 1)
            out.append(regex)
            continue
        elif char == b"\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i : i + 1]))
        else:
            out.append(re.escape(char))
        i += 1
    return b"".join(out)


def _translate_class(pattern: bytes, start: int) -> tuple[bytes, int]:
    """Translate the class opened just before ``start``; return it and the index after ``]``."""
    i = start
    negate = pattern[i : i + 1] == b"^"
    if negate:
        i += 1
    members: list[bytes] = []
    while i < len(pattern) and pattern[i : i + 1] != b"]":
        if pattern[i : i + 1] == b"\\" and i + 1 < len(pattern):
            i += 1
            members.append(re.escape(pattern[i : i + 1]))
            i += 1
        elif pattern[i + 1 : i + 2] == b"-" and i + 2 < len(pattern):
            low, high = sorted((pattern[i], pattern[i + 2]))
            members.append(re.escape(bytes([low])) + b"-" + re.escape(bytes([high])))
            i += 3
        else:
            members.append(re.escape(pattern[i : i + 1]))
            i += 1
    if i >= len(pattern):
        raise ValueError(f"unterminated '[' in cache key pattern {pattern.decode()!r}")
    if not members:
        return (b"." if negate else b"(?!)"), i + 1
    return b"[" + (b"^" if negate else b"") + b"".join(members) + b"]", i + 1
