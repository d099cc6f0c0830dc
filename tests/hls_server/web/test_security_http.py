"""SECURITY.md, HTTP and files: traversal, symlinks, names, ranges, limits, headers, logs and faults.

Traversal goes over a raw socket (HTTP clients normalise ``..`` before sending), with a valid token, against a
media root that has a sentinel file planted right next to it. The access log is checked on the real
``hlsgate serve`` in a subprocess, since the test server does not use serve.py's logger. The autouse
:func:`never_500` guard (tests/hls_server/conftest.py) fails any test in which the origin answered 5xx or
logged an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from yarl import URL

from hls_server.core.media import FileVersion
from hls_server.web.context import SERVICES

from ..conftest import (
    FMP4_STREAM,
    OTHER_STREAM,
    STREAM,
    Origin,
    StartOrigin,
    make_token,
)
from ..http import (
    Reply,
    api,
    assert_not_echoed,
    bearer,
    expect_error,
    expect_json,
    expect_media,
    fetch,
    raw_exchange,
    raw_request,
    send,
)
from ..serving import http, logged_statuses, serving
from .test_security_tokens import MASTER, SEGMENT

SENTINEL = b"SENTINEL: bytes from outside the media root\n"
BIG_SEGMENT = "seg_00050.ts"
BIG_SEGMENT_BYTES = 20 << 20


# -- traversal -------------------------------------------------------------------------------------------------------

# Targets over a raw socket with a valid token for s1. ``outside.*`` is planted right next to the media root, so a
# naive join of the URL onto the root would find it; /etc/passwd is further out.
TRAVERSALS = [
    "/hls/s1/../../../etc/passwd",
    "/hls/s1/360p/../../../../../../../../etc/passwd",
    "/hls/s1/360p/../../../outside.ts",
    "/hls/s1/../../outside.m3u8",
    "/hls/s1/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/hls/s1/360p/%2e%2e/%2e%2e/%2e%2e/outside.ts",
    "/hls/s1/360p/%2E%2E/%2E%2E/%2E%2E/outside.ts",
    "/hls/s1/360p/%2e%2e%2f%2e%2e%2f%2e%2e%2foutside.ts",
    "/hls/s1/360p/%252e%252e%252f%252e%252e%252f%252e%252e%252foutside.ts",
    "/hls/s1/%252e%252e/%252e%252e/%252e%252e/etc/passwd",
    "/hls/s1/360p/..%2f..%2f..%2foutside.ts",
    "/hls/s1/360p/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/hls/s1/%2e%2e%2f%2e%2e%2foutside.m3u8",
    "/hls/s1/360p/%2Fetc%2Fpasswd",
    "/hls/s1/360p/%2F..%2F..%2F..%2Foutside.ts",
    "/hls/s1/360p/..\\..\\..\\outside.ts",
    "/hls/s1/360p/..%5c..%5c..%5coutside.ts",
    "/hls/s1/360p/%2e%2e%5c%2e%2e%5c%2e%2e%5coutside.ts",
    "/hls/s1/360p//etc/passwd",
    "/hls//etc/passwd",
    "/hls/s1/360p/%00/../../../outside.ts",
    "/hls/s1/360p/seg_00000.ts%00.m3u8",
    "/hls/s1/360p/..%00/..%00/..%00/outside.ts",
    "/hls/s1/360p/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/outside.ts",
    "/hls/s1/360p/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afoutside.ts",
    "/hls/s1/360p/%e0%80%ae%e0%80%ae/%e0%80%ae%e0%80%ae/outside.ts",
    "/hls/s1/360p/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/outside.ts",
    "/hls/s1/360p/%u002e%u002e/%u002e%u002e/outside.ts",
    "/hls/s1/360p/..;/..;/..;/outside.ts",
    "/hls/s1/360p/seg_00000.ts;/../../../outside.ts",
    "/hls/s1;x=1/../../outside.m3u8",
    "//hls//s1//..//..//..//outside.ts",
    "/hls/s1/360p/....//....//....//outside.ts",
    "/hls/s1/360p/.../.../outside.ts",
    "/hls/s1/360p/./././../../../outside.ts",
    "/etc/passwd",
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "http://127.0.0.1/../etc/passwd",
    "http://127.0.0.1/hls/s1/../../../etc/passwd",
    "http://127.0.0.1:{port}/hls/s1/360p/%2e%2e/%2e%2e/%2e%2e/outside.ts",
    "http://127.0.0.1/hls/s1/360p/..%2f..%2f..%2foutside.ts",
    "file:///etc/passwd",
    "\\hls\\s1\\..\\..\\..\\outside.ts",
]


@pytest.fixture
def sentinels(media_root: Path) -> Path:
    """Plant files next to the media root that a traversal would reach; return the root's parent."""
    for name in ("outside.ts", "outside.m3u8", "passwd"):
        (media_root.parent / name).write_bytes(SENTINEL)
    return media_root.parent


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_traversal_over_a_raw_socket(origin: Origin, sentinels: Path, target: str) -> None:
    token = make_token()
    reply = await raw_exchange(origin.port, raw_request(target.format(port=origin.port), bearer(token)))
    assert reply.status in (400, 404), reply.head
    assert b"root:" not in reply.body
    assert SENTINEL not in reply.body
    assert token.encode() not in reply.head + reply.body


