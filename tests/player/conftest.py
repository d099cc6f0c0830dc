"""The player's browser tests: Debian's Chromium driven by Playwright, against the real ``hlsgate serve`` on
loopback, playing streams transcoded at test time by the real ffmpeg.

Chromium is never downloaded: Playwright launches ``/usr/bin/chromium`` (``make test`` and ``.ci/run`` install
it). A missing browser fails the tests; it never skips them.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Response, sync_playwright

from tests.conftest import REPO, MakeMedia
from tests.hls_server.conftest import SECRET, make_token
from tests.hls_server.serving import Served, api, serve_env, serving
from transcode.api import transcode_vod
from transcode.command import EncodeOptions
from transcode.ladder import load_ladder
from transcode.toolchain import Toolchain

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    # This machine's network is closed: without these, Chromium keeps trying Google's hosts.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = REPO / "test-artifacts"
STREAM = "show"  # 360p + 240p, MPEG-TS, 2 s segments
FMP4_STREAM = "show-fmp4"  # 240p, fMP4
GROUP = "stage"  # holds both
LADDER = ("360p", "240p")
CLIP_SECONDS = 20.0
SEGMENT_SECONDS = 2.0
PLAY_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def player_media(tmp_path_factory: pytest.TempPathFactory, make_media: MakeMedia, toolchain: Toolchain) -> Path:
    root = tmp_path_factory.mktemp("player-media")
    source = make_media("player-source.mp4", seconds=CLIP_SECONDS, size="640x360", rate=25)
    transcode_vod(source, root / STREAM, ladder=load_ladder(",".join(LADDER)),
                  options=EncodeOptions(segment_seconds=SEGMENT_SECONDS, preset="ultrafast"), toolchain=toolchain)
    transcode_vod(source, root / FMP4_STREAM, ladder=load_ladder("240p"),
                  options=EncodeOptions(segment_seconds=SEGMENT_SECONDS, preset="ultrafast", segment_format="fmp4"),
                  toolchain=toolchain)
    return root


@pytest.fixture(scope="session")
def origin(player_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real server, with no clock leeway so that a token expires when its ``exp`` says."""
    folder = tmp_path_factory.mktemp("player-origin")
    config = folder / "hlsgate.toml"
    config.write_text("[auth]\nleeway = 0\n", encoding="utf-8")
    with serving(folder, "--media-root", str(player_media), "--config", str(config), env=serve_env()) as served:
        status, body = api(served, "PUT", f"/api/v1/groups/{GROUP}", {"streams": [STREAM, FMP4_STREAM]})
        assert status == 200, body
        yield served


@pytest.fixture(scope="module")
def browser(origin: Served) -> Iterator[Browser]:
    """Module-scoped, and started after the media and the server: while Playwright's sync API runs, its event
    loop is the thread's running loop, and ``asyncio.run`` (the transcoder, other modules' tests) would fail."""
    assert CHROMIUM.is_file(), "the player tests need Debian's Chromium: apt-get install chromium (make test does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Traffic:
    """What the page asked the origin for, and what it answered."""

    requests: list[Request] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def media(self) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.url).path.startswith("/hls/")]

    def segments(self) -> list[Request]:
        return [r for r in self.media() if urlsplit(r.url).path.endswith((".ts", ".m4s"))]

    def statuses(self, prefix: str = "/hls/") -> list[int]:
        return [r.status for r in self.responses if urlsplit(r.url).path.startswith(prefix)]


@dataclass
class Viewer:
    page: Page
    traffic: Traffic
    origin: Served

    def open(self, path: str) -> None:
        self.page.goto(f"{self.origin.url}{path}")

    def state(self) -> str | None:
        return self.page.get_attribute(".hlsgate-player", "data-state")

    def code(self) -> str | None:
        return self.page.get_attribute(".hlsgate-player", "data-code")

    def message(self) -> str:
        return self.page.inner_text(".hlsgate-message")

    def current_time(self) -> float:
        value: float = self.page.evaluate("() => document.querySelector('.hlsgate-player video').currentTime")
        return value

    def wait_until_played(self, seconds: float, timeout_ms: int = PLAY_TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            "s => { const v = document.querySelector('.hlsgate-player video'); return v && v.currentTime > s; }",
            arg=seconds, timeout=timeout_ms)

    def wait_for_error(self, timeout_ms: int = PLAY_TIMEOUT_MS) -> None:
        self.page.wait_for_selector(".hlsgate-player[data-state=error]", timeout=timeout_ms)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), animations="disabled")  # transitions finished, not mid-fade
        return path

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture
def viewer(browser: Browser, origin: Served) -> Iterator[Viewer]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    traffic = Traffic()
    page.on("request", lambda request: traffic.requests.append(request))  # Playwright wants a real function
    page.on("response", lambda response: traffic.responses.append(response))
    page.on("console", lambda message: traffic.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: traffic.console.append(f"pageerror: {error}"))
    try:
        yield Viewer(page, traffic, origin)
    finally:
        context.close()
    errors = [line for line in traffic.console if line.startswith("pageerror")]
    assert not errors, errors  # an uncaught exception in the player is a bug even when the test passed


