"""``hlsgate serve``, ``hlsgate token`` and ``hlsgate admin-token`` as a person meets them: one clear line per
failure, secrets never printed, a clean stop on SIGINT and SIGTERM, and printed tokens that a running server takes.
"""

from __future__ import annotations

import secrets
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest

from .conftest import ADMIN_SECRET, SECRET, STREAM
from .http import bearer
from .serving import api, hlsgate, http, serve_env, serving

MAX_TOKEN_TTL = 7 * 24 * 3600  # tokens.max_ttl's default
ADMIN_TTL = 300  # admin.max_lifetime's default


def one_error_line(stderr: str, command: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"hlsgate {command}: error: "), stderr
    return lines[0]


def claims_of(token: str, secret: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"])
    return claims


# -- hlsgate serve: refusing to start ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [True, False], ids=["nonexistent", "not-given"])
def test_serve_without_a_media_root_exits_2(tmp_path: Path, missing: bool) -> None:
    root = tmp_path / "no-such-dir"
    run = hlsgate("serve", *(["--media-root", str(root)] if missing else []))
    assert run.code == 2
    line = one_error_line(run.stderr, "serve")
    if missing:
        assert str(root) in line and "not a directory" in line
    else:
        assert "media_root is required" in line and "--media-root" in line
    assert run.stdout == ""


@pytest.mark.parametrize("variable", ["HLSGATE_JWT_SECRET", "HLSGATE_ADMIN_SECRET"])
def test_serve_with_a_short_secret_exits_2_without_printing_it(tmp_path: Path, variable: str) -> None:
    short = f"short-{secrets.token_hex(6)}"
    run = hlsgate("serve", "--media-root", str(tmp_path), env=serve_env(**{variable: short}))
    assert run.code == 2
    line = one_error_line(run.stderr, "serve")
    assert "32" in line and variable in line
    assert short not in run.stderr + run.stdout


def test_serve_without_any_viewer_key_exits_2(tmp_path: Path) -> None:
    run = hlsgate("serve", "--media-root", str(tmp_path), env=serve_env(HLSGATE_JWT_SECRET=None))
    assert run.code == 2
    assert "HLSGATE_JWT_SECRET" in one_error_line(run.stderr, "serve")


def test_serve_on_a_port_in_use_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = hlsgate("serve", "--media-root", str(tmp_path), "--port", str(port))
    assert run.code == 1
    line = one_error_line(run.stderr, "serve")
    assert "cannot listen" in line and "address already in use" in line.lower() and str(port) in line


# -- hlsgate serve: running and stopping ---------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_stops_the_server_with_exit_0(published_root: Path, tmp_path: Path, sig: signal.Signals) -> None:
    with serving(tmp_path, "--media-root", str(published_root), "--state-dir", str(tmp_path / "state")) as served:
        assert http(f"{served.url}/healthz")[0] == 200
        assert served.stop(sig) == 0
        assert "Traceback" not in served.messages()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{served.url}/healthz", timeout=5)  # noqa: S310 - nothing listens any more


def test_no_auth_warns_and_serves_without_a_token(published_root: Path, tmp_path: Path) -> None:
    with serving(tmp_path, "--media-root", str(published_root), "--state-dir", str(tmp_path / "state"),
                 "--no-auth") as served:
        assert "WARNING" in served.messages() and "--no-auth" in served.messages()
        assert http(f"{served.url}/hls/{STREAM}/master.m3u8")[0] == 200


def test_printed_tokens_work_against_a_running_server(published_root: Path, tmp_path: Path) -> None:
    admin = hlsgate("admin-token", "--ttl", "60")
    play = hlsgate("token", "--stream", STREAM)
    assert (admin.code, play.code) == (0, 0), admin.stderr + play.stderr
    admin_claims = claims_of(admin.stdout.strip(), ADMIN_SECRET)
    assert (admin_claims["type"], admin_claims["exp"] - admin_claims["iat"]) == ("admin", 60)
    with serving(tmp_path, "--media-root", str(published_root), "--state-dir", str(tmp_path / "state")) as served:
        assert "WARNING" not in served.messages()
        status, listing = api(served, "GET", "/api/v1/streams", headers=bearer(admin.stdout.strip()))
        assert status == 200
        assert STREAM in {stream["id"] for stream in listing["streams"]}
        status, _ = http(f"{served.url}/hls/{STREAM}/master.m3u8?token={play.stdout.strip()}")
        assert status == 200
        # Not interchangeable: the admin token plays nothing, the play token administers nothing.
        assert http(f"{served.url}/hls/{STREAM}/master.m3u8?token={admin.stdout.strip()}")[0] == 401
        assert api(served, "GET", "/api/v1/streams", headers=bearer(play.stdout.strip()))[0] == 401


# -- hlsgate token -------------------------------------------------------------------------------------------


def test_token_for_a_stream() -> None:
    before = int(time.time())
    run = hlsgate("token", "--stream", STREAM, "--type", "publish", "--ttl", "60")
    assert run.code == 0, run.stderr
    (token,) = run.stdout.split()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = claims_of(token, SECRET)
    assert (claims["type"], claims["streamId"], claims["exp"] - claims["iat"]) == ("publish", STREAM, 60)
    assert before <= claims["iat"] <= time.time()
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert "group" not in claims
    assert run.stderr == ""


def test_token_for_a_group_defaults_to_play_for_an_hour() -> None:
    run = hlsgate("token", "--group", "g1")
    assert run.code == 0, run.stderr
    claims = claims_of(run.stdout.strip(), SECRET)
    assert (claims["type"], claims["group"], claims["exp"] - claims["iat"]) == ("play", "g1", 3600)
    assert "streamId" not in claims


def test_token_for_a_room() -> None:
    run = hlsgate("token", "--room", "room1", "--type", "publish")
    assert run.code == 0, run.stderr
    claims = claims_of(run.stdout.strip(), SECRET)
    assert (claims["type"], claims["roomId"]) == ("publish", "room1")
    assert "streamId" not in claims and "group" not in claims


@pytest.mark.parametrize(("args", "env", "fragment"), [
    (("--stream", STREAM), {"HLSGATE_JWT_SECRET": None}, "HLSGATE_JWT_SECRET"),
    (("--stream", STREAM, "--ttl", str(MAX_TOKEN_TTL + 1)), {}, f"1..{MAX_TOKEN_TTL}"),
    (("--stream", "s1/../s2"), {}, "ids are 1-64"),
    (("--group", "g 1"), {}, "ids are 1-64"),
    (("--room", "r.1"), {}, "ids are 1-64"),
], ids=["no-secret", "ttl-too-long", "bad-stream-id", "bad-group-id", "bad-room-id"])
def test_token_refusals_exit_2(args: tuple[str, ...], env: dict[str, str | None], fragment: str) -> None:
    run = hlsgate("token", *args, env=serve_env(**env))
    assert run.code == 2
    assert run.stdout == ""
    line = one_error_line(run.stderr, "token")
    assert fragment in line


# -- hlsgate admin-token -------------------------------------------------------------------------------------


def test_admin_token_defaults_to_five_minutes() -> None:
    run = hlsgate("admin-token")
    assert run.code == 0, run.stderr
    token = run.stdout.strip()
    claims = claims_of(token, ADMIN_SECRET)
    assert (claims["type"], claims["exp"] - claims["iat"]) == ("admin", ADMIN_TTL)
    assert "jti" in claims and "streamId" not in claims and "group" not in claims
    with pytest.raises(jwt.InvalidSignatureError):
        claims_of(token, SECRET)  # signed with the admin secret only


@pytest.mark.parametrize(("args", "env", "fragment"), [
    (("--ttl", str(ADMIN_TTL + 1)), {}, f"1..{ADMIN_TTL}"),
    ((), {"HLSGATE_ADMIN_SECRET": None}, "HLSGATE_ADMIN_SECRET"),
], ids=["ttl-too-long", "no-secret"])
def test_admin_token_refusals_exit_2(args: tuple[str, ...], env: dict[str, str | None], fragment: str) -> None:
    run = hlsgate("admin-token", *args, env=serve_env(**env))
    assert run.code == 2
    assert run.stdout == ""
    assert fragment in one_error_line(run.stderr, "admin-token")
