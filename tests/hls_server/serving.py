"""The real ``hlsgate serve`` in a subprocess, for the tests that need a server as a person runs it: the CLI tests,
the end-to-end ffmpeg tests, the demo and packaging tests and the browser tests of the player.

The same guard as the in-process one (``never_500`` in conftest.py) holds when a :func:`serving` or
:func:`running_demo` block ends: the access log shows no 5xx but the deliberate 503, and the server's messages
hold no traceback and no ERROR record (:func:`server_faults`). :func:`http` is the plain-urllib "any client".
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from tests.conftest import HLSGATE, CliRun

from .conftest import ADMIN_SECRET, SECRET
from .http import bearer

ANNOUNCE = re.compile(r"^hlsgate: serving (?P<root>.+) on (?P<url>http://127\.0\.0\.1:\d+)$", re.MULTILINE)
START_SECONDS = 30.0  # a cold Python start under a loaded CI machine, not the expected time
STOP_SECONDS = 5.0
EXIT_SECONDS = 30.0
POLL_SECONDS = 0.02
HTTP_SECONDS = 10.0
NOT_CONFIGURED = 503  # the deliberate "not configured" answer; any other 5xx is a crash
# The text access log: remote "METHOD target" status bytes ms "agent" (JSON lines carry the same fields).
ACCESS_LINE = re.compile(r'^(?P<remote>\S+) "(?P<method>\S+) (?P<target>.*)" (?P<status>\d{3}) (?P<bytes>\d+) '
                         r'[0-9.]+ms "(?P<agent>.*)"$')
TRACEBACK = "Traceback (most recent call last)"
# The server's messages are "logger: message" (no level shown): an ERROR record is known by its traceback, by a
# level word should a format show one, or, for those asyncio logs at ERROR without an exception, by their text.
ERROR_RECORD = re.compile(r'^(?:[\w.]+: ?)?(?:ERROR|CRITICAL)[: ]|"level(?:name)?": ?"(?:ERROR|CRITICAL)"'
                          r"|^asyncio: (?:Task was destroyed but it is pending|Unclosed )")


def serve_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment without any HLSGATE_* of its own, plus the test secrets (None drops one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")}
    env.update({"HLSGATE_JWT_SECRET": SECRET, "HLSGATE_ADMIN_SECRET": ADMIN_SECRET})
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@dataclass
class Served:
    """A running ``hlsgate serve``: its URL, its access log (stdout) and its messages (stderr)."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    url: str = field(default="")

    def access_log(self) -> list[str]:
        return self.stdout.read_text(encoding="utf-8", errors="replace").splitlines()

    def messages(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def faults(self) -> list[str]:
        """What the server must never show (:func:`server_faults`), from its logs so far."""
        return server_faults(self.stdout.read_text(encoding="utf-8", errors="replace"), self.messages())

    def wait_for_log(self, done: Callable[[list[str]], bool], timeout: float = STOP_SECONDS) -> list[str]:
        """The access log once ``done(lines)`` holds: a line is written just after its response is sent."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.access_log()
            if done(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(POLL_SECONDS)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` (if still running) and wait; a server that does not stop in time is killed, then fails."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"hlsgate serve did not stop within {STOP_SECONDS}s of {sig.name}") from None


@contextmanager
def serving(folder: Path, *args: str, env: dict[str, str] | None = None, command: Sequence[str] = HLSGATE,
            cwd: Path | None = None) -> Iterator[Served]:
    """``hlsgate serve --port 0 ARGS`` until the block ends; then SIGTERM, which must end it with exit code 0, and
    its logs must show no fault (:func:`server_faults`). ``command`` is how ``hlsgate`` is run: this checkout's by
    default, an installed one's console script."""
    folder.mkdir(parents=True, exist_ok=True)
    out, err = folder / "serve.stdout", folder / "serve.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([*command, "serve", "--port", "0", *args], stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, env=serve_env() if env is None else env, cwd=cwd)
    served = Served(process, out, err)
    try:
        served.url = _wait_for_url(served)
        yield served
    finally:
        code = served.stop()
    assert code == 0, f"hlsgate serve exited with {code} on SIGTERM:\n{served.messages()}"
    faults = served.faults()
    assert faults == [], f"hlsgate serve failed while it ran: {faults}\n{served.messages()}"


def _wait_for_url(served: Served) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = ANNOUNCE.search(served.messages())
        if found:
            return found["url"]
        if served.process.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"hlsgate serve did not announce its URL:\n{served.messages()}")


def server_faults(access_log: str, messages: str) -> list[str]:
    """Each 5xx but a 503 in ``access_log`` (text or JSON lines), and each line of ``messages`` that is a traceback
    or an ERROR record."""
    faults = [f"answered {status}" for status in logged_statuses(access_log)
              if status >= 500 and status != NOT_CONFIGURED]
    faults += [f"logged {line!r}" for line in messages.splitlines() if TRACEBACK in line or ERROR_RECORD.search(line)]
    return faults


