"""Factories for the origin's tests: secrets made at run time, tokens, a media root holding real transcoded
streams, and a running origin on loopback (real HTTP through aiohttp's test server).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.test_utils import TestServer
from aiohttp.web_protocol import RequestHandler

from hls_server.core.settings import Settings, load_settings
from hls_server.web.app import create_app
from hls_server.web.context import SERVICES
from transcode.api import transcode_vod
from transcode.command import EncodeOptions
from transcode.ladder import load_ladder
from transcode.toolchain import Toolchain

from ..conftest import MakeMedia

# Made fresh for every run: no secret is ever written into the repository.
SECRET = secrets.token_urlsafe(48)
OTHER_SECRET = secrets.token_urlsafe(48)
ADMIN_SECRET = secrets.token_urlsafe(48)
STREAM = "s1"  # two renditions, MPEG-TS segments
OTHER_STREAM = "s2"
FMP4_STREAM = "f1"  # fMP4: init section + .m4s
RENDITIONS = ("360p", "240p")


def make_token(secret: str = SECRET, *, headers: Mapping[str, Any] | None = None, algorithm: str = "HS256",
               omit: tuple[str, ...] = (), **claims: Any) -> str:
    """A token with sensible defaults (a play token for STREAM valid for an hour); override or ``omit`` claims."""
    now = int(time.time())
    payload: dict[str, Any] = {"type": "play", "streamId": STREAM, "iat": now, "exp": now + 3600}
    payload.update(claims)
    for name in omit:
        payload.pop(name, None)
    return jwt.encode(payload, secret, algorithm=algorithm, headers=dict(headers) if headers else None)


def make_admin_token(secret: str = ADMIN_SECRET, *, ttl: int = 120, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"type": "admin", "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def settings_for(media_root: Path, state_dir: Path | None = None, env: Mapping[str, str] | None = None,
                 **flags: Any) -> Settings:
    """Settings as ``hlsgate serve`` builds them; ``flags`` use the dotted setting names (``auth.leeway`` ...)."""
    base_env = {"HLSGATE_JWT_SECRET": SECRET, "HLSGATE_ADMIN_SECRET": ADMIN_SECRET}
    base_env.update(env or {})
    all_flags: dict[str, Any] = {"media_root": str(media_root), "log_format": "text"}
    if state_dir is not None:
        all_flags["state_dir"] = str(state_dir)
    all_flags.update(flags)
    return load_settings(all_flags, base_env)


@pytest.fixture(scope="session")
def published_root(tmp_path_factory: pytest.TempPathFactory, make_media: MakeMedia, toolchain: Toolchain) -> Path:
    """A read-only-by-convention media root with real streams: copy it (``media_root``) before changing it."""
    root = tmp_path_factory.mktemp("published")
    source = make_media("origin-source.mp4", seconds=4.0, size="640x360", rate=25)
    ladder = load_ladder(",".join(RENDITIONS))
    for name in (STREAM, OTHER_STREAM):
        transcode_vod(source, root / name, ladder=ladder, options=EncodeOptions(segment_seconds=1.0),
                      toolchain=toolchain)
    transcode_vod(source, root / FMP4_STREAM, ladder=load_ladder("240p"),
                  options=EncodeOptions(segment_seconds=1.0, segment_format="fmp4"), toolchain=toolchain)
    return root


@pytest.fixture
def media_root(published_root: Path, tmp_path: Path) -> Path:
    """A private copy of the published streams that a test may change (plant symlinks, delete segments)."""
    root = tmp_path / "media"
    shutil.copytree(published_root, root, symlinks=True)
    return root


@dataclass
class Origin:
    """A running origin on loopback and a client session for it (requests go through tests/hls_server/http.py)."""

    server: TestServer
    session: aiohttp.ClientSession
    settings: Settings

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def port(self) -> int:
        port = self.server.port
        assert port is not None
        return port


StartOrigin = Callable[..., Any]


@pytest.fixture
async def start_origin(media_root: Path, tmp_path: Path) -> AsyncIterator[StartOrigin]:
    """``await start_origin(**flags)`` -> Origin. Every origin started is stopped after the test."""
    running: list[Origin] = []

    async def start(settings: Settings | None = None, **flags: Any) -> Origin:
        settings = settings or settings_for(media_root, tmp_path / "state", **flags)
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        session = aiohttp.ClientSession(auto_decompress=False)
        origin = Origin(server, session, settings)
        running.append(origin)
        return origin

    yield start
    for origin in running:
        await origin.session.close()
        await origin.server.close()


@pytest.fixture
async def origin(start_origin: StartOrigin) -> Origin:
    """An origin with the default test settings (HS256 viewer secret, admin secret)."""
    started: Origin = await start_origin()
    return started


# -- the guard on every test of the origin: never a 5xx, never an error logged --------------------------------------


@dataclass
class ServerWatch:
    """Every status an in-process aiohttp server answered during the test (recorded at access-log time)."""

    statuses: list[int] = field(default_factory=list)
    deliberate: set[int] = field(default_factory=lambda: {503})
    """The 5xx answers that are not crashes: 503 "not configured"; a disk-full test adds 507."""


@pytest.fixture(autouse=True)
def never_500(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[ServerWatch]:
    """Fail the test if any in-process origin answered 5xx or anything logged at ERROR (a traceback)."""
    watch = ServerWatch()
    log_access = RequestHandler.log_access

    def record(self: RequestHandler, request: Any, response: Any, start: float | None) -> None:
        try:
            app = request.app
        except AssertionError:  # a request aiohttp could not parse reached no app: the origin's server answered it
            app = None
        if app is None or SERVICES in app:  # the origin's answers, not those of a test's fake key server
            watch.statuses.append(response.status)
        log_access(self, request, response, start)

    monkeypatch.setattr(RequestHandler, "log_access", record)
    yield watch
    # 503 is the deliberate "not configured" answer (the REST API without an admin key); any other 5xx is a crash.
    assert [s for s in watch.statuses if s >= 500 and s not in watch.deliberate] == [], \
        f"the server answered {watch.statuses}"
    errors = [r for r in (*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records)
              if r.levelno >= logging.ERROR and not _client_error(r)]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]


def _client_error(record: logging.LogRecord) -> bool:
    """aiohttp logs a request it could not parse (answered 400) at ERROR with a traceback: not a crash."""
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, HttpProcessingError) and 400 <= error.code < 500