def group_token(group: str = GROUP, ttl: float = 3600, **claims: Any) -> str:
    now = time.time()
    return make_token(group=group, omit=("streamId",), iat=int(now), exp=int(now + ttl), **claims)


def stream_token(stream: str = STREAM, ttl: float = 3600) -> str:
    now = time.time()
    return make_token(streamId=stream, iat=int(now), exp=int(now + ttl))


def token_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("token")
    return values[0] if values else None


def host_page(body_script: str) -> str:
    """A customer's page embedding the player from the origin with a script of its own (setup and callbacks)."""
    return ("<!doctype html><html><head><meta charset=utf-8><title>host</title>"
            "<link rel=stylesheet href=/player/hlsgate-player.css></head><body>"
            "<div id=player></div>"
            "<script src=/player/vendor/hls.min.js></script><script src=/player/hlsgate-player.js></script>"
            f"<script>{body_script}</script></body></html>")


def as_json(value: Any) -> str:
    return json.dumps(value)


__all__ = ["SECRET", "Viewer"]


def serve_host_page(viewer: Viewer, script: str) -> None:
    """Open a host page at ``/host.html`` on the origin's own address (Playwright answers that one URL)."""
    html = host_page(script)
    url = f"{viewer.origin.url}/host.html"
    viewer.page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    viewer.page.goto(url)


# -- live streams grown by the test itself -----------------------------------------------------------------------

LIVE_SEGMENT_SECONDS = 1
LIVE_LIST_SIZE = 5
LIVE_RENDITION = "180p"
LIVE_CAP_SECONDS = 60  # ffmpeg stops by itself after this, should a test fail to stop it
LIVE_START_SEGMENTS = 3  # listed before a viewer opens the stream: hls.js starts 3 target durations behind


def live_hls_argv(ffmpeg: str, folder: Path) -> list[str]:
    """A live HLS ladder of one tiny rendition, at real-time pace, into ``folder`` as ``/hls/`` serves it: the
    master at the stream's root, ``{rendition}/index.m3u8`` sliding over 5 one-second segments."""
    rate = 25
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", f"testsrc=size=320x180:rate={rate}", "-t", str(LIVE_CAP_SECONDS),
        "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-b:v", "150k", "-g", str(rate * LIVE_SEGMENT_SECONDS), "-keyint_min", str(rate * LIVE_SEGMENT_SECONDS),
        "-sc_threshold", "0",
        "-f", "hls", "-hls_time", str(LIVE_SEGMENT_SECONDS), "-hls_list_size", str(LIVE_LIST_SIZE),
        "-hls_flags", "delete_segments+independent_segments+temp_file",
        "-master_pl_name", "master.m3u8", "-var_stream_map", f"v:0,name:{LIVE_RENDITION}",
        "-hls_segment_filename", str(folder / "%v" / "seg_%05d.ts"),
        str(folder / "%v" / "index.m3u8"),
    ]


@dataclass
class LiveEncoder:
    """ffmpeg publishing a live stream into the media root while the origin serves it."""

    stream: str
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def playlist(self) -> Path:
        return self.folder / LIVE_RENDITION / "index.m3u8"

    def segments_listed(self) -> int:
        try:
            return self.playlist.read_text(encoding="utf-8").count("#EXTINF")
        except OSError:
            return 0

    def wait_until_listed(self, segments: int = LIVE_START_SEGMENTS, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not ((self.folder / "master.m3u8").is_file() and self.segments_listed() >= segments):
            assert self.process.poll() is None, f"ffmpeg exited: {self.stderr()}"
            assert time.monotonic() < deadline, f"ffmpeg listed no {segments} segments in {timeout} s"
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """The clean end a publisher makes: SIGINT, and ffmpeg writes its last segment and ``#EXT-X-ENDLIST``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read().decode("utf-8", "replace")[-2000:]


@pytest.fixture
def start_live(player_media: Path, toolchain: Toolchain) -> Iterator[Callable[[str], LiveEncoder]]:
    """``start_live(stream)`` starts ffmpeg writing ``stream`` live into the origin's media root; every encoder
    still running when the test ends is stopped (and killed if it does not stop)."""
    started: list[LiveEncoder] = []

    def start(stream: str) -> LiveEncoder:
        folder = player_media / stream
        if folder.exists():
            shutil.rmtree(folder)
        (folder / LIVE_RENDITION).mkdir(parents=True)
        process = subprocess.Popen(live_hls_argv(toolchain.ffmpeg, folder), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        encoder = LiveEncoder(stream, folder, process)
        started.append(encoder)
        return encoder

    yield start
    for encoder in started:
        try:
            encoder.stop(timeout=5)
        except subprocess.TimeoutExpired:
            encoder.process.kill()
            encoder.process.wait()
