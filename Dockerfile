# One image for `musewave serve`, `musewave worker` and the CLI.
#
#   make image                                   # IMAGE=musewave:latest on python:3.11-slim
#   make image BASE_IMAGE=musewave-base:bookworm CA_BUNDLE=/path/to/ca.pem
#
# BASE_IMAGE must be Debian-based with python3 (>= 3.11) and its venv module. CA_BUNDLE (a
# BuildKit secret `ca`) is the CA file pip trusts during the build, for build machines behind
# a TLS-inspecting proxy; it is never written to a layer. Needs BuildKit (the built-in
# Dockerfile frontend: no `# syntax` line, so nothing is pulled).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# pyworld (the vocals' vocoder) ships no wheel for every platform: pip builds it with g++
# and the Python headers (in the build stage only; the runtime image has no compiler).
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        g++ python3-dev \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python3 -m venv /opt/musewave \
    && /opt/musewave/bin/pip install --quiet --upgrade pip \
    && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' >/tmp/requirements.txt \
    && /opt/musewave/bin/pip install --quiet -r /tmp/requirements.txt
COPY src ./src
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/musewave/bin/pip install --quiet --no-deps . \
    && /opt/musewave/bin/pip uninstall --quiet --yes pip \
    && find /opt/musewave -name '__pycache__' -prune -exec rm -rf {} + \
    && /opt/musewave/bin/python -m compileall -q /opt/musewave/lib >/dev/null

FROM ${BASE_IMAGE} AS runtime
# tini reaps zombies and forwards SIGTERM, so workers finish their jobs on `docker stop`;
# pedalboard (the MP3/OGG encoder) links libatomic; fluid-soundfont-gm (MIT) is the
# General-MIDI SoundFont the renderer plays acoustic instruments from; videos and covers set
# text in DejaVu Sans.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini libatomic1 \
        fluid-soundfont-gm fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 1001 musewave \
    && useradd --system --uid 1001 --gid 1001 --home-dir /data --shell /usr/sbin/nologin musewave \
    && mkdir -p /data/assets \
    && chown -R 1001:1001 /data
COPY --from=build /opt/musewave /opt/musewave
COPY deploy/docker/healthcheck.py /opt/musewave/healthcheck.py
ENV PATH=/opt/musewave/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MUSEWAVE_DATA_DIR=/data \
    MUSEWAVE_HOST=0.0.0.0
WORKDIR /data
USER 1001:1001
EXPOSE 8000 9464
# The API's liveness route (`serve`); a `worker` answers on its metrics port instead (the
# script picks by the command the container runs). CLI containers exit before the first check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/musewave/healthcheck.py"]
ENTRYPOINT ["tini", "--", "musewave"]
CMD ["serve"]
