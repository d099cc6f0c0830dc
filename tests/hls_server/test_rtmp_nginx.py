"""The RTMP path with real programs: nginx with Debian's RTMP module, run from the configuration ``hlsgate
rtmp-config`` prints, the real ``hlsgate serve``, and ffmpeg publishing as OBS does (``rtmp://.../live/s1?token=``).

A refused client is dropped at once (ffmpeg ends non-zero within seconds), nginx starts no transcoder for it and
nothing lands in the media root. An accepted one publishes, and nginx runs ``hlsgate publish`` for its stream with
the arguments the configuration promises: a stand-in script records them here, and is ended with SIGTERM when the
publisher stops. The whole way to a viewer (the real ``hlsgate publish`` and the ingest route) is the last test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from transcode.toolchain import Toolchain

from .conftest import OTHER_SECRET, make_token
from .rtmp import STOP_SECONDS, Nginx, files_under, free_port, publish, publish_argv, running_nginx
from .serving import ACCESS_LINE, Served, hlsgate, http, serving

REFUSED_WITHIN = 5.0  # seconds: a refused ffmpeg ends at once; this bounds a loaded machine, not the usual time
EXEC_SECONDS = 10.0
MAX_STREAM_KEY = 255  # NGX_RTMP_MAX_NAME, less its NUL
POLL_SECONDS = 0.05

# nginx runs this instead of hlsgate: it writes down its argv and, when nginx ends it, the signal.
STAND_IN = """\
#!{python}
import json, os, signal, sys, time
out = os.path.join({folder!r}, "exec-%d.json" % os.getpid())
def record(signum=None, frame=None):
    with open(out + ".tmp", "w") as f:
        json.dump({{"argv": sys.argv, "signal": signum, "env": sorted(os.environ)}}, f)
    os.replace(out + ".tmp", out)
    if signum is not None:
        sys.exit(0)
signal.signal(signal.SIGTERM, record)
record()
while True:
    time.sleep(0.1)
