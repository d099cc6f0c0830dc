"""``hlsgate demo --live``: the origin, a live lavfi source published into its ingest, a URL that plays live,
and a clean end on Ctrl-C (every playlist ends with EXT-X-ENDLIST). Publishing to a server without ingest is
tests/transcode/test_live_run.py's concern."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import HLSGATE

from .serving import http

STREAM, ROOM = "studio-cam1", "studio"  # the demo publishes a participant of a room with the room's token
LIVE_URL = re.compile(rf"http://127\.0\.0\.1:\d+/hls/{STREAM}/master\.m3u8\?token=[A-Za-z0-9_.-]+")
PLAYER_URL = re.compile(rf"http://127\.0\.0\.1:\d+/player/\?group={ROOM}&token=([A-Za-z0-9_.-]+)")
LIVE_SECONDS = 15.0  # how long the test watches the live stream grow
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
TINY = ["--port", "0", "--size", "160x90", "--ladder", "240p", "--preset", "ultrafast", "--segment-seconds", "1"]
START_SECONDS = 60.0


def media_sequence(playlist: str) -> int:
    return int(next(line for line in playlist.splitlines() if line.startswith("#EXT-X-MEDIA-SEQUENCE:"))
               .split(":", 1)[1])


def decodes(url: str, tmp_path: Path) -> bool:
    """ffprobe reads a video frame of the segment behind ``url`` (fetched first: its URL carries a token)."""
    status, data = http(url)
    if status != 200:
        return False
    segment = tmp_path / "segment.ts"
    segment.write_bytes(data)
    done = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                           "stream=nb_read_frames", "-of", "csv=p=0", str(segment)], capture_output=True, text=True,
                          timeout=30, check=False)
    counts = [int(line) for line in done.stdout.split() if line.isdigit()]  # one line per program and stream
    return done.returncode == 0 and bool(counts) and min(counts) > 0


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
        # The room's player config lists the participant, live, for the room's play token.
        player = PLAYER_URL.search(out.read_text(encoding="utf-8"))
        assert player
        origin = url.split("/hls/", 1)[0]
        status, body = http(f"{origin}/api/v1/player-config?group={ROOM}&token={player[1]}")
        assert status == 200, body
        assert [(s["id"], s["live"]) for s in json.loads(body)["source"]["streams"]] == [(STREAM, True)]
        # For about 15 s: the media sequence keeps advancing, and each new segment decodes.
        decoded, last = 0, media_sequence(first.decode())
        watch_until = time.monotonic() + LIVE_SECONDS
        while time.monotonic() < watch_until:
            playlist = http(variant_url)[1].decode()
            if media_sequence(playlist) > last:
                last = media_sequence(playlist)
                newest = [line for line in playlist.splitlines() if line and not line.startswith("#")][-1]
                assert decodes(variant_url.rsplit("/", 1)[0] + "/" + newest, tmp_path), newest
                decoded += 1
            time.sleep(0.3)
        assert decoded >= 5, f"only {decoded} new segments in {LIVE_SECONDS:g} s"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    messages = err.read_text(encoding="utf-8")
    assert proc.returncode == 0, messages
    playlists = list((root / STREAM).glob("*/index.m3u8"))
    assert playlists and all(p.read_text(encoding="utf-8").rstrip().endswith("#EXT-X-ENDLIST") for p in playlists)
    assert JWT.search(messages) is None, "a token reached the logs"
