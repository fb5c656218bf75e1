"""The container image: built from the Dockerfile on a local base, it renders a track as the
non-root user, reports healthy when serving, and carries no build tools or secrets."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import av

from tests.deploy.conftest import BuiltImage, Docker

RUNTIME_USER = "1001:1001"
MAX_IMAGE_BYTES = 1_500_000_000


def inspect(docker: Docker, tag: str) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(docker.out("image", "inspect", tag))
    return data[0]


def test_image_runs_as_non_root_under_tini_with_a_healthcheck(
    docker: Docker, image: BuiltImage
) -> None:
    info = inspect(docker, image.tag)
    config = info["Config"]
    assert isinstance(config, dict)
    assert config["User"] == RUNTIME_USER
    assert config["Entrypoint"] == ["tini", "--", "musewave"]
    assert config["Cmd"] == ["serve"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "/opt/musewave/healthcheck.py"]
    assert {"8000/tcp", "9464/tcp"} <= set(config["ExposedPorts"])
    size = info["Size"]
    assert isinstance(size, int)
    print(f"\n{image.tag}: {size / 1e6:.0f} MB, built in {image.build_s:.0f} s")
    assert size < MAX_IMAGE_BYTES


def test_generate_renders_a_decodable_mp3_as_uid_1001(
    docker: Docker, image: BuiltImage, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.chown(out, 1001, 1001)
    result = docker.run(
        "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
        "-v", f"{out}:/out", image.tag,
        "generate", "calm lofi test", "--genre", "lofi", "--duration", "10", "--seed", "3",
        "--format", "mp3", "--json", "-o", "/out",
        timeout=300,
    )  # fmt: skip
    summary = json.loads(result.stdout)
    assert summary, result.stdout
    mix = out / "mix.mp3"
    assert mix.stat().st_uid == 1001
    with av.open(str(mix)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        assert abs(samples / stream.rate - 10.0) < 0.1


def test_image_has_no_compilers_pip_caches_or_build_secrets(
    docker: Docker, image: BuiltImage
) -> None:
    # As root, so that nothing is hidden by permissions; a CA file would be a PEM anywhere.
    script = (
        "for tool in gcc cc g++ make pip pip3; do command -v $tool; done; "
        "for dir in /root/.cache /data/.cache /run/secrets /src; do "
        "  [ -e $dir ] && echo $dir; done; "
        "ls /opt/musewave/bin | grep -x 'pip.*'; "
        # Source files that handle PEM text (google-auth, pyasn1-modules) are not certificates.
        "grep -rlsI --exclude='*.py' 'BEGIN CERTIFICATE' /opt /root /tmp /data 2>/dev/null "
        "  | grep -v '/site-packages/certifi/'; true"
    )
    found = docker.out("run", "--rm", "--user", "0", "--entrypoint", "sh", image.tag, "-c", script)
    assert found == ""


def test_every_native_module_finds_its_libraries(docker: Docker, image: BuiltImage) -> None:
    # Python extension modules; the libraries wheels bundle (in <package>.libs/) are found
    # through the modules' run paths, which ldd on a bundled library alone does not apply.
    script = (
        "find /opt/musewave -name '*.so*' -type f -not -path '*.libs/*' | while read -r lib; do "
        'ldd "$lib" | grep "not found" | sed "s|^|$lib: |"; done; true'
    )
    assert docker.out("run", "--rm", "--entrypoint", "sh", image.tag, "-c", script) == ""


def test_serving_container_turns_healthy_and_stops_on_sigterm(
    docker: Docker, image: BuiltImage
) -> None:
    name = f"musewave-health-{uuid.uuid4().hex[:8]}"
    docker.run(
        "run", "-d", "--name", name, "--health-interval", "1s", "--health-start-period", "60s",
        "-e", "MUSEWAVE_AUTH=off", "-e", "MUSEWAVE_CONCURRENCY=1", image.tag,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:
            status = docker.out("inspect", "--format", "{{.State.Health.Status}}", name)
            if status in ("healthy", "unhealthy"):
                break
            time.sleep(1)
        logs = docker.run("logs", name).stderr
        assert status == "healthy", logs
        started = time.monotonic()
        docker.run("stop", "--time", "20", name)
        assert time.monotonic() - started < 15, "SIGTERM did not reach the server (tini?)"
        exit_code = docker.out("inspect", "--format", "{{.State.ExitCode}}", name)
        assert exit_code == "0", docker.run("logs", name).stderr
    finally:
        docker.run("rm", "-f", name, check=False)
