# hlsgate: `make demo` runs the main job, `make test` runs the checks. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hlsgate demo

# The tests use the system's ffmpeg and ffprobe (the demo can do without: the imageio-ffmpeg wheel ships one),
# and the origin benchmark's smoke test runs nginx (secure_link) and wrk, all from Debian's packages.
SYSTEM_PACKAGES := ffmpeg nginx-light wrk
system-deps:
	@missing=""; \
	{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || missing="$$missing ffmpeg"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "make test needs:$$missing (sudo apt-get install$$missing)" >&2; exit 1; \
	    fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: system-deps lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/transcode_ladder.py
	$(BIN)/python bench/rewrite_micro.py
	$(BIN)/python bench/origin_throughput.py

clean:
	rm -rf $(VENV) demo-media test-artifacts bench/out .pytest_cache .mypy_cache .ruff_cache
