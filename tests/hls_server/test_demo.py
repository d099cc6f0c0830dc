"""``hlsgate demo``: the README's main command transcodes, serves and prints a URL that really plays."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .http import bearer
from .serving import DEMO_PLAYER_URL, http, running_demo


def test_demo_serves_a_playable_tokenised_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")}
    with running_demo(tmp_path / "demo", "--media-root", str(tmp_path / "media"), "--seconds", "2",
                      "--ladder", "360p", "--preset", "ultrafast", env=env) as demo:
        printed = demo.stdout.read_text(encoding="utf-8")
        assert printed.index(demo.player_url) < printed.index(demo.vod_url)  # the player URL comes first
        status, page = http(demo.player_url)
        assert status == 200 and b"<html" in page.lower()
        player = DEMO_PLAYER_URL.search(demo.player_url)
        assert player is not None
        status, raw = http(f"{demo.url}/api/v1/player-config?group=demo-group", headers=bearer(player["token"]))
        assert status == 200, raw
        config = json.loads(raw)
        assert [s["id"] for s in config["source"]["streams"]] == ["demo"]
        assert [e["label"] for e in config["source"]["entries"]] == ["360p"]
        status, playlist = http(demo.vod_url)
        assert status == 200
        variant = next(line for line in playlist.decode().splitlines() if line and not line.startswith("#"))
        assert "token=" in variant
        bare = demo.vod_url.split("?", 1)[0]
        assert http(bare)[0] == 401, "the master playlist was served without a token"
    everything, errors = demo.stdout.read_text(encoding="utf-8"), demo.messages()
    secret_line = next(line for line in everything.splitlines() if line.startswith("Viewer secret"))
    secret = secret_line.rsplit(" ", 1)[1].strip()
    assert len(secret) >= 32
    assert everything.count(secret) == 1 and secret not in errors, "the secret was printed again or logged"
    assert "token=[redacted]" in everything  # the access log saw the requests, without their token