def logged_statuses(access_log: str) -> list[int]:
    """The status of every line of an access log, text or JSON; other lines (the demo's printout) are skipped."""
    statuses = []
    for line in access_log.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("status"), int):
                statuses.append(record["status"])
        elif found := ACCESS_LINE.match(line):
            statuses.append(int(found["status"]))
    return statuses


def http(url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
         body: object = None) -> tuple[int, bytes]:
    """One plain request (urllib, no aiohttp): the status and the body, error statuses included. ``headers=``
    :func:`~tests.hls_server.http.bearer` sends a token; a ``body`` is sent as JSON."""
    status, _, raw = exchange(url, method=method, headers=headers, body=body)
    return status, raw


def exchange(url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
             body: object = None) -> tuple[int, Message, bytes]:
    """:func:`http` with the response's headers too."""
    all_headers = dict(headers or {})
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_SECONDS) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, refused.headers, refused.read()


def api(served: Served, method: str, path: str, body: object = None, *,
        headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """A REST API request with a fresh admin bearer token, unless ``headers`` are given: the status and the JSON."""
    status, raw = http(f"{served.url}{path}", method=method, headers=bearer() if headers is None else headers,
                       body=body)
    return status, json.loads(raw) if raw else None


def hlsgate(*args: str, env: dict[str, str] | None = None) -> CliRun:
    """A command that must end by itself, with exactly ``env`` (a test's missing secret stays missing) and a
    bound on its run time (a ``serve`` that starts when it should refuse fails fast)."""
    try:
        done = subprocess.run([*HLSGATE, *args], capture_output=True, text=True, env=serve_env() if env is None
                              else env, stdin=subprocess.DEVNULL, timeout=EXIT_SECONDS, check=False)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"hlsgate {' '.join(args)} kept running") from err
    return CliRun(done.returncode, done.stdout, done.stderr)


# -- hlsgate demo ---------------------------------------------------------------------------------------------

DEMO_PLAYER_URL = re.compile(
    r"(?P<base>http://127\.0\.0\.1:\d+)/player/\?group=demo-group&token=(?P<token>[A-Za-z0-9_.-]+)")
DEMO_VOD_URL = re.compile(r"http://127\.0\.0\.1:\d+/hls/demo/master\.m3u8\?token=[A-Za-z0-9_.-]+")
DEMO_START_SECONDS = 120.0  # it transcodes its clip before it serves
SECRET_BITS = re.compile(r"(token=|Bearer |secret[^:\n]*: )[^\s&'\"]+")


def redacted(text: str) -> str:
    """``text`` without the tokens and secrets ``hlsgate demo`` prints, for a failure message."""
    return SECRET_BITS.sub(r"\1[redacted]", text)


@dataclass
class Demo(Served):
    """A running ``hlsgate demo``: ``url`` is its origin; the two URLs it printed, each with its token."""

    player_url: str = ""
    vod_url: str = ""


@contextmanager
def running_demo(folder: Path, *args: str, env: dict[str, str], command: Sequence[str] = HLSGATE,
                 cwd: Path | None = None) -> Iterator[Demo]:
    """``hlsgate demo --port 0 ARGS`` from once it has printed its player and VoD URLs until the block ends; then
    SIGINT (its Ctrl-C), which must end it with exit code 0."""
    folder.mkdir(parents=True, exist_ok=True)
    out, err = folder / "demo.stdout", folder / "demo.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([*command, "demo", "--port", "0", *args], stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, env=env, cwd=cwd)
    demo = Demo(process, out, err)
    try:
        _wait_for_demo(demo)
        yield demo
    finally:
        code = demo.stop(signal.SIGINT)
    assert code == 0, f"hlsgate demo exited with {code} on SIGINT:\n{redacted(demo.messages())}"
    faults = demo.faults()
    assert faults == [], redacted(f"hlsgate demo failed while it ran: {faults}\n{demo.messages()}")


def _wait_for_demo(demo: Demo) -> None:
    deadline = time.monotonic() + DEMO_START_SECONDS
    while time.monotonic() < deadline:
        printed = demo.stdout.read_text(encoding="utf-8", errors="replace")
        player, vod = DEMO_PLAYER_URL.search(printed), DEMO_VOD_URL.search(printed)
        if player and vod:  # the demo flushes its URLs in one go
            demo.url, demo.player_url, demo.vod_url = player["base"], player[0], vod[0]
            return
        if demo.process.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    printed = demo.stdout.read_text(encoding="utf-8", errors="replace")
    raise AssertionError(f"hlsgate demo printed no player and VoD URLs:\n{redacted(printed + demo.messages())}")
