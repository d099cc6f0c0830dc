"""``hlsgate serve`` with play and publish security switched separately (``--no-auth``, ``--no-publish-auth``)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from .conftest import STREAM
from .serving import exchange, serve_env, serving

TS = (b"\x47" + bytes(187)) * 4


def test_open_playback_needs_no_key_and_secured_ingest_then_says_not_configured(published_root: Path,
                                                                                tmp_path: Path) -> None:
    env = serve_env(HLSGATE_JWT_SECRET=None)
    with serving(tmp_path, "--media-root", str(published_root), "--state-dir", str(tmp_path / "state"), "--no-auth",
                 env=env) as served:
        assert exchange(f"{served.url}/hls/{STREAM}/master.m3u8")[0] == 200
        status, _, body = exchange(f"{served.url}/ingest/live/seg_00000.ts", method="PUT", body="x")
        assert status == 503 and b"not_configured" in body
    assert not (published_root / "live").exists()


def test_no_publish_auth_warns_and_lets_anyone_publish(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    with serving(tmp_path / "serve", "--media-root", str(media), "--no-publish-auth") as served:
        assert "WARNING: --no-publish-auth" in served.messages()
        request = urllib.request.Request(f"{served.url}/ingest/live/seg_00000.ts", data=TS, method="PUT")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            assert answer.status == 201
        assert exchange(f"{served.url}/hls/live/seg_00000.ts")[0] == 401  # playback is still secured