async def test_traversal_with_the_token_in_the_query(origin: Origin, sentinels: Path) -> None:
    token = make_token()
    for target in ("/hls/s1/360p/../../../outside.ts", "/hls/s1/360p/%2e%2e%2f%2e%2e%2f%2e%2e%2foutside.ts",
                   "/hls/s1/%2e%2e/%2e%2e/outside.m3u8"):
        reply = await raw_exchange(origin.port, raw_request(f"{target}?token={token}"))
        assert reply.status == 404, reply.head
        assert SENTINEL not in reply.body and token.encode() not in reply.head + reply.body


async def test_raw_socket_control_a_plain_request_is_served(origin: Origin) -> None:
    """The raw-socket helper works: the same request shape on a real segment gives its bytes."""
    reply = await raw_exchange(origin.port, raw_request(SEGMENT, bearer(make_token())))
    assert reply.status == 200
    assert reply.body == (origin.settings.media_root / "s1/360p/seg_00000.ts").read_bytes()


# -- symlinks ------------------------------------------------------------------------------------------------------


@pytest.fixture
def planted_links(media_root: Path, sentinels: Path) -> Path:
    """Symlinks leading out of the media root, and some that stay inside it."""
    outside_stream = sentinels / "outside-stream"
    shutil.copytree(media_root / STREAM, outside_stream)
    rendition = media_root / STREAM / "360p"
    (rendition / "seg_00099.ts").symlink_to("/etc/passwd")
    (rendition / "seg_00098.ts").symlink_to("../../../outside.ts")
    (rendition / "seg_00097.ts").symlink_to(sentinels / "outside.ts")
    (rendition / "leak.m3u8").symlink_to(outside_stream / "360p" / "index.m3u8")
    (media_root / STREAM / "escape").symlink_to(outside_stream / "360p")
    (media_root / "evil").symlink_to("/etc")
    (media_root / "evil2").symlink_to(outside_stream)
    (media_root / "evil3").mkdir()
    (media_root / "evil3" / "master.m3u8").symlink_to(outside_stream / "master.m3u8")
    (media_root / "evil3" / "360p").symlink_to(outside_stream / "360p")
    # inside the root: fine
    (rendition / "seg_00010.ts").symlink_to(f"../../{OTHER_STREAM}/360p/seg_00000.ts")
    (media_root / "alias").symlink_to(STREAM)
    return media_root


@pytest.mark.parametrize(("stream", "path"), [
    (STREAM, "/hls/s1/360p/seg_00099.ts"),
    (STREAM, "/hls/s1/360p/seg_00098.ts"),
    (STREAM, "/hls/s1/360p/seg_00097.ts"),
    (STREAM, "/hls/s1/360p/leak.m3u8"),
    (STREAM, "/hls/s1/escape/index.m3u8"),
    (STREAM, "/hls/s1/escape/seg_00000.ts"),
    ("evil", "/hls/evil/master.m3u8"),
    ("evil", "/hls/evil/ssl/openssl.m3u8"),
    ("evil2", "/hls/evil2/master.m3u8"),
    ("evil2", "/hls/evil2/360p/index.m3u8"),
    ("evil2", "/hls/evil2/360p/seg_00000.ts"),
    ("evil3", "/hls/evil3/master.m3u8"),
    ("evil3", "/hls/evil3/360p/seg_00000.ts"),
])
async def test_symlink_out_of_the_media_root_is_404(origin: Origin, planted_links: Path, stream: str,
                                                    path: str) -> None:
    """The target exists and the token is good for the stream: only the sandbox stands between them."""
    token = make_token(streamId=stream)
    reply = await send(origin, path, token, "query")
    expect_error(reply, 404, "not_found", token)
    assert SENTINEL not in reply.body and b"root:" not in reply.body


