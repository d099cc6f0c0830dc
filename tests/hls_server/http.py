"""The origin tests' one HTTP helper module: requests to an in-process origin, the answers, and one expectation
helper per kind of answer. Every test module of the origin uses these instead of a private helper of its own.

Requests:

- :func:`fetch` makes one request (``token=`` in the query, a list gives several; ``auth=`` the Authorization
  header; any other header or aiohttp argument; redirects are not followed) and returns a :class:`Reply`;
- :func:`send` is :func:`fetch` with the token in the query (``via="query"``) or in the header (``via="header"``);
- :func:`api` is a request to the REST API, with a fresh admin bearer token unless told otherwise;
  :func:`put_group` stores a group through it (a test's set-up);
- :func:`raw_exchange` sends bytes exactly as given over a socket (HTTP clients normalise ``..``), built with
  :func:`raw_request`, and returns a :class:`RawReply`;
- :func:`bearer` is the ``Authorization`` header of a token (an admin token by default).

Expectations, one per kind of answer:

- :func:`expect_error` an error answer exactly (status, code, what it says, challenge, no-store, nothing echoed);
- :func:`expect_json` a JSON answer (status, content type), giving its body;
- :func:`expect_media` a media answer;
- :func:`assert_not_echoed` that no part of a token came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy
from yarl import URL

from .conftest import Origin, make_admin_token

CHALLENGE = re.compile(r'Bearer realm="hlsgate", error="invalid_token", error_description="(?P<d>[^"\\]+)"')
ECHO_WINDOW = 16  # no run of this many token characters may come back to the client
ERROR_FIELDS = {"error", "error_description"}
RAW_SECONDS = 10.0
RAW_LIMIT = 4 << 20


def bearer(token: str | None = None) -> dict[str, str]:
    """``Authorization: Bearer <token>``, an admin token unless one is given."""
    return {"Authorization": f"Bearer {token or make_admin_token()}"}


# -- requests ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: URL  # what was asked for, query included: a playlist's relative URIs resolve against it

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict), value
        return value


async def fetch(origin: Origin, target: str | URL, *, token: str | list[str] | None = None, auth: str | None = None,
                method: str = "GET", headers: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None, **kwargs: Any) -> Reply:
    """One request. ``target`` is a path on the origin, or a full URL (one resolved from a playlist); ``token``
    goes to ``?token=`` (a list gives several) after any other ``params``, ``auth`` is the Authorization header.
    Redirects are answers, not followed."""
    url = target if isinstance(target, URL) else URL(origin.url(target))
    all_headers = dict(headers or {})
    if auth is not None:
        all_headers["Authorization"] = auth
    query = list((params or {}).items())
    if token is not None:
        query += [("token", t) for t in ([token] if isinstance(token, str) else token)]
    kwargs.setdefault("allow_redirects", False)
    async with origin.session.request(method, url, params=query or None, headers=all_headers,
                                      **kwargs) as response:
        return Reply(response.status, response.headers, await response.read(), response.url)


async def send(origin: Origin, path: str, token: str, via: str) -> Reply:
    """The token in the query (``via="query"``) or as ``Authorization: Bearer`` (``via="header"``)."""
    if via == "query":
        return await fetch(origin, path, token=token)
    assert via == "header", via
    return await fetch(origin, path, auth=f"Bearer {token}")


async def api(origin: Origin, method: str, path: str, *, headers: Mapping[str, str] | None = None,
              **kwargs: Any) -> Reply:
    """A REST API request with a fresh admin bearer token; given ``headers`` are sent instead (``headers={}``: no
    credentials at all). A JSON body is aiohttp's ``json=``; the rest is as :func:`fetch`."""
    return await fetch(origin, path, method=method, headers=bearer() if headers is None else headers, **kwargs)


async def put_group(origin: Origin, group: str, streams: list[str]) -> None:
    """Store a group as an admin does (``PUT /api/v1/groups/{group}``)."""
    expect_json(await api(origin, "PUT", f"/api/v1/groups/{group}", json={"streams": streams}))


async def put_room(origin: Origin, room: str, streams: list[str]) -> None:
    """Store a room as an admin does (``PUT /api/v1/groups/{room}`` with ``"room": true``)."""
    expect_json(await api(origin, "PUT", f"/api/v1/groups/{room}", json={"streams": streams, "room": True}))


@dataclass(frozen=True)
class RawReply:
    status: int
    head: bytes
    body: bytes


def raw_request(target: str, *headers: str | Mapping[str, str], method: str = "GET") -> bytes:
    """A request's bytes: the target exactly as given; each header a raw line (malformed ones too) or a mapping."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for header in headers:
        lines += [header] if isinstance(header, str) else [f"{k}: {v}" for k, v in header.items()]
    return "\r\n".join([*lines, "Connection: close", "", ""]).encode("utf-8")


async def raw_exchange(port: int, request: bytes, *, limit: int = RAW_LIMIT) -> RawReply:
    """Send bytes exactly as given; read the answer until the server closes (or ``limit`` bytes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b""
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(RAW_SECONDS):
            while len(data) < limit:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    assert match is not None, data[:200]
    return RawReply(int(match[1]), head, body)


# -- expectations -----------------------------------------------------------------------------------------------


def assert_not_echoed(reply: Reply, *tokens: str) -> None:
    """No run of ECHO_WINDOW characters of any token is in the body or in any response header."""
    seen = reply.text + "\n" + "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
    for token in tokens:
        for start in range(max(1, len(token) - ECHO_WINDOW + 1)):
            piece = token[start:start + ECHO_WINDOW]
            assert piece not in seen, f"the answer echoes part of a token: {piece!r}"


def expect_error(reply: Reply, status: int, code: str, *tokens: str, says: tuple[str, ...] = ()) -> dict[str, Any]:
    """The answer is exactly this error: ``{"error", "error_description"}`` and nothing else, a description holding
    each of ``says``, the challenge a 401 needs (and only a 401), ``no-store``, and none of ``tokens`` echoed."""
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert set(body) == ERROR_FIELDS, body
    assert body["error"] == code, body
    description = body["error_description"]
    assert isinstance(description, str) and description
    for fragment in says:
        assert fragment in description, (fragment, description)
    challenge = reply.headers.get("WWW-Authenticate")
    if status == 401:
        assert challenge is not None
        match = CHALLENGE.fullmatch(challenge)
        assert match is not None, challenge
        assert match["d"] == description.replace('"', "'")
    else:
        assert challenge is None, "only a 401 carries a Bearer challenge"
    assert reply.headers["Cache-Control"] == "no-store"
    assert_not_echoed(reply, *tokens)
    return body


def expect_json(reply: Reply, status: int = 200) -> dict[str, Any]:
    """A JSON object answer with this status: its body."""
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers["Content-Type"]
    return reply.json()


def expect_media(reply: Reply, content_type: str) -> None:
    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"].startswith(content_type)
    assert reply.body
