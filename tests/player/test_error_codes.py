"""The player's list of the origin's error codes is exactly the origin's: every ``code`` of the RequestError tree
and every code ``web.middleware`` gives aiohttp's own refusals. Runs ``node`` on ``player/src/errors.js``; no browser."""

from __future__ import annotations

import json
import shutil
import subprocess

from hls_server.core import errors
from hls_server.web.middleware import HTTP_ERROR_CODES as AIOHTTP_ERROR_CODES
from tests.conftest import REPO

# The codes middleware gives the errors aiohttp raises itself (unrouted paths, methods, bodies; others bad_request).
HTTP_ERROR_CODES = {*AIOHTTP_ERROR_CODES.values(), "bad_request"}
PRINT_SERVER_CODES = ("import {SERVER_CODES} from './player/src/errors.js';"
                      " process.stdout.write(JSON.stringify(SERVER_CODES));")


def request_error_codes() -> set[str]:
    codes: set[str] = set()
    pending: list[type[errors.RequestError]] = [errors.RequestError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def player_server_codes() -> list[str]:
    node = shutil.which("node")
    assert node, "the player's tests need Node.js (apt-get install nodejs)"
    done = subprocess.run([node, "--input-type=module", "-e", PRINT_SERVER_CODES], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    codes: list[str] = json.loads(done.stdout)
    return codes


def test_the_player_knows_exactly_the_servers_error_codes() -> None:
    player = player_server_codes()
    assert len(player) == len(set(player)), player
    server = request_error_codes() | HTTP_ERROR_CODES
    assert set(player) == server, (sorted(server - set(player)), sorted(set(player) - server))


def test_the_walk_finds_the_whole_tree() -> None:
    assert {"token_missing", "token_expired", "forbidden", "not_configured"} <= request_error_codes()
