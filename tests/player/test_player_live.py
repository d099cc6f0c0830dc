"""The web player on a live stream that the test grows itself: ffmpeg writes a live HLS stream into the origin's
media root at real-time pace while the player plays it with a play token. The LIVE badge shows, playback advances
across playlist reloads, and when the publisher stops (ffmpeg writes ``#EXT-X-ENDLIST``) the player says in words
that the stream has ended. A stream not started yet says so too.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from tests.hls_server.serving import api

from .conftest import (
    LIVE_RENDITION,
    LiveEncoder,
    Viewer,
    as_json,
    group_token,
    serve_host_page,
    stream_token,
    token_of,
)

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


def test_room_of_two_live_streams_the_picker_lists_both_and_the_keyboard_switches(
        viewer: Viewer, start_live: Callable[[str], LiveEncoder]) -> None:
    """A room's config as the origin will give it (participants' streams, each ``live: true``), inline: the
    picker lists both, marked live; choosing the other with the keyboard plays it, live, with the same token."""
    room, participants = "room7", ("room7-alice", "room7-bob")
    encoders = [start_live(stream) for stream in participants]
    for encoder in encoders:
        encoder.wait_until_listed()
    # a group of the two stands for the room (the rooms part gives rooms their own tokens and config)
    status, body = api(viewer.origin, "PUT", f"/api/v1/groups/{room}", {"streams": list(participants)})
    assert status == 200, body
    token = group_token(room)
    base = viewer.origin.url
    source = {"group": {"id": room, "security": {"jwtoken": token}},
              "entries": [{"index": i, "label": LIVE_RENDITION, "stream": stream,
                           "h5live": {"server": {"hls": f"{base}/hls/{stream}/{LIVE_RENDITION}/index.m3u8"},
                                      "security": {"jwtoken": token}}}
                          for i, stream in enumerate(participants)],
              "streams": [{"id": stream, "master": f"{base}/hls/{stream}/master.m3u8", "entries": [i], "live": True}
                          for i, stream in enumerate(participants)]}
    serve_host_page(viewer, f"""
        const player = new HlsGatePlayer("player");
        window.hlsgatePlayer = player;
        player.setup({{source: {as_json(source)}, playback: {{muted: true}}}}).catch(() => {{}});
    """)
    viewer.page.wait_for_selector(".hlsgate-live", state="visible", timeout=15_000)
    picker = viewer.page.locator("select.hlsgate-stream")
    assert picker.is_visible() and picker.get_attribute("aria-label") == "Stream"
    options = viewer.evaluate("() => [...document.querySelectorAll('select.hlsgate-stream option')]"
                              ".map(o => [o.value, o.textContent])")
    assert options == [[stream, f"{stream} (live)"] for stream in participants]
    assert picker.input_value() == participants[0]

    picker.focus()
    viewer.page.keyboard.press("ArrowDown")
    viewer.page.wait_for_function(f"() => window.hlsgatePlayer.stream === {as_json(participants[1])}",
                                  timeout=5_000)
    viewer.page.wait_for_selector(".hlsgate-live", state="visible", timeout=15_000)
    viewer.wait_until_played(0.5, timeout_ms=15_000)
    other = [r for r in viewer.traffic.segments() if f"/{participants[1]}/" in r.url]
    assert other and all(token_of(r.url) == token for r in other), "the other participant's stream did not play"
    assert viewer.code() is None


def test_the_player_page_of_a_stream_not_published_yet_says_not_live_yet(
        viewer: Viewer, start_live: Callable[[str], LiveEncoder]) -> None:
    """The player page itself (its config from the origin): before the encoder starts, the origin's config lists
    the stream with ``"live": null``, and the page says "not live yet" in words; once it is live, it plays."""
    stream = "live-page-later"
    token = stream_token(stream)
    viewer.open(f"/player/?stream={stream}&token={token}")
    viewer.page.wait_for_selector(".hlsgate-player[data-code=not_live]", timeout=15_000)
    assert "This stream is not live yet." in viewer.message()

    start_live(stream).wait_until_listed()
    viewer.page.click(".hlsgate-retry")
    viewer.wait_until_played(0.5, timeout_ms=20_000)
    assert viewer.code() is None
