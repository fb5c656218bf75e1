"""Process memory tuning for rendering processes."""

from __future__ import annotations

import platform

import pytest

from musewave.engine.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_malloc_arenas_can_be_capped() -> None:
    assert limit_malloc_arenas(8) is True  # 8: what this test process would use anyway
