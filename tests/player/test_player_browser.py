"""The web player in a real browser: it plays with a group token, carries the token on every request, shows the
ladder, says in words why it cannot play, renews an expiring token without stopping, and switches quality.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route

from .conftest import (
    FMP4_STREAM,
    GROUP,
    LADDER,
    SEGMENT_SECONDS,
    STREAM,
    Viewer,
    as_json,
    group_token,
    serve_host_page,
    stream_token,
    token_of,
)


def test_group_token_plays_and_every_request_carries_it(viewer: Viewer) -> None:
    token = group_token()
    viewer.open(f"/player/?group={GROUP}&token={token}")
    viewer.wait_until_played(5.0)
    assert viewer.state() in ("playing", "buffering")
    segments = viewer.traffic.segments()
    assert len(segments) > 1
    media = viewer.traffic.media()
    assert media and all(token_of(r.url) == token for r in media), [r.url for r in media if token_of(r.url) != token]
    assert set(viewer.traffic.statuses()) <= {200, 206, 304}
    config = [r for r in viewer.traffic.requests if "/api/v1/player-config" in r.url]
    assert len(config) == 1
    assert config[0].headers.get("authorization") == f"Bearer {token}"  # in the header, not the URL
    assert token_of(config[0].url) is None
    levels = viewer.evaluate("() => window.hlsgatePlayer.levels.map(l => [l.label, l.height, String(l.index)])")
    assert [level[:2] for level in levels] == [[name, int(name.removesuffix("p"))] for name in LADDER]
    options = viewer.evaluate("() => [...document.querySelectorAll('select.hlsgate-quality option')]"
                              ".map(o => [o.value, o.textContent])")
    assert options[0][0] == "auto"
    assert options[1:] == [[index, label] for label, _, index in levels]  # highest first, valued by level index
    assert STREAM in viewer.page.inner_text("body")
    assert viewer.page.is_hidden(".hlsgate-message")
    viewer.screenshot("player-playing.png")
    log = viewer.origin.wait_for_log(lambda lines: any("player-config" in line for line in lines))
    assert any("/hls/" in line and "token=[redacted]" in line for line in log)
    assert token not in "\n".join(log)  # the access log saw every request, never the token


def test_stream_token_plays_the_stream(viewer: Viewer) -> None:
    token = stream_token()
    viewer.open(f"/player/?stream={STREAM}&token={token}")
    viewer.wait_until_played(3.0)
    assert all(token_of(r.url) == token for r in viewer.traffic.media())


@pytest.mark.parametrize(("path", "code", "words"), [
    (f"/player/?group={GROUP}", "token_missing", "needs an access token"),
    (f"/player/?group={GROUP}&token={{expired}}", "token_expired", "expired"),
    (f"/player/?group={GROUP}&token={{other_group}}", "forbidden", "does not give access"),
    (f"/player/?group={GROUP}&token={{forged}}", "token_invalid", "not valid"),
    ("/player/?stream=no-such-stream&token={unpublished}", "not_live", "not live yet"),
], ids=["no-token", "expired", "wrong-group", "forged", "missing-stream"])
def test_refusals_are_shown_in_words_and_nothing_plays(viewer: Viewer, path: str, code: str, words: str) -> None:
    tokens = {
        "expired": group_token(ttl=-60),
        "other_group": group_token("another-group"),
        "forged": group_token() [:-4] + "AAAA",
        "unpublished": stream_token("no-such-stream"),
    }
    viewer.open(path.format(**tokens))
    viewer.wait_for_error()
    assert viewer.code() == code
    assert words in viewer.message()
    assert viewer.page.is_visible(".hlsgate-message")
    assert viewer.traffic.segments() == []
    assert viewer.current_time() == 0
    if code == "token_expired":
        viewer.screenshot("player-expired.png")


def play_with_short_buffer(viewer: Viewer, token: str, security: str) -> None:
    """A host page playing the group with ``token`` and the ``security`` object (JS source) it gives. hls.js
    buffers only a few seconds ahead, so segments keep being fetched after the token expires."""
    serve_host_page(viewer, f"""
        window.renewals = 0;
        const player = new HlsGatePlayer("player");
        window.hlsgatePlayer = player;
        player.on("tokenrenewed", () => window.renewals++);
        player.setup({{
          source: {{group: {{id: {as_json(GROUP)}, security: {{jwtoken: {as_json(token)}}}}}}},
          playback: {{autoplay: true, muted: true, hlsjs: {{maxBufferLength: 2, maxMaxBufferLength: 4}}}},
          security: {security},
        }});
    """)


def test_token_expiring_during_playback_is_renewed_through_the_host_callback(viewer: Viewer) -> None:
    lifetime = 6.0
    first = group_token(ttl=lifetime)
    expires_at = time.time() + lifetime
    renewed: list[str] = []

    def renew() -> str:
        token = group_token(ttl=60, jti=f"renewed-{len(renewed)}")
        renewed.append(token)
        return token

    viewer.page.expose_function("mintToken", renew)
    play_with_short_buffer(viewer, first, "{renewToken: () => window.mintToken()}")
    viewer.wait_until_played(lifetime + 4 * SEGMENT_SECONDS, timeout_ms=60_000)
    assert renewed, "the player never asked the host page for a token"
    assert viewer.evaluate("() => window.renewals") >= 1
    assert viewer.code() is None
    late = [r for r in viewer.traffic.segments() if r.timing["startTime"] / 1000 > expires_at + 0.5]
    assert len(late) >= 2, "no segment was fetched after the first token expired: the test proves nothing"
    assert all(token_of(r.url) in renewed for r in late)
    assert 401 not in viewer.traffic.statuses()


def test_token_is_renewed_from_the_renew_url(viewer: Viewer) -> None:
    """The other way a host gives: a URL of its backend answering ``{"token", "expires_at"}`` as POST
    /api/v1/tokens does (here the page's own origin, answered by Playwright for the backend)."""
    lifetime = 5.0
    renewed: list[str] = []

    def backend(route: Route) -> None:
        token = group_token(ttl=60, jti=f"url-{len(renewed)}")
        renewed.append(token)
        route.fulfill(status=200, content_type="application/json",
                      body=as_json({"token": token, "expires_at": int(time.time()) + 60}))

    viewer.page.route(f"{viewer.origin.url}/my/token", backend)
    expires_at = time.time() + lifetime
    play_with_short_buffer(viewer, group_token(ttl=lifetime), '{renewUrl: "/my/token"}')
    viewer.wait_until_played(lifetime + 3 * SEGMENT_SECONDS, timeout_ms=60_000)
    assert renewed and viewer.code() is None
    late = [r for r in viewer.traffic.segments() if r.timing["startTime"] / 1000 > expires_at + 0.5]
    assert late and all(token_of(r.url) in renewed for r in late)
    assert 401 not in viewer.traffic.statuses()


def test_token_expiring_without_a_way_to_renew_says_so(viewer: Viewer) -> None:
    play_with_short_buffer(viewer, group_token(ttl=5.0), "{}")
    viewer.wait_until_played(1.0)
    viewer.wait_for_error(timeout_ms=40_000)
    assert viewer.code() == "token_expired"
    assert "expired" in viewer.message()


def test_quality_menu_switches_rendition(viewer: Viewer) -> None:
    viewer.open(f"/player/?group={GROUP}&token={group_token()}")
    viewer.wait_until_played(1.0)
    lowest = str(viewer.evaluate("() => window.hlsgatePlayer.levels.at(-1).index"))
    viewer.page.select_option("select.hlsgate-quality", lowest)
    before = len(viewer.traffic.segments())
    viewer.page.wait_for_function(
        "() => window.hlsgatePlayer.hls && window.hlsgatePlayer.hls.currentLevel === " + lowest, timeout=20_000)
    viewer.wait_until_played(viewer.current_time() + 2 * SEGMENT_SECONDS)
    after = [urlsplit(r.url).path for r in viewer.traffic.segments()[before:]]
    assert any(f"/{LADDER[-1]}/" in path for path in after), after
    assert viewer.evaluate("() => window.hlsgatePlayer.currentQuality") == int(lowest)
    assert LADDER[-1] in viewer.page.inner_text(".hlsgate-status")


def test_stream_selector_plays_the_other_stream_of_the_group(viewer: Viewer) -> None:
    token = group_token()
    viewer.open(f"/player/?group={GROUP}&token={token}")
    viewer.wait_until_played(1.0)
    assert viewer.page.is_visible("select.hlsgate-stream")
    options = viewer.evaluate("() => [...document.querySelectorAll('select.hlsgate-stream option')]"
                              ".map(o => [o.value, o.textContent])")
    assert options == [[STREAM, STREAM], [FMP4_STREAM, FMP4_STREAM]]  # no live flag: no "(live)"
    assert viewer.page.input_value("select.hlsgate-stream") == STREAM
    viewer.page.select_option("select.hlsgate-stream", FMP4_STREAM)
    viewer.page.wait_for_function(
        "() => window.hlsgatePlayer.levels.length === 1 && window.hlsgatePlayer.video.currentTime > 1",
        timeout=30_000)
    fmp4 = [r for r in viewer.traffic.segments() if f"/{FMP4_STREAM}/" in r.url]
    assert fmp4 and all(token_of(r.url) == token for r in fmp4)


def test_native_hls_engine_plays_the_same_tokenised_urls(viewer: Viewer) -> None:
    """Safari's path: the <video> element loads the tokenised master itself. Chromium has a native HLS player
    too, so the same path runs here; the origin carries the token, nothing in the page rewrites URLs."""
    token = group_token()
    viewer.open(f"/player/?group={GROUP}&token={token}&engine=native")
    viewer.wait_until_played(3.0)
    assert viewer.evaluate("() => window.hlsgatePlayer.hls") is None
    src = viewer.evaluate("() => window.hlsgatePlayer.video.currentSrc")
    assert urlsplit(src).path == f"/hls/{STREAM}/master.m3u8" and token_of(src) == token
    assert all(token_of(r.url) == token for r in viewer.traffic.media())


def test_inline_entries_config_from_a_host_page(viewer: Viewer) -> None:
    """A nanoStream-style config of entries (as a backend holding an admin token would hand it to the page)."""
    token = stream_token()
    base = viewer.origin.url
    entries = [{"index": i, "label": name, "h5live": {"server": {"hls": f"{base}/hls/{STREAM}/{name}/index.m3u8"},
                                                      "security": {"jwtoken": token}}}
               for i, name in enumerate(LADDER)]
    serve_host_page(viewer, f"""
        const player = new HlsGatePlayer("player");
        window.hlsgatePlayer = player;
        player.setup({{source: {{entries: {as_json(entries)}, startIndex: 1}}, playback: {{muted: true}}}})
          .then(config => {{ window.setupResult = "ok"; }}, error => {{ window.setupResult = error.code; }});
    """)
    viewer.wait_until_played(2.0)
    assert viewer.evaluate("() => window.setupResult") == "ok"
    paths = [urlsplit(r.url).path for r in viewer.traffic.segments()]
    assert paths and all(f"/{LADDER[1]}/" in path for path in paths)


@pytest.mark.parametrize(("config", "fragment"), [
    ("{}", "source"),
    ("{source: {group: {id: 'stage'}}}", "token"),
    ("{source: {entries: []}}", "entries"),
    ("{source: {group: {id: '../x', security: {jwtoken: 'x'}}}}", "group"),
], ids=["no-source", "group-without-token", "empty-entries", "bad-group-id"])
def test_setup_rejects_a_bad_config_with_a_reason(viewer: Viewer, config: str, fragment: str) -> None:
    serve_host_page(viewer, f"""
        const player = new HlsGatePlayer("player");
        player.setup({config}).then(() => {{ window.setupResult = ["ok"]; }},
                                     error => {{ window.setupResult = [error.code, error.message]; }});
    """)
    viewer.page.wait_for_function("() => window.setupResult !== undefined", timeout=10_000)
    code, message = viewer.evaluate("() => window.setupResult")
    assert code == "bad_config"
    assert fragment in message.lower()
