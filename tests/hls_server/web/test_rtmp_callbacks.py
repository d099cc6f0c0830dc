"""``POST /rtmp/on_publish`` and ``/rtmp/on_publish_done`` over real HTTP, with the bodies nginx-rtmp sends: who may
call them, which tokens publish, what reaches the live registry, and that no token is ever logged."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hls_server.core.errors import RequestError
from hls_server.core.grants import Grant, Role
from hls_server.web.app import create_app
from hls_server.web.routes import rtmp

from ..conftest import ADMIN_SECRET, OTHER_SECRET, Origin, make_admin_token, make_token, settings_for
from ..http import Reply, expect_error, fetch
from ..rtmp import nginx_form

PUBLISH = "/rtmp/on_publish"
DONE = "/rtmp/on_publish_done"


@dataclass
class FakeRegistry:
    """The live registry's two calls the callbacks make, recorded; ``refuse`` makes ``begin`` raise it."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    refuse: RequestError | None = None

    async def begin(self, stream: str, grant: Grant) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(("begin", stream, grant))

    async def end(self, stream: str) -> None:
        self.calls.append(("end", stream, None))


@pytest.fixture
def registry() -> FakeRegistry:
    """Stands in for the live registry (the callbacks' calls recorded); test_rtmp_nginx uses the real one."""
    return FakeRegistry()


Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path, registry: FakeRegistry) -> AsyncIterator[Start]:
    running: list[Origin] = []

    async def start(**flags: Any) -> Origin:
        root = tmp_path / "media"
        root.mkdir(exist_ok=True)
        settings = settings_for(root, tmp_path / "state", **flags)
        app = create_app(settings)
        app[rtmp.RTMP] = dataclasses.replace(app[rtmp.RTMP], live=registry)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        origin = Origin(server, aiohttp.ClientSession(), settings)
        running.append(origin)
        return origin

    yield start
    for origin in running:
        await origin.session.close()
        await origin.server.close()


