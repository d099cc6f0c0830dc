"""The origin tests' one HTTP helper module: requests to an in-process origin, the answers, and one expectation
helper per kind of answer. Every test module of the origin uses these instead of a private helper of its own.

- :func:`fetch` makes one request (``token=`` in the query, a list gives several; ``auth=`` the Authorization
  header; any other header or aiohttp argument) and returns a :class:`Reply`;
- :func:`bearer` is the ``Authorization`` header of a token (an admin token by default);
- :func:`expect_error` checks an error answer exactly (status, code, challenge, no-store, nothing echoed);
  :func:`expect_media` a media answer; :func:`assert_not_echoed` that no part of a token came back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

from .conftest import Origin, make_admin_token

CHALLENGE = re.compile(r'Bearer realm="hlsgate", error="invalid_token", error_description="(?P<d>[^"\\]+)"')
ECHO_WINDOW = 16  # no run of this many token characters may come back to the client


def bearer(token: str | None = None) -> dict[str, str]:
    """``Authorization: Bearer <token>``, an admin token unless one is given."""
    return {"Authorization": f"Bearer {token or make_admin_token()}"}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


async def fetch(origin: Origin, path: str, *, token: str | list[str] | None = None, auth: str | None = None,
                method: str = "GET", headers: Mapping[str, str] | None = None, **kwargs: Any) -> Reply:
    """One request: ``token`` goes to ``?token=`` (a list gives several), ``auth`` is the Authorization header."""
    all_headers = dict(headers or {})
    if auth is not None:
        all_headers["Authorization"] = auth
    params = None if token is None else [("token", t) for t in ([token] if isinstance(token, str) else token)]
    async with origin.session.request(method, origin.url(path), params=params, headers=all_headers,
                                      **kwargs) as response:
        return Reply(response.status, response.headers, await response.read())


def send(origin: Origin, path: str, token: str, via: str) -> Any:
    """The token in the query (``via="query"``) or as ``Authorization: Bearer`` (``via="header"``)."""
    if via == "query":
        return fetch(origin, path, token=token)
    return fetch(origin, path, auth=f"Bearer {token}")


def assert_not_echoed(reply: Reply, *tokens: str) -> None:
    """No run of ECHO_WINDOW characters of any token is in the body or in any response header."""
    seen = reply.text + "\n" + "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
    for token in tokens:
        for start in range(max(1, len(token) - ECHO_WINDOW + 1)):
            piece = token[start:start + ECHO_WINDOW]
            assert piece not in seen, f"the answer echoes part of a token: {piece!r}"


def expect_error(reply: Reply, status: int, code: str, *tokens: str) -> dict[str, Any]:
    """The answer is exactly this error, with the challenge a 401 needs, and echoes none of ``tokens``."""
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["error"] == code, body
    description = body["error_description"]
    assert isinstance(description, str) and description
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


def expect_media(reply: Reply, content_type: str) -> None:
    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"].startswith(content_type)
    assert reply.body
