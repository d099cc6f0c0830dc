"""The whole path, as a viewer meets it: ``hlsgate transcode`` publishes a stream, the real ``hlsgate serve``
serves it, and ffmpeg plays it over HTTP with nothing but a tokenised master URL.

ffmpeg never adds a token by itself, so every request it makes for a variant, a segment or an init section
carries one only because the server wrote it into the playlists. The server's access log (stdout) is the
witness: each segment of the variant played must appear there, fetched whole and with the token (redacted).
Each ffmpeg run has its own User-Agent so its log lines can be told apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import MakeMedia, run_cli
from transcode.toolchain import Toolchain

from .conftest import FMP4_STREAM, OTHER_SECRET, OTHER_STREAM, STREAM, make_token
from .http import bearer
from .serving import ACCESS_LINE, Served, api, hlsgate, serving

FFMPEG_SECONDS = 60
GROUP = "g"  # holds STREAM and FMP4_STREAM
OTHER_GROUP = "other"  # holds OTHER_STREAM only
REDACTED_QUERY = "?token=[redacted]"
REFUSED_SETTLE_SECONDS = 0.2


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    status: int
    size: int


@dataclass(frozen=True)
class Played:
    code: int
    stderr: str
    agent: str  # the User-Agent of this run, to find its requests in the access log


@pytest.fixture(scope="module")
def e2e_root(tmp_path_factory: pytest.TempPathFactory, make_media: MakeMedia, published_root: Path) -> Path:
    """STREAM made here by the real ``hlsgate transcode``; OTHER_STREAM and the fMP4 stream copied as published."""
    root = tmp_path_factory.mktemp("e2e-media")
    source = make_media("origin-source.mp4", seconds=4.0, size="640x360", rate=25)
    done = run_cli("transcode", str(source), str(root / STREAM), "--ladder", "360p,240p", "--segment-seconds", "1",
                   "--preset", "ultrafast", "--quiet")
    assert done.code == 0, done.stderr
    for stream in (OTHER_STREAM, FMP4_STREAM):
        shutil.copytree(published_root / stream, root / stream)
    return root


@pytest.fixture(scope="module")
def server(e2e_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("e2e-serve")
    with serving(folder, "--media-root", str(e2e_root), "--state-dir", str(folder / "state")) as served:
        yield served


@pytest.fixture(scope="module")
def tokens(server: Served) -> dict[str, str]:
    """Tokens as an operator gets them: ``hlsgate token`` for a stream and a group, the REST API for the rest."""
    admin = hlsgate("admin-token")
    assert admin.code == 0, admin.stderr
    admin_token = admin.stdout.strip()
    for group, streams in ((GROUP, [STREAM, FMP4_STREAM]), (OTHER_GROUP, [OTHER_STREAM])):
        status, _ = api(server, "PUT", f"/api/v1/groups/{group}", {"streams": streams}, headers=bearer(admin_token))
        assert status == 200
    found: dict[str, str] = {}
    for name, scope in ((STREAM, "--stream"), (GROUP, "--group")):
        minted = hlsgate("token", scope, name)
        assert minted.code == 0, minted.stderr
        found[name] = minted.stdout.strip()
    for name, field in ((FMP4_STREAM, "stream"), (OTHER_STREAM, "stream"), (OTHER_GROUP, "group")):
        status, body = api(server, "POST", "/api/v1/tokens", {field: name, "ttl": 600}, headers=bearer(admin_token))
        assert status == 201, body
        found[name] = body["token"]
    return found


def play(toolchain: Toolchain, server: Served, stream: str, program: int, token: str | None) -> Played:
    """ffmpeg decodes one program (variant) of the master playlist to nowhere."""
    agent = f"hlsgate-e2e-{uuid.uuid4().hex}"
    url = f"{server.url}/hls/{stream}/master.m3u8" + (f"?token={token}" if token is not None else "")
    done = subprocess.run([toolchain.ffmpeg, "-nostdin", "-v", "error", "-user_agent", agent, "-i", url,
                           "-map", f"0:p:{program}", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=FFMPEG_SECONDS, check=False)
    return Played(done.returncode, done.stderr, agent)


def requests_of(server: Served, played: Played, *, until: Callable[[list[Request]], bool]) -> list[Request]:
    """The run's logged requests once ``until`` holds for them (or a deadline passes): a log line is written
    just after its response is sent, so the last ones can trail ffmpeg's exit a little."""
    def parse(lines: list[str]) -> list[Request]:
        found = []
        for line in lines:
            match = ACCESS_LINE.match(line)
            if match and match["agent"] == played.agent:
                path, _, query = match["target"].partition("?")
                found.append(Request(match["method"], path, f"?{query}" if query else "", int(match["status"]),
                                     int(match["bytes"])))
        return found

    return parse(server.wait_for_log(lambda lines: until(parse(lines))))