async def post(origin: Origin, path: str, body: bytes) -> Reply:
    return await fetch(origin, path, method="POST", data=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def publish_token(stream: str = "s1", **claims: Any) -> str:
    return make_token(type="publish", streamId=stream, **claims)


async def test_a_publish_token_in_the_stream_key_publishes(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    token = publish_token(jti="j1")
    reply = await post(origin, PUBLISH, nginx_form(args=f"token={token}"))
    assert reply.status == 204, reply.text
    assert reply.body == b""
    [(what, stream, grant)] = registry.calls
    assert (what, stream, grant.role, grant.token_id) == ("begin", "s1", Role.PUBLISH, "j1")


async def test_a_publish_token_in_the_tcurl_publishes(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    token = publish_token()
    for form in (nginx_form(tcurl=f"rtmp://127.0.0.1:1935/live?token={token}"),
                 nginx_form(args=f"token={token}", tcurl=f"rtmp://127.0.0.1:1935/live?token={token}")):
        assert (await post(origin, PUBLISH, form)).status == 204
    assert [c[:2] for c in registry.calls] == [("begin", "s1")] * 2


@pytest.mark.parametrize(("args", "status", "code"), [
    ("", 401, "token_missing"),
    ("token=", 401, "token_missing"),
    ("token=not-a-jwt", 401, "token_invalid"),
    ("token=%ff%fe%00", 401, "token_invalid"),
    ("token=\udcff\udcfe", 401, "token_invalid"),  # raw non-UTF-8 bytes
    ("token={play}", 403, "forbidden"),
    ("token={other_stream}", 403, "forbidden"),
    ("token={expired}", 401, "token_expired"),
    ("token={forged}", 401, "token_invalid"),
    ("token={admin}", 401, "token_invalid"),
    ("token={publish}&token={other_stream}", 401, "token_conflict"),
    ("token={publish}&name=s2", 400, "bad_request"),
])
async def test_refusals(start: Start, registry: FakeRegistry, args: str, status: int, code: str) -> None:
    origin = await start()
    tokens = {"play": make_token(type="play", streamId="s1"), "other_stream": publish_token("s2"),
              "expired": publish_token(exp=int(time.time()) - 3600), "forged": make_token(OTHER_SECRET, type="publish"),
              "admin": make_admin_token(ADMIN_SECRET), "publish": publish_token()}
    reply = await post(origin, PUBLISH, nginx_form(args=args.format(**tokens)))
    expect_error(reply, status, code, *tokens.values())
    assert registry.calls == []


async def test_two_different_tokens_in_the_key_and_the_tcurl_conflict(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    one, two = publish_token(jti="a"), publish_token(jti="b")
    reply = await post(origin, PUBLISH, nginx_form(args=f"token={one}", tcurl=f"rtmp://h/live?token={two}"))
    expect_error(reply, 401, "token_conflict", one, two)
    assert registry.calls == []


@pytest.mark.parametrize("name", ["", "s1/x", "a" * 65, "..", "s%2F1"])
async def test_a_stream_name_that_is_no_id_is_refused(start: Start, name: str) -> None:
    origin = await start()
    expect_error(await post(origin, PUBLISH, nginx_form(name=name, args=f"token={publish_token()}")), 400,
                 "bad_request", says=("stream id",))


async def test_the_registrys_refusal_refuses_the_client(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    conflict = RequestError("another publisher is live on this stream")
    conflict.status, conflict.code = 409, "publisher_conflict"
    registry.refuse = conflict
    expect_error(await post(origin, PUBLISH, nginx_form(args=f"token={publish_token()}")), 409, "publisher_conflict")


async def test_only_the_session_that_went_live_ends_the_stream(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    token = publish_token()
    for clientid in ("13", "15"):  # 15: a second encoder on the same stream, which nginx then drops
        assert (await post(origin, PUBLISH, nginx_form(args=f"token={token}", clientid=clientid))).status == 204
    done = [nginx_form(call="publish_done", args=f"token={token}", clientid=c) for c in ("15", "13", "13")]
    for body in done:
        assert (await post(origin, DONE, body)).status == 204
    assert [c[:2] for c in registry.calls] == [("begin", "s1"), ("begin", "s1"), ("end", "s1")]


async def test_publish_done_needs_nginxs_form(start: Start, registry: FakeRegistry) -> None:
    origin = await start()
    expect_error(await post(origin, DONE, nginx_form(call="publish")), 400, "bad_request")
    expect_error(await post(origin, PUBLISH, nginx_form(call="publish_done")), 400, "bad_request")
    assert registry.calls == []


async def test_callers_outside_rtmp_callers_are_refused(start: Start, registry: FakeRegistry) -> None:
    origin = await start(**{"rtmp.callers": ["10.9.9.9", "192.0.2.0/24"]})  # not loopback
    token = publish_token()
    for path, call in ((PUBLISH, "publish"), (DONE, "publish_done")):
        reply = await post(origin, path, nginx_form(call=call, args=f"token={token}"))
        expect_error(reply, 403, "forbidden", token, says=("rtmp.callers",))
    reply = await fetch(origin, PUBLISH, method="POST", data=nginx_form(args=f"token={token}"),
                        headers={"X-Forwarded-For": "10.9.9.9", "X-Real-IP": "10.9.9.9"})
    expect_error(reply, 403, "forbidden")  # a header says nothing about who calls
    assert registry.calls == []


async def test_only_post(start: Start) -> None:
    origin = await start()
    expect_error(await fetch(origin, PUBLISH, token=publish_token()), 405, "method_not_allowed")


async def test_a_large_body_is_refused(start: Start) -> None:
    origin = await start()
    expect_error(await post(origin, PUBLISH, nginx_form(args="x=" + "a" * (65 * 1024))), 413, "payload_too_large")


@pytest.fixture
def every_record(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


async def test_no_token_is_logged(start: Start, every_record: pytest.LogCaptureFixture) -> None:
    origin = await start()
    token, play = publish_token(), make_token(type="play")
    await post(origin, PUBLISH, nginx_form(args=f"token={token}"))
    await post(origin, PUBLISH, nginx_form(args=f"token={play}"))
    await post(origin, DONE, nginx_form(call="publish_done", args=f"token={token}"))
    logged = "\n".join(record.getMessage() for record in every_record.records)
    assert "/rtmp/on_publish" in logged  # the access log saw the requests
    for secret in (token, play):
        assert secret[-20:] not in logged