async def test_symlink_inside_the_media_root_is_served(origin: Origin, planted_links: Path) -> None:
    reply = await send(origin, "/hls/s1/360p/seg_00010.ts", make_token(), "query")
    expect_media(reply, "video/mp2t")
    assert reply.body == (planted_links / OTHER_STREAM / "360p" / "seg_00000.ts").read_bytes()
    alias = make_token(streamId="alias")
    expect_media(await send(origin, "/hls/alias/master.m3u8", alias, "query"), "application/vnd.apple.mpegurl")
    expect_media(await send(origin, "/hls/alias/360p/seg_00001.ts", alias, "header"), "video/mp2t")


# -- directories, dotfiles, other extensions -------------------------------------------------------------------------


@pytest.fixture
def planted_files(media_root: Path) -> Path:
    """Files the server must never serve, planted where a valid s1 token would reach them."""
    rendition = media_root / STREAM / "360p"
    payload = b"#EXTM3U\nnot media\n"
    for name in ("audio.mp3", "data.json", "index.m3u8.bak", "enc.key", "seg_00000.ts.bak", "seg_00000.TS",
                 "index.M3U8", "index.m3u", "notes.txt", "seg_00000.ts~", "seg_00000.aac", "subs.vtt",
                 ".hidden.ts", ".index.m3u8", "seg_00000"):
        (rendition / name).write_bytes(payload)
    (media_root / STREAM / ".hidden").mkdir()
    (media_root / STREAM / ".hidden" / "seg_00000.ts").write_bytes(payload)
    (media_root / STREAM / ".hidden" / "index.m3u8").write_bytes(payload)
    (media_root / ".hlsgate").mkdir(exist_ok=True)
    (media_root / ".hlsgate" / "groups.json").write_text('{"version": 1, "groups": {}}')
    (rendition / "dir.ts").mkdir()
    (media_root / STREAM / "dir.m3u8").mkdir()
    os.mkfifo(rendition / "fifo.ts")  # opening it would block forever: it must not even be opened
    return media_root


@pytest.mark.parametrize("path", [
    "/hls/s1/360p/", "/hls/s1/", "/hls/s1", "/hls/", "/hls", "/hls/s1/360p", "/hls/s1/360p/dir.ts",
    "/hls/s1/dir.m3u8", "/hls/s1/360p/fifo.ts",
    "/hls/.hlsgate/groups.json", "/hls/s1/.hlsgate/groups.json", "/hls/s1/360p/.hidden.ts",
    "/hls/s1/360p/.index.m3u8", "/hls/s1/.hidden/seg_00000.ts", "/hls/s1/.hidden/index.m3u8",
    "/hls/s1/360p/audio.mp3", "/hls/s1/360p/data.json", "/hls/s1/360p/index.m3u8.bak", "/hls/s1/360p/enc.key",
    "/hls/s1/360p/seg_00000.ts.bak", "/hls/s1/360p/seg_00000.TS", "/hls/s1/360p/index.M3U8",
    "/hls/s1/360p/index.m3u", "/hls/s1/360p/notes.txt", "/hls/s1/360p/seg_00000.ts~",
    "/hls/s1/360p/seg_00000.aac", "/hls/s1/360p/subs.vtt", "/hls/s1/360p/seg_00000",
])
async def test_directories_dotfiles_and_other_extensions_are_404(origin: Origin, planted_files: Path,
                                                                 path: str) -> None:
    token = make_token()
    for via in ("query", "header"):
        reply = await send(origin, path, token, via)
        expect_error(reply, 404, "not_found", token)
        assert b"not media" not in reply.body


async def test_media_extensions_are_served(origin: Origin) -> None:
    """The control: the names the server does serve (.m3u8, .ts, fMP4 .mp4 and .m4s)."""
    token = make_token(streamId=FMP4_STREAM)
    expect_media(await send(origin, "/hls/f1/240p/init.mp4", token, "query"), "video/mp4")
    expect_media(await send(origin, "/hls/f1/240p/seg_00000.m4s", token, "query"), "video/iso.segment")
    expect_media(await send(origin, "/hls/f1/240p/index.m3u8", token, "query"), "application/vnd.apple.mpegurl")


# -- auth before the filesystem; stream id validation ------------------------------------------------------------------