def uri_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def variant_files(root: Path, stream: str, program: int) -> list[Path]:
    """Every file a player of that variant must fetch: the init section (if any) and each segment."""
    variant = uri_lines((root / stream / "master.m3u8").read_text())[program]
    playlist = root / stream / variant
    text = playlist.read_text()
    inits = re.findall(r'^#EXT-X-MAP:URI="([^"]+)"', text, re.MULTILINE)
    return [playlist.parent / name for name in [*inits, *uri_lines(text)]]


def assert_played_whole(server: Served, played: Played, root: Path, stream: str, program: int) -> None:
    """ffmpeg succeeded, and the log shows each file of the variant fetched whole, each request with a token."""
    assert played.code == 0, played.stderr
    assert played.stderr.strip() == "", played.stderr  # ffmpeg skips a segment it cannot open, and says so here
    wanted = {f"/hls/{file.relative_to(root).as_posix()}": file.stat().st_size
              for file in variant_files(root, stream, program)}
    assert len(wanted) >= 4

    def fetched_whole(path: str, requests: list[Request]) -> bool:
        # A 206 can be the whole file too: ffmpeg asks for "Range: bytes=0-"; the logged size tells.
        return any(r.path == path and r.method == "GET" and r.status in (200, 206) and r.size == wanted[path]
                   for r in requests)

    requests = requests_of(server, played, until=lambda found: all(fetched_whole(path, found) for path in wanted))
    missing = [path for path in wanted if not fetched_whole(path, requests)]
    assert not missing, f"not fetched whole: {missing}; the log: {requests}"
    hls = [r for r in requests if r.path.startswith("/hls/")]
    assert all(r.query == REDACTED_QUERY for r in hls), [r for r in hls if r.query != REDACTED_QUERY]
    assert all(r.status in (200, 206) for r in hls), [r for r in hls if r.status not in (200, 206)]


# -- playing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("program", [0, 1])
def test_ffmpeg_plays_every_segment_of_a_variant_with_a_stream_token(
        toolchain: Toolchain, server: Served, tokens: dict[str, str], e2e_root: Path, program: int) -> None:
    played = play(toolchain, server, STREAM, program, tokens[STREAM])
    assert_played_whole(server, played, e2e_root, STREAM, program)


def test_ffmpeg_plays_with_a_group_token(
        toolchain: Toolchain, server: Served, tokens: dict[str, str], e2e_root: Path) -> None:
    played = play(toolchain, server, STREAM, 0, tokens[GROUP])
    assert_played_whole(server, played, e2e_root, STREAM, 0)


@pytest.mark.parametrize("token_name", [FMP4_STREAM, GROUP])
def test_ffmpeg_plays_fmp4_with_its_init_section(
        toolchain: Toolchain, server: Served, tokens: dict[str, str], e2e_root: Path, token_name: str) -> None:
    played = play(toolchain, server, FMP4_STREAM, 0, tokens[token_name])
    assert_played_whole(server, played, e2e_root, FMP4_STREAM, 0)


# -- refused -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [
    ("no-token", 401),
    ("another-stream", 403),
    ("expired", 401),
    ("group-without-the-stream", 403),
    ("forged", 401),
])
def test_ffmpeg_is_refused(toolchain: Toolchain, server: Served, tokens: dict[str, str], kind: str,
                           status: int) -> None:
    now = int(time.time())
    token = {
        "no-token": None,
        "another-stream": tokens[OTHER_STREAM],
        "expired": make_token(iat=now - 7200, exp=now - 3600),  # far beyond the leeway
        "group-without-the-stream": tokens[OTHER_GROUP],
        "forged": make_token(OTHER_SECRET),
    }[kind]
    played = play(toolchain, server, STREAM, 0, token)
    assert played.code != 0
    assert f"{status} " in played.stderr
    requests_of(server, played, until=bool)  # its first request is logged
    time.sleep(REFUSED_SETTLE_SECONDS)  # and a further one, had there been one, would be logged by now too
    requests = requests_of(server, played, until=bool)
    assert [(r.path, r.status) for r in requests] == [(f"/hls/{STREAM}/master.m3u8", status)]
