"""`musewave keys` and the access checks `musewave serve` makes before it starts."""

from __future__ import annotations

from pathlib import Path

from musewave.access import KeyStore
from musewave.config import Settings
from musewave.db import make_engine, make_session_factory
from tests.cli.support import musewave


def run(data_dir: Path, *args: str, **env: str) -> tuple[int, str, str]:
    result = musewave(*args, env={"MUSEWAVE_DATA_DIR": str(data_dir), "COLUMNS": "200", **env})
    return result.returncode, result.stdout, result.stderr


def test_create_prints_the_secret_once_list_hides_it_revoke_ends_it(tmp_path: Path) -> None:
    code, secret, note = run(tmp_path, "keys", "create", "--name", "ci", "--scope", "admin")
    assert code == 0, note
    secret = secret.strip()
    assert secret.startswith("mw_") and "cannot be shown again" in note
    key_id = secret.split("_")[1]

    code, listed, _ = run(tmp_path, "keys", "list")
    assert code == 0 and key_id in listed and "admin" in listed and secret not in listed

    engine = make_engine(Settings(data_dir=tmp_path).resolved_database_url)
    keys = KeyStore(make_session_factory(engine))
    assert keys.authenticate(secret) is not None
    assert run(tmp_path, "keys", "revoke", key_id)[0] == 0
    assert keys.authenticate(secret) is None
    engine.dispose()
    code, _, error = run(tmp_path, "keys", "revoke", "nope")
    assert code == 1 and "no key 'nope'" in error


def test_bad_key_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    code, _, error = run(tmp_path, "keys", "create", "--name", "x", "--rate", "lots")
    assert code == 2 and "--rate 'lots' is not a rate" in error
    code, _, error = run(tmp_path, "keys", "create", "--name", "x", "--scope", "root")
    assert code == 2


def test_serve_refuses_other_machines_or_required_keys_without_any_key(tmp_path: Path) -> None:
    for args, env in (
        (["--host", "0.0.0.0"], {}),
        ([], {"MUSEWAVE_AUTH": "required"}),
    ):
        code, _, error = run(tmp_path, "serve", "--port", "0", *args, **env)
        lines = [line for line in error.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1, error
        assert "no API key exists" in lines[0] and "musewave keys create" in lines[0]
