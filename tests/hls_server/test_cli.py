from __future__ import annotations

import subprocess
from importlib.metadata import entry_points

from hls_server import __version__
from tests.conftest import HLSGATE


def test_console_script_is_declared() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "hlsgate"]
    assert script.value == "hls_server.cli:main"


def test_without_a_command_shows_help() -> None:
    done = subprocess.run(HLSGATE, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "transcode" in done.stderr and "demo" in done.stderr


def test_version() -> None:
    done = subprocess.run([*HLSGATE, "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"hlsgate {__version__}")
