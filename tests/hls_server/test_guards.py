"""The guards have teeth: the in-process one (``never_500`` in conftest.py) and the one on a subprocess server
(:func:`~tests.hls_server.serving.server_faults`, checked when a ``serving()`` block ends)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hls_server.web.app import create_app

from .conftest import ServerWatch, settings_for
from .http import raw_exchange, raw_request
from .serving import logged_statuses, server_faults, serving

ANNOUNCED = "hlsgate: serving /media on http://127.0.0.1:9"


# -- in process -------------------------------------------------------------------------------------------------


async def test_the_never_500_guard_sees_a_handler_crash(media_root: Path, tmp_path: Path, never_500: ServerWatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The guard is not a tautology: an exception escaping a handler is seen as a 500 and an error record."""
    app = create_app(settings_for(media_root, tmp_path / "state"))

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app.router.add_get("/crash", crash)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        port = server.port
        assert port is not None
        answer = await raw_exchange(port, raw_request("/crash"))
    finally:
        await server.close()
    assert answer.status == 500
    assert 500 in never_500.statuses
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
    never_500.statuses.clear()  # seen; now let the guard pass
    caplog.clear()


# -- a subprocess server ----------------------------------------------------------------------------------------


def access(status: int, target: str = "/hls/s1/360p/seg_00000.ts?token=[redacted]") -> str:
    """A line of the text access log, as hls_server.web.accesslog writes it."""
    return f'127.0.0.1 "GET {target}" {status} 1234 0.8ms "Lavf/60.16.100"'


CLEAN_MESSAGES = "\n".join([
    ANNOUNCED,
    "hlsgate serve: WARNING: --no-auth: every stream is public",
    "aiohttp.server: Error handling request: 400 BadHttpMessage",  # a malformed request, demoted to one line
    "hls_server.core.auth.keys: JWKS https://keys.example/jwks.json unavailable (timeout); keeping the 2 keys held",
])


@pytest.mark.parametrize(("access_log", "messages", "faults"), [
    pytest.param("", "", [], id="nothing"),
    pytest.param("\n".join(access(s) for s in (200, 206, 304, 401, 403, 404, 416, 503)), CLEAN_MESSAGES, [],
                 id="clean-text"),
    pytest.param('{"method":"GET","target":"/api/v1/groups","status":503}\nhlsgate demo: open http://x/\n',
                 "", [], id="clean-json-and-printout"),
    pytest.param(access(500), "", ["answered 500"], id="text-500"),
    pytest.param(access(200) + "\n" + access(502, '/hls/a "b" c'), "", ["answered 502"], id="text-502-odd-target"),
    pytest.param('{"remote":"127.0.0.1","method":"GET","target":"/healthz","status":500,"bytes":0}', "",
                 ["answered 500"], id="json-500"),
    pytest.param("", f"{ANNOUNCED}\nTraceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: boom",
                 ["logged 'Traceback (most recent call last):'"], id="traceback"),
    pytest.param("", "ERROR:aiohttp.server:Error handling request", ["logged 'ERROR:aiohttp.server:Error handling "
                                                                     "request'"], id="error-level-basic-format"),
    pytest.param("", "hls_server.web: ERROR: boom", ["logged 'hls_server.web: ERROR: boom'"], id="error-level-named"),
    pytest.param("", '{"level": "CRITICAL", "message": "boom"}', ["logged '{\"level\": \"CRITICAL\", \"message\": "
                                                                  "\"boom\"}'"], id="critical-json"),
    pytest.param("", "asyncio: Task was destroyed but it is pending!",
                 ["logged 'asyncio: Task was destroyed but it is pending!'"], id="asyncio-error-without-exception"),
])
def test_server_faults(access_log: str, messages: str, faults: list[str]) -> None:
    assert server_faults(access_log, messages) == faults


def test_logged_statuses_reads_both_formats_and_skips_other_lines() -> None:
    log = "\n".join([access(200), "Viewer secret: [redacted]", '{"status": 404}', '{"status": "x"}', "{not json",
                     access(401)])
    assert logged_statuses(log) == [200, 404, 401]


def fake_server(stdout: str, stderr: str) -> list[str]:
    """A command standing in for ``hlsgate``: it writes these logs, announces itself and stops cleanly on SIGTERM."""
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
        f"sys.stdout.write({stdout!r}); sys.stdout.flush()\n"
        f"sys.stderr.write({stderr!r} + '\\n' + {ANNOUNCED!r} + '\\n'); sys.stderr.flush()\n"
        "while True:\n"
        "    time.sleep(1)\n"
    )
    return [sys.executable, "-c", script]


@pytest.mark.parametrize(("stdout", "stderr", "fault"), [
    pytest.param(access(500) + "\n", "", "answered 500", id="a-500"),
    pytest.param("", "Traceback (most recent call last):\nRuntimeError: boom", "Traceback", id="a-traceback"),
])
def test_a_serving_block_fails_on_a_fault(tmp_path: Path, stdout: str, stderr: str, fault: str) -> None:
    with pytest.raises(AssertionError, match=f"hlsgate serve failed while it ran: .*{fault}"), \
            serving(tmp_path, command=fake_server(stdout, stderr)):
        pass


def test_a_serving_block_passes_a_clean_server(tmp_path: Path) -> None:
    """The control: a server whose logs show only 2xx-4xx, a 503 and warnings ends its block quietly."""
    with serving(tmp_path, command=fake_server(f"{access(200)}\n{access(503)}\n", CLEAN_MESSAGES)) as served:
        assert served.url == "http://127.0.0.1:9"
