"""Canonical JSON: one byte string per value, so equal data gives equal cache keys."""

from __future__ import annotations

import json


def canonical_json(value: object) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces.

    Raises ``TypeError`` for values JSON cannot represent and ``ValueError`` for NaN or
    infinity (which JSON has no spelling for).
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()