def comparable(reply: Reply) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    return reply.status, reply.body, tuple(sorted((k, v) for k, v in reply.headers.items() if k != "Date"))


@pytest.mark.parametrize(("credential", "status", "code"), [
    pytest.param(None, 401, "token_missing", id="no-token"),
    pytest.param("garbage-token-value", 401, "token_invalid", id="garbage-token"),
    pytest.param("expired", 401, "token_expired", id="expired-token"),
    pytest.param("other-stream", 403, "forbidden", id="token-for-another-stream"),
])
async def test_missing_and_forbidden_streams_look_the_same(origin: Origin, credential: str | None, status: int,
                                                           code: str) -> None:
    """Without a token for the stream, an existing and a missing stream, rendition or file answer identically."""
    tokens = {"expired": make_token(exp=int(time.time()) - 3600), "other-stream": make_token(streamId="s9")}
    token = tokens.get(credential or "", credential)
    groups = [
        ["/hls/s1/master.m3u8", "/hls/nosuch/master.m3u8", "/hls/s1/nosuch.m3u8"],
        ["/hls/s1/360p/index.m3u8", "/hls/nosuch/360p/index.m3u8", "/hls/s1/999p/index.m3u8"],
        ["/hls/s1/360p/seg_00000.ts", "/hls/nosuch/360p/seg_00000.ts", "/hls/s1/999p/seg_00000.ts",
         "/hls/s1/360p/seg_99999.ts"],
    ]
    for paths in groups:
        replies = [await fetch(origin, p, token=token) for p in paths]
        expect_error(replies[0], status, code, *([token] if token else []))
        assert {comparable(r) for r in replies} == {comparable(replies[0])}, paths
        heads = [await fetch(origin, p, token=token, method="HEAD") for p in paths]
        assert {r.status for r in heads} == {status}


@pytest.fixture
def odd_names(media_root: Path) -> Path:
    """Copies of s1 under names outside the stream id pattern (and one at the 64-character limit)."""
    for name in ("a" * 65, "a" * 64, "s\u00e9", "s1.old", "s 1", "s1%2f", "-", "_"):
        shutil.copytree(media_root / STREAM, media_root / name)
    shutil.copytree(media_root / STREAM / "360p", media_root / STREAM / "360p.old")
    return media_root


@pytest.mark.parametrize("name", ["a" * 65, "s\u00e9", "s1.old", "s 1", "s1%2f"])
async def test_stream_ids_are_validated_at_routing(start_origin: StartOrigin, odd_names: Path, name: str) -> None:
    """Even with auth off and the directory on disk, an id outside [A-Za-z0-9_-]{1,64} is never routed."""
    public = await start_origin(**{"auth.play": False})
    for path in (f"/hls/{quote(name)}/master.m3u8", f"/hls/{quote(name)}/360p/seg_00000.ts"):
        reply = await fetch(public, path)
        expect_error(reply, 404, "not_found")
    expect_error(await fetch(public, "/hls/s1/360p.old/seg_00000.ts"), 404, "not_found")


async def test_stream_id_pattern_control(start_origin: StartOrigin, odd_names: Path) -> None:
    public = await start_origin(**{"auth.play": False})
    for name in ("a" * 64, "-", "_", STREAM):
        expect_media(await fetch(public, f"/hls/{name}/360p/seg_00000.ts"), "video/mp2t")


async def test_65_character_stream_id_with_a_token_is_404(origin: Origin) -> None:
    token = make_token()
    expect_error(await send(origin, f"/hls/{'a' * 65}/master.m3u8", token, "query"), 404, "not_found", token)
    reply = await raw_exchange(origin.port, raw_request("/hls/s\u00e9/master.m3u8", bearer(token)))
    assert reply.status in (400, 404)


async def test_tokenised_playlist_adds_no_tag(origin: Origin, media_root: Path) -> None:
    """The rewritten playlist has exactly the file's tag lines; the token only ever lands in URI lines."""
    token = make_token()
    for path, source in ((MASTER, "s1/master.m3u8"), ("/hls/s1/360p/index.m3u8", "s1/360p/index.m3u8")):
        reply = await send(origin, path, token, "query")
        expect_media(reply, "application/vnd.apple.mpegurl")
        original = (media_root / source).read_text().splitlines()
        served = reply.text.splitlines()
        assert [line for line in served if line.startswith("#")] == [line for line in original if line.startswith("#")]
        uris = [line for line in served if line and not line.startswith("#")]
        assert uris and all(line.endswith(f"?token={token}") for line in uris)