"""


@dataclass
class Edge:
    served: Served
    nginx: Nginx
    media: Path
    execs: Path  # where the stand-in writes down each run

    def runs(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.execs.glob("exec-*.json"))]

    def wait_runs(self, done: Any, timeout: float = EXEC_SECONDS) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(runs := self.runs()) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        return runs

    def callbacks(self, lines: list[str] | None = None) -> list[tuple[str, int]]:
        """The origin's answers to nginx's callbacks: (path, status), in order."""
        found = []
        for line in self.served.access_log() if lines is None else lines:
            match = ACCESS_LINE.match(line)
            if match and match["target"].startswith("/rtmp/"):
                found.append((match["target"], int(match["status"])))
        return found

    def callbacks_since(self, before: int, count: int) -> list[tuple[str, int]]:
        """The callbacks after the first ``before``, once ``count`` of them are logged (or a deadline passed)."""
        lines = self.served.wait_for_log(lambda lines: len(self.callbacks(lines)) >= before + count, EXEC_SECONDS)
        return self.callbacks(lines)[before:]


def rtmp_config(*args: str) -> str:
    done = hlsgate("rtmp-config", *args)
    assert done.code == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """One origin and one nginx for the module (the machine is shared): nginx runs the stand-in as hlsgate."""
    folder = tmp_path_factory.mktemp("rtmp")
    media, execs = folder / "media", folder / "execs"
    media.mkdir()
    execs.mkdir()
    stand_in = folder / "stand-in"
    stand_in.write_text(STAND_IN.format(python=sys.executable, folder=str(execs)))
    stand_in.chmod(0o755)
    with serving(folder / "serve", "--media-root", str(media)) as served:
        port = free_port()
        config = rtmp_config("--listen", f"127.0.0.1:{port}", "--origin", served.url, "--hlsgate", str(stand_in),
                             "--prefix", str(folder / "nginx"))
        with running_nginx(folder / "nginx", config, port) as nginx:
            yield Edge(served, nginx, media, execs)


def publish_token(stream: str, **claims: Any) -> str:
    return make_token(type="publish", streamId=stream, **claims)


@pytest.mark.parametrize(("case", "key", "status"), [
    ("no token", "r1", 401),
    ("an empty token", "r2?token=", 401),
    ("a play token", "r3?token={play}", 403),
    ("another stream's token", "r4?token={other}", 403),
    ("an expired token", "r5?token={expired}", 401),
    ("a forged token", "r6?token={forged}", 401),
    ("two different tokens", "r7?token={good}&token={good2}", 401),
    ("a name that is no stream id", "r.8?token={good}", 400),
    # nginx-rtmp keeps 255 bytes of a stream key: a valid token cut short is refused, never half-trusted
    (f"a stream key over {MAX_STREAM_KEY} bytes", "r9" + "x" * 60 + "?token={good}", 401),
])
def test_refused_clients_are_dropped_and_nothing_is_written(toolchain: Toolchain, edge: Edge, case: str, key: str,
                                                            status: int) -> None:
    stream = key.partition("?")[0]
    tokens = {"play": make_token(type="play", streamId=stream), "other": publish_token("s2"),
              "expired": publish_token(stream, exp=int(time.time()) - 3600),
              "forged": make_token(OTHER_SECRET, type="publish", streamId=stream),
              "good": publish_token(stream, jti="a"), "good2": publish_token(stream, jti="b")}
    before = len(edge.callbacks())
    key = key.format(**tokens)
    assert len(key) > MAX_STREAM_KEY or "x" * 60 not in key
    published = publish(toolchain.ffmpeg, edge.nginx.url("live", key), seconds=5.0)
    assert published.code not in (0, None), f"{case}: ffmpeg was not dropped: {published.stderr}"
    assert published.seconds < REFUSED_WITHIN, f"{case}: dropped only after {published.seconds:.1f}s"
    assert edge.callbacks_since(before, 1) == [("/rtmp/on_publish", status)], case
    assert edge.runs() == [] or all(run["argv"][3] != f"--stream={stream}" for run in edge.runs())
    assert files_under(edge.media) == set()
    for token in tokens.values():  # nginx's logs keep no token either
        assert token[-24:] not in edge.nginx.error_log() + edge.nginx.access_log()


def test_a_publish_token_in_the_stream_key_is_accepted_and_transcoded(toolchain: Toolchain, edge: Edge) -> None:
    """OBS's settings: server rtmp://host:port/live, stream key a1?token=JWT."""
    token = publish_token("a1")
    before = len(edge.callbacks())
    published = publish(toolchain.ffmpeg, edge.nginx.url("live", f"a1?token={token}"), seconds=2.0)
    assert published.code == 0, published.stderr
    runs = edge.wait_runs(lambda runs: any(run["signal"] for run in runs if "--stream=a1" in run["argv"]))
    [run] = [run for run in runs if "--stream=a1" in run["argv"]]
    assert run["argv"][1:] == ["publish", f"rtmp://127.0.0.1:{edge.nginx.port}/live/a1", "--stream=a1",
                               f"--server={edge.served.url}", f"--rtmp-args=token={token}"]
    assert run["signal"] == 15  # SIGTERM when the publisher stopped: hlsgate publish ends its playlists
    assert "PATH" in run["env"]
    assert edge.callbacks_since(before, 2) == [("/rtmp/on_publish", 204), ("/rtmp/on_publish_done", 204)]


