"""Docker for the deployment tests: a daemon (started here when none runs), a base image
bootstrapped locally (no registry is needed), and the MuseWave image built from the
Dockerfile with `make image`, once per session.

Without a working ``dockerd`` the Docker tests are skipped, loudly; with ``CI`` set they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("MUSEWAVE_TEST_BASE_IMAGE", "musewave-base:bookworm")
IMAGE = os.environ.get("MUSEWAVE_TEST_IMAGE", "musewave:test")


@dataclass(frozen=True)
class Docker:
    """The docker client that builds with BuildKit, and how to run it."""

    client: str

    def run(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        result = subprocess.run(
            [self.client, *args], capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def out(self, *args: str, timeout: float = 600) -> str:
        return self.run(*args, timeout=timeout).stdout.strip()


def unavailable(message: str) -> None:
    """Skip (locally) or fail (CI) a test that needs Docker, saying so loudly."""
    if in_ci():
        pytest.fail(f"CI must run the Docker tests: {message}", pytrace=False)
    banner = f"DOCKER TESTS SKIPPED: {message}"
    warnings.warn(banner, stacklevel=2)
    print(f"\n{'!' * 80}\n{banner}\n{'!' * 80}")
    pytest.skip(banner)


def run_script(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def docker() -> Docker:
    """A Docker daemon that answers (``scripts/docker-up`` installs and starts it)."""
    if shutil.which("bash") is None:
        unavailable("no bash to run scripts/docker-up")
    result = run_script(["scripts/docker-up"], timeout=600)
    if result.returncode != 0:
        unavailable(f"dockerd cannot start here: {result.stderr.strip()}")
    return Docker(result.stdout.strip().splitlines()[-1])


def pip_ca_bundle() -> str | None:
    """The CA file pip on this machine trusts (PIP_CERT or pip's ``global.cert``), if any."""
    path = os.environ.get("PIP_CERT", "").strip()
    if not path:
        result = subprocess.run(
            ["python3", "-m", "pip", "config", "get", "global.cert"],
            capture_output=True,
            text=True,
            check=False,
        )
        path = result.stdout.strip().strip("'\"")
    return path if path and Path(path).is_file() else None


STANDINS = ROOT / "tests" / "deploy" / "standins"
STANDIN_TARGETS = ("redis", "postgres", "prometheus")


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    build_s: float


@pytest.fixture(scope="session")
def base_image(docker: Docker) -> str:
    """A Debian bookworm base with python3 and venv, bootstrapped here when missing."""
    env = {**os.environ, "DOCKER": docker.client}
    result = subprocess.run(
        ["scripts/docker-base-image", BASE_IMAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return BASE_IMAGE


@pytest.fixture(scope="session")
def image(docker: Docker, base_image: str) -> BuiltImage:
    """The MuseWave image, built with ``make image`` on the local base (build time measured)."""
    command = [
        "make",
        "--no-print-directory",
        "image",
        f"IMAGE={IMAGE}",
        f"BASE_IMAGE={base_image}",
        f"DOCKER={docker.client}",
    ]
    ca_bundle = pip_ca_bundle()
    if ca_bundle:
        command.append(f"CA_BUNDLE={ca_bundle}")
    started = time.monotonic()
    result = run_script(command, timeout=1800)
    build_s = time.monotonic() - started
    assert result.returncode == 0, f"make image failed:\n{result.stdout}\n{result.stderr}"
    print(f"\nmake image: {build_s:.0f} s; {result.stdout.strip().splitlines()[-1]}")
    return BuiltImage(IMAGE, build_s)


@pytest.fixture(scope="session")
def standin_images(docker: Docker, base_image: str) -> dict[str, str]:
    """Local stand-ins for the official Redis, PostgreSQL and Prometheus images (Debian
    packages on the local base): target → tag."""
    tags = {}
    for target in STANDIN_TARGETS:
        tag = f"musewave-standin-{target}:test"
        docker.run(
            "build", "--quiet", "--target", target, "--build-arg", f"BASE_IMAGE={base_image}",
            "--tag", tag, str(STANDINS),
            timeout=900,
        )  # fmt: skip
        tags[target] = tag
    return tags


@pytest.fixture(scope="session")
def compose_command(docker: Docker) -> list[str]:
    """docker-compose 1.29 (Debian, installed by scripts/test-services) or ``docker compose``."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if docker.run("compose", "version", check=False).returncode == 0:
        return [docker.client, "compose"]
    unavailable("neither docker-compose nor `docker compose` is installed")
    raise AssertionError("unreachable")
