"""``hlsgate demo --live``: the origin, a live lavfi source published into its ingest, a URL that plays live,
and a clean end on Ctrl-C (every playlist ends with EXT-X-ENDLIST). Publishing to a server without ingest is
tests/transcode/test_live_run.py's concern."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import HLSGATE

from .serving import http

LIVE_URL = re.compile(r"http://127\.0\.0\.1:\d+/hls/live/master\.m3u8\?token=[A-Za-z0-9_.-]+")
PLAYER_URL = re.compile(r"http://127\.0\.0\.1:\d+/player/\?stream=live&token=[A-Za-z0-9_.-]+")
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
TINY = ["--port", "0", "--size", "160x90", "--ladder", "240p", "--preset", "ultrafast", "--segment-seconds", "1"]
START_SECONDS = 60.0


def media_sequence(playlist: str) -> int:
    return int(next(line for line in playlist.splitlines() if line.startswith("#EXT-X-MEDIA-SEQUENCE:"))
               .split(":", 1)[1])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")}


@pytest.mark.slow
def test_demo_live_plays_live_then_ends_on_ctrl_c(tmp_path: Path) -> None:
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    root = tmp_path / "media"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([*HLSGATE, "demo", "--live", "--media-root", str(root), *TINY], stdout=stdout,
                                stderr=stderr, stdin=subprocess.DEVNULL, env=clean_env())
    try:
        deadline = time.monotonic() + START_SECONDS
        while (found := LIVE_URL.search(out.read_text(encoding="utf-8"))) is None:
            assert proc.poll() is None, err.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "no live URL printed"
            time.sleep(0.2)
        url = found[0]
        assert PLAYER_URL.search(out.read_text(encoding="utf-8"))
        status, master = http(url)
        assert status == 200, master
        variant = next(line for line in master.decode().splitlines() if line and not line.startswith("#"))
        variant_url = url.rsplit("/", 1)[0] + "/" + variant
        status, first = http(variant_url)
        assert status == 200 and "#EXT-X-PROGRAM-DATE-TIME:" in first.decode()
        segment = next(line for line in first.decode().splitlines() if line and not line.startswith("#"))
        status, data = http(variant_url.rsplit("/", 1)[0] + "/" + segment)
        assert status == 200 and data[:1] == b"G"  # an MPEG-TS sync byte: the segment itself was stored
        deadline = time.monotonic() + START_SECONDS
        while media_sequence(http(variant_url)[1].decode()) <= media_sequence(first.decode()):
            assert time.monotonic() < deadline, "the media sequence did not advance"
            time.sleep(0.3)
        assert http(url.split("?", 1)[0])[0] == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    messages = err.read_text(encoding="utf-8")
    assert proc.returncode == 0, messages
    playlists = list((root / "live").glob("*/index.m3u8"))
    assert playlists and all(p.read_text(encoding="utf-8").rstrip().endswith("#EXT-X-ENDLIST") for p in playlists)
    assert JWT.search(messages) is None, "a token reached the logs"
