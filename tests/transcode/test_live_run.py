"""Live publishing with a real ffmpeg: into a local folder, and over HTTP PUT into a tiny in-test sink.

Tiny pictures, ultrafast, 1 s segments and a few seconds each: the machine is shared and CI must stay short.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import jwt
import pytest
from aiohttp import web

from tests.conftest import HLSGATE
from transcode import live_run
from transcode.command import EncodeOptions
from transcode.errors import FFmpegFailed, OutputExists, PublishError, PublishRefused
from transcode.ladder import ladder_from_file, plan_renditions
from transcode.live import IngestOutput, LiveOptions, LocalOutput, parse_source
from transcode.live_run import LivePublisher, ReconnectPolicy, probe_live
from transcode.toolchain import Toolchain

pytestmark = pytest.mark.slow

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXBlIjoicHVibGlzaCIsInN0cmVhbUlkIjoiY2FtMSJ9.dGVzdC1zaWduYXR1cmU"  # noqa: S105
LADDER_TOML = """
[[rendition]]
name = "hi"
width = 160
height = 90
video_bitrate = "150k"
audio_bitrate = "32k"

[[rendition]]
name = "lo"
width = 96
height = 54
video_bitrate = "80k"
audio_bitrate = "32k"
"""
TINY_ARGS = ["--size", "160x90", "--preset", "ultrafast", "--segment-seconds", "1", "--list-size", "3"]
WAIT_SECONDS = 30.0


@pytest.fixture
def ladder_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(LADDER_TOML, encoding="utf-8")
    return path


def media_sequence(playlist: Path) -> int:
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            return int(line.split(":", 1)[1])
    return -1


def listed_segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def first_frame_is_key(toolchain: Toolchain, segment: Path) -> bool:
    assert toolchain.ffprobe is not None
    out = subprocess.run([toolchain.ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=key_frame", "-read_intervals", "%+#1", "-of", "csv=p=0", str(segment)],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return out.strip().splitlines()[0].strip(",") == "1"


def test_publish_into_a_media_root_then_ctrl_c(tmp_path: Path, ladder_file: Path, toolchain: Toolchain) -> None:
    root = tmp_path / "media"
    proc = subprocess.Popen([*HLSGATE, "publish", "lavfi:", "--stream", "cam1", "--media-root", str(root),
                             "--ladder", str(ladder_file), *TINY_ARGS], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stream = root / "cam1"
    try:
        wait_until(lambda: all((stream / r / "index.m3u8").is_file() and media_sequence(stream / r / "index.m3u8") >= 2
                               for r in ("hi", "lo")), "the window to slide")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "ended (stopped" in err
    master = (stream / "master.m3u8").read_text(encoding="utf-8")
    assert listed_segments(master) == ["hi/index.m3u8", "lo/index.m3u8"]
    durations: list[list[str]] = []
    for rendition in ("hi", "lo"):
        text = (stream / rendition / "index.m3u8").read_text(encoding="utf-8")
        assert text.rstrip().endswith("#EXT-X-ENDLIST")
        assert "#EXT-X-PROGRAM-DATE-TIME:" in text and "#EXT-X-INDEPENDENT-SEGMENTS" in text
        assert not (stream / rendition / "seg_00000.ts").exists()  # deleted as the window slid past it
        segments = listed_segments(text)
        assert 2 <= len(segments) <= 3
        assert all(first_frame_is_key(toolchain, stream / rendition / s) for s in segments)
        durations.append([line for line in text.splitlines() if line.startswith("#EXTINF")])
        assert not list((stream / rendition).glob("*.tmp"))
    assert durations[0] == durations[1]  # the renditions cut at the same instants


def test_a_missing_or_unreadable_source_is_said_in_words(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not media at all" * 64)
    for source, expected in ((tmp_path / "nope.mp4", "input not found:"),
                             (junk, "is not media ffmpeg can read")):
        done = subprocess.run([*HLSGATE, "publish", str(source), "--stream", "cam1", "--media-root",
                               str(tmp_path / "media")], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 1
        assert done.stderr.startswith("hlsgate publish: error: ")
        assert expected in done.stderr
        assert "Traceback" not in done.stderr


# --- over HTTP, into an in-test PUT sink ------------------------------------------------------------

@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None
    chunked: bool
    size: int


@dataclass
class Sink:
    """What the origin's ingest answers, reduced to storing files: PUT 201, DELETE 204 (or a refusal)."""
    seen: list[Seen] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    refuse: bool = False
    runner: web.AppRunner | None = None
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, request.headers.get("Authorization"),
                              request.headers.get("Transfer-Encoding") == "chunked", len(body)))
        if self.refuse:
            return web.json_response({"error": "token_expired", "error_description": "the token has expired"},
                                     status=401)
        if request.method == "PUT":
            self.files[request.path] = body
            return web.Response(status=201)
        if request.method == "POST":  # the publisher's "this stream is over"
            return web.Response(status=204)
        self.files.pop(request.path, None)
        return web.Response(status=204)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("PUT", "/ingest/{tail:.+}", self.handle)
        app.router.add_route("DELETE", "/ingest/{tail:.+}", self.handle)
        app.router.add_route("POST", "/ingest/{stream}/end", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def text(self, path: str) -> str:
        return self.files[path].decode()

    def sequence(self, path: str) -> int:
        if path not in self.files:
            return -1
        for line in self.text(path).splitlines():
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                return int(line.split(":", 1)[1])
        return -1


async def publisher_for(toolchain: Toolchain, ladder_file: Path, output: IngestOutput | LocalOutput,
                        notices: list[str], policy: ReconnectPolicy | None = None) -> LivePublisher:
    source = parse_source("lavfi:", size=(160, 90))
    info = await probe_live(source, toolchain)
    renditions = plan_renditions(info, ladder_from_file(ladder_file))
    options = LiveOptions(EncodeOptions(segment_seconds=1.0, preset="ultrafast"), list_size=3)
    return LivePublisher(toolchain, source, info, renditions, options, output, on_notice=notices.append,
                         policy=policy or ReconnectPolicy(initial=0.3, maximum=1.0, window=30.0))


async def test_publish_over_http_put(toolchain: Toolchain, ladder_file: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink = Sink()
    server = await sink.start()
    notices: list[str] = []
    publisher = await publisher_for(toolchain, ladder_file, IngestOutput(server, "cam1", TOKEN), notices)
    stop = asyncio.Event()
    task = asyncio.ensure_future(publisher.run(stop))
    try:
        await until(lambda: any(s.method == "DELETE" and s.path.endswith(".ts") and "preflight" not in s.path
                                for s in sink.seen) and "/ingest/cam1/master.m3u8" in sink.files, "a DELETE")
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    finally:
        stop.set()
        await sink.stop()
    assert {s.authorization for s in sink.seen} == {f"Bearer {TOKEN}"}
    assert [(s.method, s.path) for s in sink.seen][-1] == ("POST", "/ingest/cam1/end"), "the stream was not ended"
    puts = [s for s in sink.seen if s.method == "PUT"]
    assert all(s.chunked for s in puts) and all(s.size > 0 for s in puts)
    assert listed_segments(sink.text("/ingest/cam1/master.m3u8")) == ["hi/index.m3u8", "lo/index.m3u8"]
    for rendition in ("hi", "lo"):
        # Not EXT-X-ENDLIST here: ffmpeg exits without reading the answer to its last PUT on a persistent
        # connection, so its socket closes with a reset, and a sink sharing this busy loop may not have read that
        # last request yet (the kernel then drops it). test_cli_mints_... checks the final playlists instead.
        playlist = sink.text(f"/ingest/cam1/{rendition}/index.m3u8")
        assert "#EXT-X-PROGRAM-DATE-TIME:" in playlist
        assert all(f"/ingest/cam1/{rendition}/{name}" in sink.files for name in listed_segments(playlist))
        assert any(s.method == "DELETE" and s.path.startswith(f"/ingest/cam1/{rendition}/seg_") for s in sink.seen)
    assert sink.seen[0] == Seen("DELETE", "/ingest/cam1/hlsgate_preflight.ts", f"Bearer {TOKEN}", False, 0)
    assert "Authorization: Bearer [redacted]" in caplog.text  # the -v argv log
    assert TOKEN not in caplog.text and not any(TOKEN in n for n in notices)


async def test_reconnects_when_the_server_comes_back(toolchain: Toolchain, ladder_file: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink = Sink()
    server = await sink.start()
    notices: list[str] = []
    publisher = await publisher_for(toolchain, ladder_file, IngestOutput(server, "cam1", TOKEN), notices)
    stop = asyncio.Event()
    task = asyncio.ensure_future(publisher.run(stop))
    try:
        await until(lambda: sink.sequence("/ingest/cam1/hi/index.m3u8") >= 0, "the first playlist")
        await sink.stop()  # the origin goes away ...
        await until(lambda: any("lost the connection" in n for n in notices), "ffmpeg to notice")
        sink.files.clear()
        await sink.start()  # ... and comes back on the same port
        await until(lambda: sink.sequence("/ingest/cam1/hi/index.m3u8") > 0
                    and any("publishing again" in n for n in notices), "the publish to resume")
        stop.set()
        restarts = await asyncio.wait_for(task, 30)
    finally:
        stop.set()
        await sink.stop()
    assert restarts >= 1
    playlist = sink.text("/ingest/cam1/hi/index.m3u8")
    assert "#EXT-X-DISCONTINUITY" in playlist  # (ENDLIST: see test_publish_over_http_put)
    assert {s.authorization for s in sink.seen} == {f"Bearer {TOKEN}"}  # the same token: the same jti
    assert any("restarting ffmpeg in" in n for n in notices)
    assert TOKEN not in caplog.text and not any(TOKEN in n for n in notices)


async def test_a_refused_token_is_said_in_words_before_and_during_the_publish(
        toolchain: Toolchain, ladder_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = Sink(refuse=True)
    server = await sink.start()
    notices: list[str] = []
    try:
        publisher = await publisher_for(toolchain, ladder_file, IngestOutput(server, "cam1", TOKEN), notices)
        with pytest.raises(PublishRefused) as refused:
            await publisher.run(asyncio.Event())
        assert str(refused.value) == \
            "the server refused the publish token: token_expired: the token has expired (HTTP 401)"
        assert len(sink.seen) == 1  # the check only: no ffmpeg was started
        # ffmpeg 5.1 does not look at PUT answers: the periodic check is what notices a token refused mid-run.
        monkeypatch.setattr(live_run, "CHECK_INTERVAL_SECONDS", 0.5)
        sink.refuse = False
        task = asyncio.ensure_future(publisher.run(asyncio.Event()))
        await until(lambda: "/ingest/cam1/hi/index.m3u8" in sink.files, "the first playlist")
        sink.refuse = True
        with pytest.raises(PublishRefused, match="the server refused the publish token"):
            await asyncio.wait_for(task, 30)
    finally:
        await sink.stop()


async def test_a_failing_source_is_not_retried(toolchain: Toolchain, ladder_file: Path, tmp_path: Path) -> None:
    """An ffmpeg that fails at once into a reachable server is the source's fault: said, not retried forever."""
    sink = Sink()
    server = await sink.start()
    try:
        publisher = await publisher_for(toolchain, ladder_file, IngestOutput(server, "cam1", TOKEN), [])
        publisher.source = parse_source("lavfi:nosuchfilter")
        with pytest.raises(FFmpegFailed, match="ffmpeg failed"):
            await asyncio.wait_for(publisher.run(asyncio.Event()), 30)
        assert publisher.restarts == 0
    finally:
        await sink.stop()


async def test_cli_mints_a_publish_token_and_sigterm_ends_cleanly(ladder_file: Path) -> None:
    secret = "s" * 48
    sink = Sink()
    server = await sink.start()
    env = {**os.environ, "HLSGATE_JWT_SECRET": secret}
    env.pop("HLSGATE_PUBLISH_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        *HLSGATE, "publish", "lavfi:", "--stream", "cam1", "--server", server, "--ladder", str(ladder_file),
        *TINY_ARGS, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        await until(lambda: "/ingest/cam1/lo/index.m3u8" in sink.files, "the first playlist")
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sink.stop()
    assert proc.returncode == 0, err.decode()
    assert sink.text("/ingest/cam1/lo/index.m3u8").rstrip().endswith("#EXT-X-ENDLIST")
    tokens = {s.authorization for s in sink.seen}
    assert len(tokens) == 1  # minted once for the run
    token = tokens.pop()
    assert token is not None and token.startswith("Bearer ")
    claims = jwt.decode(token.removeprefix("Bearer "), secret, algorithms=["HS256"])
    assert (claims["type"], claims["streamId"]) == ("publish", "cam1") and claims["jti"]
    assert token.removeprefix("Bearer ") not in err.decode()
    assert json.dumps(claims)  # a plain JSON payload


def test_publish_needs_a_destination_and_a_valid_stream() -> None:
    done = subprocess.run([*HLSGATE, "publish", "lavfi:", "--stream", "cam1"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "one of the arguments --server --media-root is required" in done.stderr
    done = subprocess.run([*HLSGATE, "publish", "lavfi:", "--stream", "../x", "--media-root", "m"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "stream id '../x' is not valid" in done.stderr
    done = subprocess.run([*HLSGATE, "publish", "lavfi:", "--stream", "cam1", "--server", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")})
    assert done.returncode == 1 and "no publish token: give --token or HLSGATE_PUBLISH_TOKEN" in done.stderr


async def test_a_media_root_folder_holding_a_vod_stream_is_refused(toolchain: Toolchain, ladder_file: Path,
                                                                   tmp_path: Path) -> None:
    stream = tmp_path / "media" / "movie"
    (stream / "720p").mkdir(parents=True)
    (stream / "720p" / "index.m3u8").write_text("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n")
    publisher = await publisher_for(toolchain, ladder_file, LocalOutput(stream), [])
    with pytest.raises(OutputExists, match="holds a VOD stream: publish live under another --stream"):
        await publisher.run(asyncio.Event())
    assert sorted(p.name for p in stream.rglob("*")) == ["720p", "index.m3u8"]


async def test_a_server_without_ingest_is_said_in_words() -> None:
    """An origin (or anything else) answering 404 on the ingest: publishing stops before any encode, saying so."""
    app = web.Application()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            check = live_run.IngestCheck(IngestOutput(f"http://127.0.0.1:{port}", "cam1", TOKEN), session)
            with pytest.raises(PublishError, match=r"has no ingest for .*is it an hlsgate origin with ingest"):
                await check()
    finally:
        await runner.cleanup()