# -- Range -----------------------------------------------------------------------------------------------------------


async def test_range_single_and_suffix(origin: Origin, media_root: Path) -> None:
    data = (media_root / "s1/360p/seg_00000.ts").read_bytes()
    token = make_token()
    for spec, start, end in (("bytes=0-99", 0, 99), ("bytes=100-299", 100, 299), (f"bytes=-{50}", len(data) - 50,
                                                                                   len(data) - 1),
                             (f"bytes={len(data) - 10}-", len(data) - 10, len(data) - 1)):
        reply = await fetch(origin, SEGMENT, token=token, headers={"Range": spec})
        assert reply.status == 206, (spec, reply.text)
        assert reply.body == data[start:end + 1]
        assert reply.headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        assert "private" in reply.headers["Cache-Control"]


@pytest.mark.parametrize("spec", [
    pytest.param("bytes={size}-", id="starts-at-the-end"),
    pytest.param("bytes={size}-{beyond}", id="entirely-beyond"),
    pytest.param("bytes=999999999999999999999-", id="huge-start"),
])
async def test_range_unsatisfiable_is_416(origin: Origin, media_root: Path, spec: str) -> None:
    size = (media_root / "s1/360p/seg_00000.ts").stat().st_size
    token = make_token()
    reply = await fetch(origin, SEGMENT, token=token, headers={"Range": spec.format(size=size, beyond=size + 99)})
    assert reply.status == 416, reply.text
    assert len(reply.body) < 1024
    assert_not_echoed(reply, token)


ABUSIVE = (416,)


@pytest.mark.parametrize(("spec", "allowed"), [
    pytest.param(",".join(f"{2 * i}-{2 * i + 1}" for i in range(500)), ABUSIVE, id="500-small-ranges"),
    pytest.param(",".join("0-" for _ in range(500)), ABUSIVE, id="500-whole-file-ranges"),
    pytest.param(",".join(f"-{i + 1}" for i in range(300)), ABUSIVE, id="300-suffix-ranges"),
    pytest.param("0-1,2-3", ABUSIVE, id="two-ranges"),
    pytest.param("0-99,50-149", ABUSIVE, id="overlapping"),
    pytest.param("1-0", ABUSIVE, id="reversed"),
    pytest.param("abc", ABUSIVE, id="not-a-range"),
    pytest.param("0x10-0x20", ABUSIVE, id="hex"),
    pytest.param("-", ABUSIVE, id="just-a-dash"),
    # RFC 9110 calls a zero suffix unsatisfiable; aiohttp sends the whole file as one range. Not amplified.
    pytest.param("-0", (206, 416), id="empty-suffix"),
])
async def test_abusive_ranges_are_refused_small(origin: Origin, media_root: Path, spec: str,
                                                allowed: tuple[int, ...]) -> None:
    """Many, overlapping or malformed ranges: 416, never a 500, never more bytes than the file."""
    size = (media_root / "s1/360p/seg_00000.ts").stat().st_size
    reply = await fetch(origin, SEGMENT, token=make_token(), headers={"Range": f"bytes={spec}"})
    assert reply.status in allowed, reply.status
    if reply.status == 416:
        assert reply.body == b""
        assert reply.headers["Content-Range"] == f"bytes */{size}"
    assert len(reply.body) <= size


async def test_range_needs_auth_first(origin: Origin) -> None:
    for token, status, code in ((None, 401, "token_missing"), ("garbage-token-value", 401, "token_invalid"),
                                (make_token(streamId=OTHER_STREAM), 403, "forbidden")):
        reply = await fetch(origin, SEGMENT, token=token, headers={"Range": "bytes=0-99"})
        expect_error(reply, status, code, *([token] if token else []))
        assert "Content-Range" not in reply.headers
        unsatisfiable = await fetch(origin, SEGMENT, token=token, headers={"Range": "bytes=999999999-"})
        expect_error(unsatisfiable, status, code, *([token] if token else []))


