# One command per routine task. Everything runs inside ./.venv, created on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
comma := ,

.PHONY: install install-dev demo serve test lint format bench bench-planner bench-speed \
	bench-vocals bench-queue vendor-docs-assets clean image loadtest listen \
	test-node-packages soundfont

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.runtime $(VENV)/.soundfont
install-dev: $(VENV)/.dev $(VENV)/.soundfont

# Debian's fluid-soundfont-gm, the GM SoundFont the renderer prefers, when apt-get may run
# (root, or sudo without a password); otherwise one line says the small font is used. Tried
# once per virtualenv (`make soundfont` tries again).
$(VENV)/.soundfont: $(VENV)/.runtime
	scripts/install-soundfont $(BIN)/python
	touch $@

soundfont: $(VENV)/.runtime
	scripts/install-soundfont $(BIN)/python
	touch $(VENV)/.soundfont

demo: install
	$(BIN)/musewave generate "dreamy synthwave at night, 100 bpm" --genre synthwave \
		--duration 60 --seed 7 --format mp3,wav --stems --midi -o out/demo

serve: install
	$(BIN)/musewave serve

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: install-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Private PostgreSQL and Redis for the tests (installed with apt-get when missing), stopped after.
# Line and branch coverage of src/, servers and workers included (see [tool.coverage] in
# pyproject.toml).
test: lint
	scripts/test-services $(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

# The npm packages the Node.js and browser tests use (BullMQ, Bull Board, axe-core), from their
# lock files into git-ignored node_modules folders. The tests also do this on first use.
test-node-packages:
	cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error
	cd tests/browser/node && npm ci --no-audit --no-fund --loglevel=error

bench: install-dev
	$(BIN)/python bench/engine_bench.py

# The LLM planner's overhead per plan and its fallback rate, against loopback stand-ins.
bench-planner: install-dev
	PYTHONPATH=src $(BIN)/python bench/planner_bench.py

# A 120 s track as a user waits for it: the shell command, a job, the render, the LAME floor.
bench-speed: install-dev
	$(BIN)/python bench/speed_bench.py

# The singer: pocketsphinx WER against plain espeak-ng speech, pYIN pitch, caption timing, cost.
bench-vocals: install-dev
	$(BIN)/python bench/vocals_bench.py

# BullMQ + PostgreSQL queue benchmark, on private servers as for the tests.
bench-queue: install-dev
	scripts/test-services $(BIN)/python bench/queue_bench.py

# Re-fetch the Swagger UI and ReDoc files that /docs and /redoc serve (needs npm); commit them.
vendor-docs-assets:
	scripts/vendor-docs-assets

# The container image (Dockerfile). IMAGE: its tag. BASE_IMAGE: a Debian-based Python image
# (`scripts/docker-base-image` makes one where no registry is reachable). CA_BUNDLE: a CA file
# the build's pip must trust (TLS-inspecting proxies), passed as a BuildKit secret, never
# stored in the image. DOCKER: a client that builds with BuildKit (`scripts/docker-up` finds
# one and starts the daemon).
IMAGE ?= musewave:latest
BASE_IMAGE ?= python:3.11-slim-bookworm
CA_BUNDLE ?=
DOCKER ?= docker

image:
	DOCKER_BUILDKIT=1 $(DOCKER) build --pull=false --tag $(IMAGE) \
		--build-arg BASE_IMAGE=$(BASE_IMAGE) \
		$(if $(CA_BUNDLE),--secret id=ca$(comma)src=$(CA_BUNDLE)) .
	@$(DOCKER) image inspect $(IMAGE) --format '$(IMAGE): {{.Size}} bytes'

# A bounded Locust run (bench/locustfile.py) against a local server on loopback; writes
# out/loadtest/summary.md. LOADTEST_DURATION, LOADTEST_USERS, LOADTEST_HOST: see scripts/loadtest.
loadtest: install-dev
	LOADTEST_PYTHON=$(BIN)/python scripts/loadtest

# The listening bench (bench/listen): pretrained taggers, transcriber, key and tempo models in
# their own environment (LISTEN_VENV, Python 3.9-3.11) listen to renders of SRC. Not part of
# `test`. LISTEN_ARGS: e.g. --quick, or --genres trap,pop --per-genre 2. RENDER_PYTHON: a
# Python with MuseWave's dependencies (default: this repo's .venv, installed on first use).
LISTEN_PYTHON ?= python3.11
LISTEN_VENV ?= bench/listen/.venv
SRC ?= $(CURDIR)/src
RENDER_PYTHON ?= $(BIN)/python
LISTEN_ARGS ?=

$(LISTEN_VENV)/.ready: bench/listen/requirements.txt bench/listen/requirements-nodeps.txt
	$(LISTEN_PYTHON) -m venv $(LISTEN_VENV)
	$(LISTEN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LISTEN_VENV)/bin/python -m pip install --quiet -r bench/listen/requirements.txt
	$(LISTEN_VENV)/bin/python -m pip install --quiet --no-deps -r bench/listen/requirements-nodeps.txt
	touch $@

listen: $(LISTEN_VENV)/.ready $(if $(filter $(BIN)/python,$(RENDER_PYTHON)),$(VENV)/.runtime)
	$(LISTEN_VENV)/bin/python bench/listen/listen.py --src $(SRC) \
		--render-python $(RENDER_PYTHON) $(LISTEN_ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
