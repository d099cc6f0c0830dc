# hlsgate: `make demo` runs the main job, `make test` runs the checks. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The web player: hls.js and esbuild from the npm registry at the lockfile's versions (npm ci), bundled into
# player/dist (npm run build), the folder the origin serves at /player/ and the wheel ships.
PLAYER_DEPS := player/node_modules/.package-lock.json
PLAYER := player/dist/.built
PLAYER_SOURCES := $(shell find player -path player/node_modules -prune -o -path player/dist -prune -o -type f -print)

.PHONY: demo demo-live test lint bench clean system-deps player wheel

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(PLAYER_DEPS): player/package.json player/package-lock.json
	@command -v npm >/dev/null || { echo "the web player needs Node.js and npm (sudo apt-get install npm)" >&2; exit 1; }
	npm ci --prefix player --no-audit --no-fund --loglevel=error
	touch $(PLAYER_DEPS)

$(PLAYER): $(PLAYER_DEPS) $(PLAYER_SOURCES)
	npm run --prefix player --silent build
	touch $(PLAYER)

player: $(PLAYER)

demo: $(STAMP) $(PLAYER)
	$(BIN)/hlsgate demo

demo-live: $(STAMP) $(PLAYER)
	$(BIN)/hlsgate demo --live

# dist/: the sdist and the wheel built from it (python -m build). setup.py runs npm ci and npm run build itself;
# a player built beforehand lets the sdist's metadata list hls.js's licence too (setup.py looks when it starts).
wheel: $(STAMP) $(PLAYER)
	$(BIN)/python -m build --outdir dist .

# The tests use the system's ffmpeg and ffprobe (the demo can do without: the imageio-ffmpeg wheel ships one),
# the origin benchmark's smoke test runs nginx (secure_link) and wrk, the RTMP tests nginx's RTMP module, and the player tests drive Chromium
# through Playwright, all from Debian's packages.
system-deps:
	@missing=""; \
	{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || missing="$$missing ffmpeg"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing="$$missing libnginx-mod-rtmp"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-liberation"; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "make test needs:$$missing (sudo apt-get install$$missing)" >&2; exit 1; \
	    fi; \
	fi

lint: $(STAMP) $(PLAYER_DEPS)
	$(BIN)/ruff check .
	$(BIN)/mypy
	npm run --prefix player lint

test: system-deps lint $(PLAYER)
	npm test --prefix player
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/transcode_ladder.py
	$(BIN)/python bench/rewrite_micro.py
	$(BIN)/python bench/origin_throughput.py

clean:
	rm -rf $(VENV) player/node_modules player/dist build dist *.egg-info hls_server/player_dist demo-media test-artifacts bench/out .pytest_cache .mypy_cache .ruff_cache