# -- sizes -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("request_bytes", "allowed"), [
    pytest.param(lambda t: raw_request(f"{SEGMENT}?token={t}&pad={'A' * 9000}"), (400, 414), id="url-9k"),
    pytest.param(lambda t: raw_request(f"{SEGMENT}?token={t}", f"X-Pad: {'A' * 9000}"), (400, 431), id="header-9k"),
    pytest.param(lambda t: raw_request(SEGMENT, f"Authorization: Bearer {t}{'A' * 9000}"), (400, 431),
                 id="authorization-9k"),
    pytest.param(lambda t: raw_request(f"{SEGMENT}?token={t}", f"X-{'N' * 9000}: 1"), (400, 431), id="header-name-9k"),
    pytest.param(lambda t: raw_request(f"/{'a/' * 5000}?token={t}"), (400, 414), id="deep-path-10k"),
])
async def test_oversized_request_head_is_4xx(origin: Origin, request_bytes: Any, allowed: tuple[int, ...]) -> None:
    token = make_token()
    reply = await raw_exchange(origin.port, request_bytes(token))
    assert reply.status in allowed, reply.head
    assert token.encode() not in reply.head + reply.body
    expect_media(await send(origin, SEGMENT, token, "query"), "video/mp2t")  # and the server still serves


def group_body(size: int) -> bytes:
    """A valid group document of about ``size`` bytes."""
    count = size // 11  # '"s0000000", ' is 12 bytes, the last one 10
    return json.dumps({"streams": [f"s{i:07d}" for i in range(count)]}).encode()


async def test_api_body_over_64_kib_is_413(origin: Origin) -> None:
    admin = {**bearer(), "Content-Type": "application/json"}
    expect_json(await api(origin, "PUT", "/api/v1/groups/big", data=group_body(60_000), headers=admin))
    big = group_body(70_000)
    expect_error(await api(origin, "PUT", "/api/v1/groups/big", data=big, headers=admin), 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start:start + 4096]

    expect_error(await api(origin, "PUT", "/api/v1/groups/big", data=chunks(), headers=admin), 413,
                 "payload_too_large")
    expect_error(await api(origin, "PUT", "/api/v1/groups/big", data=big, headers={}), 401, "token_missing")
    stored = expect_json(await api(origin, "GET", "/api/v1/groups/big"))
    assert len(stored["streams"]) == 60_000 // 11, "the refused bodies changed nothing"


# -- headers on tokenised answers ------------------------------------------------------------------------------------


async def test_tokenised_answers_are_private_and_send_no_referrer(origin: Origin) -> None:
    token = make_token()
    fmp4 = make_token(streamId=FMP4_STREAM)
    paths = [(MASTER, token), ("/hls/s1/360p/index.m3u8", token), (SEGMENT, token),
             ("/hls/f1/240p/init.mp4", fmp4), ("/hls/f1/240p/seg_00001.m4s", fmp4)]
    for path, credential in paths:
        for via in ("query", "header"):
            reply = await send(origin, path, credential, via)
            assert reply.status == 200, path
            assert reply.headers["Referrer-Policy"] == "no-referrer"
            cache = reply.headers["Cache-Control"]
            assert "private" in cache and "public" not in cache, cache
            carrier: dict[str, Any] = {"token": credential} if via == "query" else {"auth": f"Bearer {credential}"}
            revalidated = await fetch(origin, path, headers={"If-None-Match": reply.headers["ETag"]}, **carrier)
            assert revalidated.status == 304, path
            assert "public" not in revalidated.headers["Cache-Control"]
            assert revalidated.headers["Referrer-Policy"] == "no-referrer"
    ranged = await fetch(origin, SEGMENT, token=token, headers={"Range": "bytes=0-9"})
    assert ranged.status == 206 and "public" not in ranged.headers["Cache-Control"]


async def test_error_answers_are_not_cacheable(origin: Origin) -> None:
    for path, token in ((SEGMENT, None), (SEGMENT, make_token(streamId=OTHER_STREAM)),
                        ("/hls/s1/360p/seg_99999.ts", make_token())):
        reply = await fetch(origin, path, token=token)
        assert reply.status in (401, 403, 404)
        assert reply.headers["Cache-Control"] == "no-store"


# -- faults ----------------------------------------------------------------------------------------------------------


async def test_segment_removed_after_the_playlist_is_404(origin: Origin, media_root: Path) -> None:
    token = make_token()
    playlist = await send(origin, "/hls/s1/360p/index.m3u8", token, "query")
    expect_media(playlist, "application/vnd.apple.mpegurl")
    assert "seg_00001.ts" in playlist.text
    await asyncio.to_thread((media_root / "s1/360p/seg_00001.ts").unlink)
    expect_error(await send(origin, "/hls/s1/360p/seg_00001.ts", token, "query"), 404, "not_found", token)
    await asyncio.to_thread(shutil.rmtree, media_root / "s1/240p")
    expect_error(await send(origin, "/hls/s1/240p/seg_00000.ts", token, "query"), 404, "not_found", token)


