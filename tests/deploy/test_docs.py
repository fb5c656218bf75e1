"""docs/DEPLOYMENT.md stays true: its configuration reference is what Settings is, every
setting is described, and the files and make targets it names exist."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from musewave.config import Settings
from tests.deploy.conftest import ROOT

DOC = ROOT / "docs" / "DEPLOYMENT.md"
# Named by the guide, made by the operator, never shipped.
OPERATOR_FILES = {"deploy/.env"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "config_reference", ROOT / "scripts" / "config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_generated_from_settings() -> None:
    reference = generator()
    text = DOC.read_text()
    assert reference.rewritten(text) == text, (
        "docs/DEPLOYMENT.md is out of date: run PYTHONPATH=src scripts/config_reference.py"
    )
    for name in Settings.model_fields:
        assert f"| `MUSEWAVE_{name.upper()}` |" in text, name


def test_every_setting_is_described() -> None:
    assert generator().undescribed() == []


def test_files_and_make_targets_the_guide_names_exist() -> None:
    text = DOC.read_text()
    paths = set(re.findall(r"`((?:deploy|scripts|tests|bench|docs)/[\w./-]+)`", text))
    assert len(paths) > 10
    missing = sorted(p for p in paths - OPERATOR_FILES if not (ROOT / p.rstrip("/")).exists())
    assert not missing, missing
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z-]+)", text)):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