def test_a_stream_key_cannot_make_nginx_write_a_file(toolchain: Toolchain, edge: Edge) -> None:
    """nginx-rtmp's exec reads an argument beginning with > as a redirection: ``$args`` glued to its flag is not one.
    (With a bare ``"$args"`` argument, this stream key made nginx create the file ``pwned&token=...``.)"""
    token = publish_token("a3")
    before = len(edge.callbacks())
    published = publish(toolchain.ffmpeg, edge.nginx.url("live", f"a3?>pwned&token={token}"), seconds=1.0)
    assert published.code == 0, published.stderr
    assert edge.callbacks_since(before, 2) == [("/rtmp/on_publish", 204), ("/rtmp/on_publish_done", 204)]
    runs = edge.wait_runs(lambda runs: any("--stream=a3" in run["argv"] for run in runs))
    [run] = [run for run in runs if "--stream=a3" in run["argv"]]
    assert run["argv"][-1] == f"--rtmp-args=>pwned&token={token}"
    assert not [p.name for p in edge.nginx.prefix.iterdir() if p.name.startswith("pwned")]  # nginx's folder


def test_a_publish_token_in_the_tcurl_is_accepted(toolchain: Toolchain, edge: Edge) -> None:
    """The other style: server rtmp://host:port/live?token=JWT, stream key a2."""
    token = publish_token("a2")
    before = len(edge.callbacks())
    tcurl = f"rtmp://127.0.0.1:{edge.nginx.port}/live?token={token}"
    published = publish(toolchain.ffmpeg, edge.nginx.url("live", "a2"), seconds=1.0, extra=("-rtmp_tcurl", tcurl))
    assert published.code == 0, published.stderr
    assert edge.callbacks_since(before, 2) == [("/rtmp/on_publish", 204), ("/rtmp/on_publish_done", 204)]


# -- the whole way: OBS -> nginx-rtmp -> hlsgate publish -> PUT /ingest -> a viewer -------------------------------

LIVE_SECONDS = 40.0  # the publisher's longest run; the test stops it as soon as a viewer has played
LISTED_SECONDS = 30.0  # from the first RTMP byte to a master playlist: the transcoder starts, two segments land
ENDED_SECONDS = 15.0


def test_an_rtmp_publisher_goes_live_and_a_viewer_plays_it(toolchain: Toolchain, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    with serving(tmp_path / "serve", "--media-root", str(media)) as served:
        port = free_port()
        config = rtmp_config("--listen", f"127.0.0.1:{port}", "--origin", served.url, "--ladder", "240p",
                             "--prefix", str(tmp_path / "nginx"))
        with running_nginx(tmp_path / "nginx", config, port) as nginx:
            url = nginx.url("live", f"live1?token={publish_token('live1')}")
            publisher = subprocess.Popen(publish_argv(toolchain.ffmpeg, url, LIVE_SECONDS), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                play = make_token(type="play", streamId="live1")
                master = wait_for(f"{served.url}/hls/live1/master.m3u8?token={play}", LISTED_SECONDS)
                variant = next(line for line in master.splitlines() if line and not line.startswith("#"))
                base = f"{served.url}/hls/live1/"
                media_playlist = wait_for(urljoin(base, variant), LISTED_SECONDS)
                segment = next(line for line in media_playlist.splitlines() if line and not line.startswith("#"))
                status, body = http(urljoin(urljoin(base, variant), segment))
                assert status == 200 and body[:1] == b"\x47", "a viewer gets an MPEG-TS segment"
            finally:
                publisher.terminate()
                publisher.wait(timeout=STOP_SECONDS)
            ended = wait_for(urljoin(base, variant), ENDED_SECONDS, until=lambda text: "#EXT-X-ENDLIST" in text)
            assert "#EXT-X-ENDLIST" in ended, "on_publish_done ends the stream"


def wait_for(url: str, seconds: float, until: Any = None) -> str:
    """The body of ``url`` once it answers 200 (and ``until(body)`` holds), or an AssertionError at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        status, body = http(url)
        text = body.decode("utf-8", "replace")
        if status == 200 and (until is None or until(text)):
            return text
        assert time.monotonic() < deadline, f"{url.partition('?')[0]}: {status} after {seconds}s"
        time.sleep(0.25)