async def test_segment_removed_between_locate_and_send_is_404(origin: Origin, monkeypatch: pytest.MonkeyPatch,
                                                              media_root: Path) -> None:
    """The race the handler cannot see: the file goes away after it was found. Still a 404, not a 500."""
    media = origin.server.app[SERVICES].media
    locate = media.locate_async

    async def locate_then_delete(stream: str, rendition: str | None, name: str) -> FileVersion:
        found = await locate(stream, rendition, name)
        await asyncio.to_thread(found.path.unlink)
        return found

    monkeypatch.setattr(media, "locate_async", locate_then_delete)
    reply = await send(origin, "/hls/s1/360p/seg_00002.ts", make_token(), "query")
    assert reply.status == 404, reply.text
    assert reply.headers.get("Cache-Control") == "no-store"  # never the segment's year-long immutable caching
    assert reply.headers.get("Content-Type") != "video/mp2t"


async def test_playlist_removed_is_404(start_origin: StartOrigin, media_root: Path) -> None:
    fresh = await start_origin(playlist_revalidate=0)
    token = make_token()
    expect_media(await send(fresh, "/hls/s1/240p/index.m3u8", token, "query"), "application/vnd.apple.mpegurl")
    await asyncio.to_thread((media_root / "s1/240p/index.m3u8").unlink)
    expect_error(await send(fresh, "/hls/s1/240p/index.m3u8", token, "query"), 404, "not_found", token)


@pytest.fixture
def big_segment(media_root: Path) -> Path:
    path = media_root / STREAM / "360p" / BIG_SEGMENT
    path.write_bytes(os.urandom(BIG_SEGMENT_BYTES))
    return path


