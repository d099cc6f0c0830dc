"""``hlsgate demo``: the README's main command transcodes, serves and prints a URL that really plays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import HLSGATE

from .serving import DEMO_PLAYER_URL, DEMO_VOD_URL

STARTUP_SECONDS = 90


def test_demo_serves_a_playable_tokenised_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")}
    proc = subprocess.Popen([*HLSGATE, "demo", "--media-root", str(tmp_path / "media"), "--seconds", "2",
                             "--ladder", "360p", "--preset", "ultrafast", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = DEMO_VOD_URL.search(line)
            url = found.group(0) if found else None
        assert url is not None, "".join(lines)
        player = next((m for m in map(DEMO_PLAYER_URL.search, lines) if m), None)
        assert player is not None, "".join(lines)  # printed before the VoD URL
        with urllib.request.urlopen(player.group(0), timeout=10) as response:  # noqa: S310 (loopback)
            assert b"<html" in response.read().lower()
        config_url = f"{player['base']}/api/v1/player-config?group=demo-group"
        config_request = urllib.request.Request(  # noqa: S310 (loopback)
            config_url, headers={"Authorization": f"Bearer {player['token']}"})
        with urllib.request.urlopen(config_request, timeout=10) as response:  # noqa: S310
            config = json.load(response)
        assert [s["id"] for s in config["source"]["streams"]] == ["demo"]
        assert [e["label"] for e in config["source"]["entries"]] == ["360p"]
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback URL we just read)
            playlist = response.read().decode()
        variant = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
        assert "token=" in variant
        bare = url.split("?", 1)[0]
        try:
            urllib.request.urlopen(bare, timeout=10)  # noqa: S310
            raise AssertionError("the master playlist was served without a token")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        # Read the pipes through the same buffered objects readline() used (communicate() would skip
        # what they already hold). The server writes little to either, so neither pipe can fill up.
        assert proc.stdout is not None and proc.stderr is not None
        out, errors = proc.stdout.read(), proc.stderr.read()
    assert proc.returncode == 0, errors
    everything = "".join(lines) + out
    secret_line = next(line for line in everything.splitlines() if line.startswith("Viewer secret"))
    secret = secret_line.rsplit(" ", 1)[1].strip()
    assert len(secret) >= 32
    assert everything.count(secret) == 1 and secret not in errors, "the secret was printed again or logged"
    assert "token=[redacted]" in everything  # the access log saw the requests, without their token
