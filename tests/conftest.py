"""Shared factories: real ffmpeg, media generated at test time with lavfi (nothing binary is committed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from transcode.testsrc import testsrc_argv
from transcode.toolchain import Toolchain, find_toolchain

REPO = Path(__file__).resolve().parent.parent
HLSGATE = [sys.executable, "-m", "hls_server.cli"]
CLI_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """The system ffmpeg with its ffprobe: CI installs Debian's; a missing one fails, never skips."""
    found = find_toolchain()
    assert found.ffprobe is not None, "the tests need ffprobe (apt-get install ffmpeg)"
    return found


@pytest.fixture(scope="session")
def no_probe(toolchain: Toolchain) -> Toolchain:
    """Same ffmpeg, but as if no ffprobe existed (the bundled-build situation)."""
    return replace(toolchain, ffprobe=None)


MakeMedia = Callable[..., Path]


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_media(toolchain: Toolchain, media_dir: Path) -> MakeMedia:
    """make_media('name.mp4', seconds=.., size=.., audio=.., video=.., extra=[...]) -> cached path."""
    def make(name: str, *, seconds: float = 3.0, size: str = "640x360", rate: int = 30, video: bool = True,
             audio: bool = True, extra: tuple[str, ...] = ()) -> Path:
        out = media_dir / name
        if not out.exists():
            argv = testsrc_argv(toolchain.ffmpeg, out, seconds=seconds, size=size, rate=rate,
                                video=video, audio=audio)
            argv[-1:-1] = list(extra)  # extra output options go before the output path
            subprocess.run(argv, check=True, timeout=120, stdin=subprocess.DEVNULL)
        return out
    return make


def ffprobe(tc: Toolchain, path: Path, *args: str) -> dict[str, Any]:
    assert tc.ffprobe is not None
    done = subprocess.run([tc.ffprobe, "-v", "error", "-print_format", "json", *args, str(path)],
                          capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliRun:
    """The real ``hlsgate`` command in a subprocess (no terminal attached)."""
    full_env = {k: v for k, v in os.environ.items() if k != "HLSGATE_FFMPEG"}
    full_env.update(env or {})
    done = subprocess.run([*HLSGATE, *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=CLI_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    return CliRun(done.returncode, done.stdout, done.stderr)


def partial_dirs(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(".") and (".partial-" in p.name or
                                                                        ".retired-" in p.name)]


@pytest.fixture
def out_parent(tmp_path: Path) -> Iterator[Path]:
    """A media root for one test; asserts afterwards that no partial directory was left behind."""
    root = tmp_path / "media-root"
    root.mkdir()
    yield root
    assert partial_dirs(root) == [], "a partial directory was left behind"