async def abandon_download(port: int, target: str, token: str, *, abort: bool, served: Path | None = None) -> int:
    """Start a big download, read a few KiB, then go away (a FIN, or a RST with ``abort``).

    With ``served`` (an in-process server), first check the server does hold that file open mid-transfer.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw_request(target, bearer(token)))
    await writer.drain()
    received = b""
    async with asyncio.timeout(10):
        while len(received) < 64 * 1024:
            chunk = await reader.read(16384)
            assert chunk, "the server closed before sending the segment"
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    if served is not None:
        assert await asyncio.to_thread(handles_on, served) >= 1, "the leak check would see nothing"
    if abort:
        writer.transport.abort()
    else:
        writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return len(received)


def handles_on(path: Path) -> int:
    """How many file descriptors of this process (the in-process server's) are open on ``path``."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += fd.readlink() == path
    return count


async def test_client_disconnecting_mid_segment(origin: Origin, big_segment: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """No traceback, no file left open, and the next request is served."""
    caplog.set_level(logging.DEBUG)
    token = make_token()
    target = f"/hls/s1/360p/{BIG_SEGMENT}"
    for i in range(10):
        await abandon_download(origin.port, target, token, abort=i % 2 == 0, served=big_segment)
    expect_media(await send(origin, SEGMENT, token, "query"), "video/mp2t")
    full = await send(origin, target, token, "header")
    assert full.status == 200 and len(full.body) == BIG_SEGMENT_BYTES
    for _ in range(50):  # closing happens on the server's side of the loop: give it a moment
        if await asyncio.to_thread(handles_on, big_segment) == 0:
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(handles_on, big_segment) == 0, "the segment file was left open"
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == [], [r.getMessage() for r in noisy]


# -- the real server: access log redaction, disconnects ------------------------------------------------------------


def token_fragments(token: str) -> set[str]:
    return {token[i:i + 16] for i in range(max(1, len(token) - 15))}


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_real_server_logs_never_carry_a_token(media_root: Path, tmp_path: Path, big_segment: Path,
                                                    log_format: str) -> None:
    tokens: list[str] = []

    def jwt_token(**claims: Any) -> str:
        token = make_token(jti=os.urandom(8).hex(), **claims)
        tokens.append(token)
        return token

    def opaque() -> str:
        token = "opaque-" + os.urandom(16).hex()
        tokens.append(token)
        return token

    expected_statuses: list[int] = []
    with serving(tmp_path / "real", "--media-root", str(media_root), "--state-dir", str(tmp_path / "real-state"),
                 "--log-format", log_format) as served:
        port = URL(served.url).port
        assert port is not None

        def get(path: str, status: int, params: Any = (), headers: dict[str, str] | None = None) -> None:
            query = f"?{urlencode(params)}" if params else ""
            assert http(f"{served.url}{path}{query}", headers=headers)[0] == status, path
            expected_statuses.append(status)

        get(MASTER, 200, params={"token": jwt_token()})
        get(SEGMENT, 200, params={"token": jwt_token()})
        get(SEGMENT, 200, params={"a": "1", "token": jwt_token(), "b": "2"})
        get(SEGMENT, 401, params={"token": opaque()})
        get(SEGMENT, 401, params=[("token", jwt_token()), ("token", opaque())])
        get(SEGMENT, 401, params={"TOKEN": jwt_token()})
        get(SEGMENT, 401, params={"Token": opaque()})
        get(SEGMENT, 200, headers=bearer(jwt_token()))
        get(SEGMENT, 200, headers={"Authorization": jwt_token()})
        get(SEGMENT, 401, headers=bearer(opaque()))
        get(SEGMENT, 200, params={"token": jwt_token()},
            headers={"Referer": f"https://player.example/watch?token={opaque()}&t={jwt_token()}"})
        get(SEGMENT, 401, headers={"User-Agent": f"player/1.0 ({jwt_token()})"})
        get(f"/hls/s1/{jwt_token()}/seg_00000.ts", 404)
        get("/api/v1/groups", 200, headers=bearer())
        get("/api/v1/groups", 401, params={"token": opaque()})
        raw_requests = [
            raw_request(f"{SEGMENT}?%74oken={jwt_token()}"),
            raw_request(f"{SEGMENT}?t%6Fken={opaque()}"),
            raw_request(f"{SEGMENT}?%54%4F%4B%45%4E={opaque()}"),
            raw_request(f"{SEGMENT}?x=1&token={opaque()}#frag"),
            raw_request(f"{SEGMENT}?token={jwt_token()}", "Broken header line without a colon"),
            raw_request(f"{SEGMENT}?token={opaque()}", "Broken header line without a colon"),
            raw_request(f"{SEGMENT}?token={jwt_token()}", bearer(opaque()), f"X-Pad: {'A' * 9000}"),
            raw_request(f"{SEGMENT}?token={opaque()}&pad={'A' * 9000}"),
            raw_request(f"{SEGMENT}?token={jwt_token()}", "Content-Length: abc"),
            raw_request(f"{SEGMENT}?token={opaque()}", "Transfer-Encoding: chunked", "Content-Length: 5"),
            raw_request(f"{SEGMENT}?token={opaque()}").replace(b"HTTP/1.1", b"HTTP/1.9", 1),
            raw_request(f"{SEGMENT}?token={jwt_token()}").replace(b"GET", b"G\x01T", 1),
            raw_request(f"{SEGMENT}?token={opaque()}\x01"),
            raw_request(f"{SEGMENT}?token={opaque()} extra"),
            raw_request(f"/hls/s1/../../etc/passwd?token={opaque()}"),
            raw_request(f"/hls/s1/360p/%2e%2e%2f%2e%2e%2fpasswd?token={jwt_token()}"),
        ]
        for request in raw_requests:
            reply = await raw_exchange(port, request)
            assert 200 <= reply.status < 500, (request[:80], reply.head)
        token = jwt_token()
        for i in range(3):
            await abandon_download(port, f"/hls/s1/360p/{BIG_SEGMENT}", token, abort=i == 0)
        after = await raw_exchange(port, raw_request(SEGMENT, bearer(token)))
        assert after.status == 200
    stdout, stderr = served.stdout.read_text(encoding="utf-8"), served.messages()

    everything = stdout + stderr
    for token in tokens:
        leaked = [piece for piece in token_fragments(token) if piece in everything]
        assert leaked == [], f"a token leaked into the logs: {leaked[:3]}"
    assert "Traceback" not in stderr, stderr  # neither the disconnects nor the malformed requests
    assert stderr.count("\n") <= 2 + len(raw_requests), stderr  # at most one line per malformed request
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) >= len(expected_statuses), stdout  # the access log was written (this is not vacuous)
    assert "[redacted]" in stdout
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert all(set(r) >= {"method", "target", "status"} for r in records)
    statuses = logged_statuses(stdout)
    assert len(statuses) == len(lines), stdout  # every line is an access log line, read as such
    assert [s for s in statuses if s >= 500] == [], stdout
    assert statuses.count(200) >= expected_statuses.count(200)
