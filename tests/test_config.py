from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from musewave.config import Settings, get_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MUSEWAVE_"):
            monkeypatch.delenv(name)


def test_defaults_run_embedded_mode_with_nothing_set() -> None:
    settings = Settings()

    assert settings.env == "development"
    assert settings.data_dir == Path("musewave-data")
    assert settings.storage_dir == Path("musewave-data/assets")
    assert settings.resolved_database_url == "sqlite:///musewave-data/musewave.db"
    assert settings.redis_url is None
    assert (settings.concurrency, settings.rate_limit_per_s, settings.lease_ms) == (
        2,
        10.0,
        600_000,
    )
    assert settings.retry_delays_s == (2.0, 6.0, 18.0)


def test_paths_follow_data_dir_unless_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    assert settings.storage_dir == tmp_path / "assets"
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'musewave.db').as_posix()}"
    assert Settings(data_dir=tmp_path, storage_dir=Path("/srv/assets")).storage_dir == Path(
        "/srv/assets"
    )
    assert Settings(database_url="postgresql://db/mw").resolved_database_url == "postgresql://db/mw"


def test_environment_variables_are_prefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSEWAVE_ENV", "production")
    monkeypatch.setenv("MUSEWAVE_DATA_DIR", "/var/lib/musewave")
    monkeypatch.setenv("MUSEWAVE_PORT", "9000")
    monkeypatch.setenv("MUSEWAVE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("MUSEWAVE_RETRY_DELAYS_S", "1, 5,25")

    settings = get_settings()

    assert settings.is_production
    assert settings.storage_dir == Path("/var/lib/musewave/assets")
    assert (settings.port, settings.log_level) == (9000, "warning")
    assert settings.retry_delays_s == (1.0, 5.0, 25.0)


def test_retry_delays_accept_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSEWAVE_RETRY_DELAYS_S", "[3, 9]")

    assert get_settings().retry_delays_s == (3.0, 9.0)


@pytest.mark.parametrize(
    "field, value",
    [("retry_delays_s", "2,-1"), ("rate_limit_per_s", 0), ("concurrency", 0), ("env", "staging")],
)
def test_invalid_values_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({field: value})


def test_a_soundfont_must_be_a_file_or_none(tmp_path: Path) -> None:
    font = tmp_path / "font.sf2"
    font.write_bytes(b"RIFF")
    assert Settings(soundfont=f" {font} ").soundfont == str(font)
    assert Settings(soundfont="none").soundfont == "none"
    assert Settings().soundfont == ""  # the engine's own choice
    with pytest.raises(ValidationError, match=r"readable \.sf2 file"):
        Settings(soundfont=str(tmp_path / "typo.sf2"))
