"""The web player on a live stream that the test grows itself: ffmpeg writes a live HLS stream into the origin's
media root at real-time pace while the player plays it with a play token. The LIVE badge shows, playback advances
across playlist reloads, and when the publisher stops (ffmpeg writes ``#EXT-X-ENDLIST``) the player says in words
that the stream has ended. A stream not started yet says so too.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from .conftest import LIVE_RENDITION, LiveEncoder, Viewer, as_json, serve_host_page, stream_token, token_of

ENDED_WORDS = "The stream has ended."


def playlist_loads(viewer: Viewer, stream: str) -> int:
    path = f"/hls/{stream}/{LIVE_RENDITION}/index.m3u8"
    return sum(1 for r in viewer.traffic.media() if urlsplit(r.url).path == path)


def test_live_stream_shows_live_advances_and_says_when_it_ended(
        viewer: Viewer, start_live: Callable[[str], LiveEncoder]) -> None:
    stream = "live-ends"
    encoder = start_live(stream)
    encoder.wait_until_listed()
    token = stream_token(stream)
    viewer.open(f"/player/?stream={stream}&token={token}")

    viewer.page.wait_for_selector(".hlsgate-live", state="visible", timeout=15_000)
    assert viewer.page.inner_text(".hlsgate-live").strip() == "LIVE"
    assert viewer.page.get_attribute(".hlsgate-player", "data-live") is not None
    viewer.wait_until_played(0.5, timeout_ms=15_000)
    started_at, reloads_before = viewer.current_time(), playlist_loads(viewer, stream)
    viewer.wait_until_played(started_at + 3.0, timeout_ms=10_000)  # 3 s of a 1 s-segment stream: new segments
    assert playlist_loads(viewer, stream) >= reloads_before + 2, "hls.js did not reload the live playlist"
    assert viewer.evaluate("() => window.hlsgatePlayer.liveState") == "live"
    assert viewer.code() is None

    encoder.stop()
    assert encoder.playlist.read_text(encoding="utf-8").rstrip().endswith("#EXT-X-ENDLIST")
    viewer.page.wait_for_selector(".hlsgate-player[data-code=ended]", timeout=15_000)
    assert ENDED_WORDS in viewer.message()
    assert viewer.page.is_visible(".hlsgate-message")
    assert viewer.page.is_hidden(".hlsgate-live")
    media = viewer.traffic.media()
    assert media and all(token_of(r.url) == token for r in media)
    assert 401 not in viewer.traffic.statuses() and 403 not in viewer.traffic.statuses()
    viewer.screenshot("player-live-ended.png")


def test_live_stream_not_started_yet_says_so_then_plays_once_it_is_live(
        viewer: Viewer, start_live: Callable[[str], LiveEncoder]) -> None:
    """The config (a backend's, inline) lists a live stream whose master is not served yet: a 404 on the master
    is "not live yet" in words, not a generic error; once the publisher is live, "Try again" plays it."""
    stream = "live-later"
    token = stream_token(stream)
    base = viewer.origin.url
    source = {"entries": [{"index": 0, "label": LIVE_RENDITION, "stream": stream,
                           "h5live": {"server": {"hls": f"{base}/hls/{stream}/{LIVE_RENDITION}/index.m3u8"},
                                      "security": {"jwtoken": token}}}],
              "streams": [{"id": stream, "master": f"{base}/hls/{stream}/master.m3u8", "entries": [0], "live": True}]}
    serve_host_page(viewer, f"""
        const player = new HlsGatePlayer("player");
        window.hlsgatePlayer = player;
        player.setup({{source: {as_json(source)}, playback: {{muted: true}}}}).catch(() => {{}});
    """)
    viewer.page.wait_for_selector(".hlsgate-player[data-code=not_live]", timeout=15_000)
    assert "This stream is not live yet." in viewer.message()
    assert viewer.page.is_visible(".hlsgate-retry")

    start_live(stream).wait_until_listed()
    viewer.page.click(".hlsgate-retry")
    viewer.page.wait_for_selector(".hlsgate-live", state="visible", timeout=15_000)
    viewer.wait_until_played(0.5, timeout_ms=15_000)
    assert viewer.code() is None and viewer.page.is_hidden(".hlsgate-message")
