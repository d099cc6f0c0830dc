"""Ingest over HTTP (``PUT``/``DELETE /ingest/...``): every item of SECURITY.md's Ingest section, over real HTTP.

Only a publish token for the stream writes it (nothing is written otherwise); writes stay in the stream's folder
and never follow a planted symlink; bodies are chunked without a length and capped while they stream; only
media is accepted; writes are atomic, and a publisher that dies mid-upload leaves the last good files; one
publisher per stream; disk full is 507 and loses nothing (tests/hls_server/web/test_ingest_storage.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hls_server.core.ingest.live import LIVE_FILE

from ..conftest import STREAM, Origin, StartOrigin, make_token
from ..http import Reply, expect_error, fetch, raw_exchange, raw_request

LIVE = "live1"
JTI = "encoder-1"
PLAYLIST = ("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{seq}\n"
            "#EXTINF:1.000000,\nseg_{seq:05d}.ts\n")
ENDED_WITHIN = 10.0  # seconds: one target duration of 1 s, the reaper's tick, and a loaded machine
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nr0/index.m3u8\n"


def publish_token(stream: str = LIVE, jti: str | None = JTI, **claims: Any) -> str:
    if jti is not None:
        claims["jti"] = jti
    return make_token(type="publish", streamId=stream, **claims)


def playlist(seq: int = 0, target: int = 2) -> bytes:
    return PLAYLIST.format(seq=seq, target=target).encode()


@pytest.fixture(scope="module")
def ts_segment(published_root: Path) -> bytes:
    """A real MPEG-TS segment (from the transcoded test stream)."""
    return (published_root / STREAM / "360p" / "seg_00000.ts").read_bytes()


async def put(origin: Origin, path: str, body: bytes | AsyncIterator[bytes], token: str | None = None,
              **kwargs: Any) -> Reply:
    auth = None if token is None else f"Bearer {token}"
    return await fetch(origin, f"/ingest/{path}", method="PUT", auth=auth, data=body, **kwargs)


async def chunks(body: bytes, size: int = 1000, pause: float = 0.0) -> AsyncIterator[bytes]:
    """A body aiohttp sends chunked, without a Content-Length (as ffmpeg does)."""
    for start in range(0, len(body), size):
        if pause:
            await asyncio.sleep(pause)
        yield body[start:start + size]


def files(root: Path) -> list[str]:
    """Every file and folder under ``root`` (dotfiles too: no temporary file may be left behind)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def stream_files(origin: Origin, stream: str = LIVE) -> list[str]:
    folder = origin.settings.media_root / stream
    return files(folder) if folder.exists() else []


# -- a publisher writes, a viewer reads -----------------------------------------------------------------------


async def test_a_publish_token_writes_a_stream_that_a_play_token_reads(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    reply = await put(origin, f"{LIVE}/r0/seg_00000.ts", chunks(ts_segment), token)
    assert reply.status == 201, reply.text
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 201
    assert (await put(origin, f"{LIVE}/master.m3u8", MASTER.encode(), token)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 204  # replaced
    assert stream_files(origin) == ["master.m3u8", "r0", "r0/index.m3u8", "r0/seg_00000.ts"]
    viewer = make_token(streamId=LIVE)
    segment = await fetch(origin, f"/hls/{LIVE}/r0/seg_00000.ts", token=viewer)
    assert segment.status == 200 and segment.body == ts_segment
    media = await fetch(origin, f"/hls/{LIVE}/r0/index.m3u8", token=viewer)
    assert media.status == 200 and f"seg_00000.ts?token={viewer}" in media.text
    assert media.headers["Cache-Control"] == "private, max-age=1"  # live: short, a CDN may honour it


async def test_the_publish_token_may_come_in_the_query(origin: Origin, ts_segment: bytes) -> None:
    reply = await fetch(origin, f"/ingest/{LIVE}/seg_00000.ts", method="PUT", token=publish_token(), data=ts_segment)
    assert reply.status == 201, reply.text
    assert reply.headers["Referrer-Policy"] == "no-referrer"


async def test_a_single_rendition_at_the_stream_root_is_served(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    assert (await put(origin, f"{LIVE}/seg_00000.ts", ts_segment, token)).status == 201
    assert (await put(origin, f"{LIVE}/index.m3u8", playlist(), token)).status == 201
    viewer = make_token(streamId=LIVE)
    assert (await fetch(origin, f"/hls/{LIVE}/index.m3u8", token=viewer)).status == 200
    reply = await fetch(origin, f"/hls/{LIVE}/seg_00000.ts", token=viewer)
    assert reply.status == 200 and reply.body == ts_segment
    assert (await fetch(origin, f"/hls/{LIVE}/seg_00000.ts")).status == 401  # the new route asks the gate too


# -- who may write: only a publish token for that stream; nothing written otherwise ---------------------------


REFUSED = {
    "no token": (None, 401, "token_missing"),
    "a play token": (make_token(streamId=LIVE), 403, "forbidden"),
    "another stream's publish token": (publish_token("other"), 403, "forbidden"),
    "an expired publish token": (publish_token(exp=int(time.time()) - 3600), 401, "token_expired"),
    "a forged publish token": (publish_token()[:-4] + "AAAA", 401, "token_invalid"),
}


@pytest.mark.parametrize("case", REFUSED)
@pytest.mark.parametrize("name", ["seg_00000.ts", "r0/seg_00000.ts", "index.m3u8", "r0/index.m3u8"])
async def test_only_a_publish_token_for_the_stream_writes(origin: Origin, ts_segment: bytes, case: str,
                                                          name: str) -> None:
    token, status, code = REFUSED[case]
    body = playlist() if name.endswith(".m3u8") else ts_segment
    reply = await put(origin, f"{LIVE}/{name}", chunks(body), token)
    expect_error(reply, status, code, *([token] if token else []))
    assert not (origin.settings.media_root / LIVE).exists()  # not even the stream's folder


@pytest.mark.parametrize("case", REFUSED)
async def test_delete_is_scoped_as_put(origin: Origin, ts_segment: bytes, case: str) -> None:
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, publish_token())).status == 201
    token, status, code = REFUSED[case]
    auth = None if token is None else f"Bearer {token}"
    expect_error(await fetch(origin, f"/ingest/{LIVE}/r0/seg_00000.ts", method="DELETE", auth=auth), status, code)
    assert stream_files(origin) == ["r0", "r0/seg_00000.ts"]


async def test_delete_removes_a_file_and_an_absent_one_is_fine(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, token)).status == 201
    for _ in range(2):  # the second time it is gone: 204 as well
        reply = await fetch(origin, f"/ingest/{LIVE}/r0/seg_00000.ts", method="DELETE", auth=f"Bearer {token}")
        assert reply.status == 204, reply.text
    assert stream_files(origin) == ["r0"]
    reply = await fetch(origin, "/ingest/nothing/r9/seg_00000.ts", method="DELETE",
                        auth=f"Bearer {publish_token('nothing')}")
    assert reply.status == 204 and not (origin.settings.media_root / "nothing").exists()


async def test_a_play_token_for_a_vod_stream_cannot_overwrite_or_delete_it(origin: Origin) -> None:
    segment = origin.settings.media_root / STREAM / "360p" / "seg_00000.ts"
    before = segment.read_bytes()
    token = make_token()  # play, STREAM
    expect_error(await put(origin, f"{STREAM}/360p/seg_00000.ts", b"G" * 400, token), 403, "forbidden")
    expect_error(await fetch(origin, f"/ingest/{STREAM}/360p/seg_00000.ts", method="DELETE", auth=f"Bearer {token}"),
                 403, "forbidden")
    assert segment.read_bytes() == before


# -- writes never leave the stream's folder, never follow a planted symlink -----------------------------------


TRAVERSALS = ["/ingest/../outside.ts", "/ingest/%2e%2e/outside.ts", f"/ingest/{LIVE}/../outside.ts",
              f"/ingest/{LIVE}/%2e%2e/outside.ts", f"/ingest/{LIVE}/..%2foutside.ts", f"/ingest/{LIVE}/..%2Foutside.ts",
              f"/ingest/{LIVE}/%2e%2e%2foutside.ts", f"/ingest/{LIVE}/r0/../../outside.ts",
              f"/ingest/{LIVE}/r0/..%5c..%5coutside.ts", f"/ingest/{LIVE}//etc/outside.ts",
              f"/ingest/{LIVE}/.outside.ts", f"/ingest/{LIVE}/r0/seg.ts.part", f"/ingest/{LIVE}/x/y/z/seg.ts",
              f"/ingest/{LIVE}/r0/seg.txt", "/ingest/.hlsgate/live.json", f"/ingest/{LIVE}/r0/seg%00.ts",
              f"/ingest/{LIVE}/%C0%AE%C0%AE/outside.ts"]


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_traversal_is_refused_over_a_raw_socket(origin: Origin, ts_segment: bytes, target: str) -> None:
    root = origin.settings.media_root
    before = files(root.parent)
    request = raw_request(target, {"Authorization": f"Bearer {publish_token()}",
                                   "Content-Length": str(len(ts_segment))}, method="PUT") + ts_segment
    reply = await raw_exchange(origin.port, request)
    assert reply.status in (400, 404), reply.head
    assert files(root.parent) == before


@pytest.mark.parametrize("level", ["stream", "rendition"])
async def test_a_planted_symlink_is_never_followed(origin: Origin, ts_segment: bytes, tmp_path: Path,
                                                   level: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = origin.settings.media_root
    if level == "stream":
        (root / LIVE).symlink_to(outside, target_is_directory=True)
    else:
        (root / LIVE).mkdir()
        (root / LIVE / "r0").symlink_to(outside, target_is_directory=True)
    token = publish_token()
    for name, body in (("r0/seg_00000.ts", ts_segment), ("r0/index.m3u8", playlist())):
        expect_error(await put(origin, f"{LIVE}/{name}", body, token), 403, "forbidden", token,
                     says=("symbolic link",))
        expect_error(await fetch(origin, f"/ingest/{LIVE}/{name}", method="DELETE", auth=f"Bearer {token}"),
                     403, "forbidden")
    if level == "stream":
        expect_error(await put(origin, f"{LIVE}/seg_00000.ts", ts_segment, token), 403, "forbidden")
    assert files(outside) == []


async def test_a_symlinked_file_is_replaced_not_written_through(origin: Origin, ts_segment: bytes,
                                                                tmp_path: Path) -> None:
    victim = tmp_path / "victim.ts"
    victim.write_bytes(b"precious")
    (origin.settings.media_root / LIVE).mkdir()
    (origin.settings.media_root / LIVE / "seg_00000.ts").symlink_to(victim)
    assert (await put(origin, f"{LIVE}/seg_00000.ts", ts_segment, publish_token())).status == 204
    assert victim.read_bytes() == b"precious"
    assert not (origin.settings.media_root / LIVE / "seg_00000.ts").is_symlink()


# -- bodies: chunked without a length, capped while they stream, stalled ones closed ----------------------------


async def test_a_chunked_body_without_a_length_is_written_whole(origin: Origin, ts_segment: bytes) -> None:
    request = raw_request(f"/ingest/{LIVE}/r0/seg_00000.ts", {"Authorization": f"Bearer {publish_token()}",
                                                             "Transfer-Encoding": "chunked"}, method="PUT")
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in
                    (ts_segment[i:i + 777] for i in range(0, len(ts_segment), 777))) + b"0\r\n\r\n"
    reply = await raw_exchange(origin.port, request + body)
    assert reply.status == 201, reply.head
    assert (origin.settings.media_root / LIVE / "r0" / "seg_00000.ts").read_bytes() == ts_segment


async def test_persistent_connections_carry_many_uploads(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    for seq in range(4):  # one session: aiohttp keeps the connection, as ffmpeg's -http_persistent 1 does
        assert (await put(origin, f"{LIVE}/r0/seg_{seq:05d}.ts", chunks(ts_segment, 4096), token)).status == 201
        assert (await put(origin, f"{LIVE}/r0/index.m3u8", chunks(playlist(seq)), token)).status in (201, 204)
    assert len(stream_files(origin)) == 6


@pytest.mark.parametrize(("name", "flag"), [("r0/seg_00000.ts", "ingest.max_segment_bytes"),
                                            ("r0/index.m3u8", "ingest.max_playlist_bytes")])
async def test_the_cap_holds_while_the_body_streams(start_origin: StartOrigin, ts_segment: bytes, name: str,
                                                    flag: str) -> None:
    origin = await start_origin(**{flag: 4096})
    token = publish_token()
    good = ts_segment if name.endswith(".ts") else playlist()
    assert (await put(origin, f"{LIVE}/{name}", good[:4096], token)).status == 201
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        first = good[:4096]
        yield first
        sent += len(first)
        for _ in range(10_000):  # 40 MB if nobody stops it
            yield b"\x47" * 4096
            sent += 4096

    reply = await put(origin, f"{LIVE}/{name}", endless(), token)
    expect_error(reply, 413, "payload_too_large", token)
    assert reply.headers.get("Connection", "").lower() == "close"
    assert sent < 4 << 20  # refused as soon as the cap passed, not after the whole body
    assert (origin.settings.media_root / LIVE / name).read_bytes() == good[:4096]  # untouched
    assert stream_files(origin) == ["r0", f"{name}"]  # no temporary file left


async def test_a_declared_length_over_the_cap_is_refused_before_the_body(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"ingest.max_segment_bytes": 4096})
    request = raw_request(f"/ingest/{LIVE}/r0/seg_00000.ts", {"Authorization": f"Bearer {publish_token()}",
                                                             "Content-Length": str(1 << 30)}, method="PUT")
    reply = await raw_exchange(origin.port, request + b"\x47" * 188)  # a gigabyte announced, 188 bytes sent
    assert reply.status == 413 and b"payload_too_large" in reply.body
    assert stream_files(origin) == []


async def test_a_stalled_body_is_closed(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"ingest.body_timeout": 0.3})
    request = raw_request(f"/ingest/{LIVE}/r0/seg_00000.ts", {"Authorization": f"Bearer {publish_token()}",
                                                             "Transfer-Encoding": "chunked"}, method="PUT")
    reader, writer = await asyncio.open_connection("127.0.0.1", origin.port)
    try:
        writer.write(request + b"bc\r\n" + b"\x47" + bytes(187) + b"\r\n")  # one packet, then silence
        await writer.drain()
        started = time.monotonic()
        async with asyncio.timeout(5):
            answer = await reader.read()  # read until the server closes the connection
        assert time.monotonic() - started < 3
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b"request_timeout" in answer
    assert stream_files(origin) == []  # the first batch never filled: not even a folder


# -- only media --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"not media at all" * 20, b"#EXTM3U\n" * 40, b"", b"<html>" + bytes(300)])
async def test_a_segment_that_is_not_media_is_refused(origin: Origin, body: bytes) -> None:
    expect_error(await put(origin, f"{LIVE}/r0/seg_00000.ts", chunks(body), publish_token()), 415,
                 "unsupported_media")
    assert stream_files(origin) == []


async def test_an_fmp4_segment_is_media(origin: Origin, published_root: Path) -> None:
    folder = published_root / "f1" / "240p"
    token = publish_token()
    for name in ("init.mp4", sorted(p.name for p in folder.glob("*.m4s"))[0]):
        assert (await put(origin, f"{LIVE}/r0/{name}", (folder / name).read_bytes(), token)).status == 201


@pytest.mark.parametrize("body", [b"seg_00000.ts\n", b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n../../s1/x.ts\n",
                                  b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://evil.example/x.ts\n",
                                  b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/hls/s2/360p/seg_00000.ts\n",
                                  b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg.ts?token=stolen\n",
                                  b'#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="../init.mp4"\n',
                                  b"\xff\xfe\x00"])
async def test_a_playlist_leaving_the_stream_is_refused(origin: Origin, body: bytes) -> None:
    token = publish_token()
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 201
    expect_error(await put(origin, f"{LIVE}/r0/index.m3u8", chunks(body, 7), token), 422, "invalid_playlist")
    assert (origin.settings.media_root / LIVE / "r0" / "index.m3u8").read_bytes() == playlist()
    assert stream_files(origin) == ["r0", "r0/index.m3u8"]


# -- atomic writes ------------------------------------------------------------------------------------------------


async def test_a_reader_never_sees_a_partial_file(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    old, new = ts_segment, ts_segment[:188 * 50] * 4
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", old, token)).status == 201
    target = origin.settings.media_root / LIVE / "r0" / "seg_00000.ts"
    seen: set[bytes] = set()
    done = asyncio.Event()

    async def read_forever() -> None:
        viewer = make_token(streamId=LIVE)
        while not done.is_set():
            seen.add(await asyncio.to_thread(target.read_bytes))
            reply = await fetch(origin, f"/hls/{LIVE}/r0/seg_00000.ts", token=viewer)
            seen.add(reply.body)

    reader = asyncio.create_task(read_forever())
    for body in (new, old, new):
        assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", chunks(body, 997, pause=0.001), token)).status == 204
    done.set()
    await reader
    assert seen <= {old, new} and len(seen) >= 1


async def test_a_publisher_killed_mid_upload_leaves_the_last_good_files(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, token)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 201
    for name, body in (("seg_00000.ts", ts_segment), ("index.m3u8", playlist(1)), ("seg_00001.ts", ts_segment)):
        request = raw_request(f"/ingest/{LIVE}/r0/{name}", {"Authorization": f"Bearer {token}",
                                                           "Transfer-Encoding": "chunked"}, method="PUT")
        half = body[:len(body) // 2]
        _, writer = await asyncio.open_connection("127.0.0.1", origin.port)
        writer.write(request + b"%x\r\n%s\r\n" % (len(body), half))  # a chunk announced whole, sent half
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.transport.abort()  # the encoder dies
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)
    assert (origin.settings.media_root / LIVE / "r0" / "seg_00000.ts").read_bytes() == ts_segment
    assert (origin.settings.media_root / LIVE / "r0" / "index.m3u8").read_bytes() == playlist()
    assert stream_files(origin) == ["r0", "r0/index.m3u8", "r0/seg_00000.ts"]  # no temporary file, no seg_00001


# -- one publisher per stream ---------------------------------------------------------------------------------------


async def test_a_second_publisher_is_refused_while_the_first_is_live(origin: Origin, ts_segment: bytes) -> None:
    first, second = publish_token(jti="a"), publish_token(jti="b")
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, first)).status == 201
    for token in (second, publish_token(jti=None)):
        expect_error(await put(origin, f"{LIVE}/r0/seg_00001.ts", ts_segment, token), 409, "publisher_conflict",
                     token)
        expect_error(await fetch(origin, f"/ingest/{LIVE}/r0/seg_00000.ts", method="DELETE",
                                 auth=f"Bearer {token}"), 409, "publisher_conflict")
    assert stream_files(origin) == ["r0", "r0/seg_00000.ts"]
    reconnected = publish_token(jti="a")  # a new token, the same jti: the same encoder reconnecting
    assert (await put(origin, f"{LIVE}/r0/seg_00001.ts", ts_segment, reconnected)).status == 201


async def test_two_concurrent_publishers_one_wins(origin: Origin, ts_segment: bytes) -> None:
    tokens = [publish_token(jti=f"p{i}") for i in range(2)]
    replies = await asyncio.gather(*(put(origin, f"{LIVE}/r0/seg_0000{i}.ts", chunks(ts_segment, 2000, 0.001), t)
                                     for i, t in enumerate(tokens)))
    assert sorted(r.status for r in replies) == [201, 409]


async def test_a_silent_stream_is_ended_and_another_publisher_may_take_it(start_origin: StartOrigin,
                                                                          ts_segment: bytes) -> None:
    origin = await start_origin(**{"live.end_after": 1})
    first = publish_token(jti="a")
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, first)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(target=1), first)).status == 201
    viewer = make_token(streamId=LIVE)
    assert "#EXT-X-ENDLIST" not in (await fetch(origin, f"/hls/{LIVE}/r0/index.m3u8", token=viewer)).text
    silent = time.monotonic()
    while "#EXT-X-ENDLIST" not in (text := (await fetch(origin, f"/hls/{LIVE}/r0/index.m3u8", token=viewer)).text):
        assert time.monotonic() - silent < ENDED_WITHIN, text
        await asyncio.sleep(0.05)
    assert time.monotonic() - silent >= 0.9  # not before one target duration of silence
    assert text.endswith("seg_00000.ts?token=" + viewer + "\n#EXT-X-ENDLIST\n"), text
    assert (await put(origin, f"{LIVE}/r0/seg_00001.ts", ts_segment, publish_token(jti="b"))).status == 201


# -- live state: the stream list, the playlist cache, a restart -----------------------------------------------------


async def streams(origin: Origin) -> dict[str, dict[str, Any]]:
    reply = await fetch(origin, "/api/v1/streams", auth=f"Bearer {make_admin()}")
    assert reply.status == 200, reply.text
    return {s["id"]: s for s in reply.json()["streams"]}


def make_admin() -> str:
    from ..conftest import make_admin_token
    return make_admin_token()


async def test_the_stream_list_says_live_ended_or_vod(start_origin: StartOrigin, ts_segment: bytes) -> None:
    origin = await start_origin(**{"live.end_after": 1})
    token = publish_token()
    before = time.time()
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, token)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(target=1), token)).status == 201
    assert (await put(origin, f"{LIVE}/master.m3u8", MASTER.encode(), token)).status == 201
    listed = await streams(origin)
    assert listed[STREAM]["state"] == "vod" and listed[STREAM]["bitrate"] is None
    assert listed[STREAM]["since"] == listed[STREAM]["updated_at"]
    live = listed[LIVE]
    assert live["state"] == "live" and before - 1 <= live["since"] <= time.time()
    assert live["bitrate"] == pytest.approx(8 * len(ts_segment) / 1.0, rel=0.01)  # one segment of 1 s
    assert [r["name"] for r in live["renditions"]] == ["r0"]
    silent = time.monotonic()
    while (ended := (await streams(origin))[LIVE])["state"] == "live":
        assert time.monotonic() - silent < ENDED_WITHIN
        await asyncio.sleep(0.05)
    assert ended["state"] == "ended" and ended["since"] >= live["since"] and ended["bitrate"] is None


async def test_a_single_rendition_stream_is_listed(origin: Origin, ts_segment: bytes) -> None:
    token = publish_token()
    assert (await put(origin, f"{LIVE}/index.m3u8", playlist(), token)).status == 201
    listed = (await streams(origin))[LIVE]
    assert listed["master"] == f"/hls/{LIVE}/index.m3u8" and listed["state"] == "live"


async def test_a_playlist_that_lands_is_served_at_once(start_origin: StartOrigin, ts_segment: bytes) -> None:
    origin = await start_origin(playlist_revalidate=60)  # the cache would trust a version for a minute
    token, viewer = publish_token(), make_token(streamId=LIVE)
    for seq in range(3):
        assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(seq), token)).status in (201, 204)
        reply = await fetch(origin, f"/hls/{LIVE}/r0/index.m3u8", token=viewer)
        assert f"#EXT-X-MEDIA-SEQUENCE:{seq}\n" in reply.text


async def test_the_publisher_ending_every_rendition_ends_the_stream(origin: Origin) -> None:
    token = publish_token()
    for rendition in ("r0", "r1"):
        assert (await put(origin, f"{LIVE}/{rendition}/index.m3u8", playlist(), token)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist() + b"#EXT-X-ENDLIST\n", token)).status == 204
    assert (await streams(origin))[LIVE]["state"] == "live"
    assert (await put(origin, f"{LIVE}/r1/index.m3u8", playlist() + b"#EXT-X-ENDLIST\n", token)).status == 204
    assert (await streams(origin))[LIVE]["state"] == "ended"


async def test_the_publisher_ends_its_stream_in_one_request(origin: Origin) -> None:
    """POST /ingest/{stream}/end: what hlsgate publish sends after a clean stop (ffmpeg's own last playlists can
    be lost): ENDLIST on every media playlist at once; only the publisher's own token (jti) may say so."""
    token = publish_token()
    for rendition in ("r0", "r1"):
        assert (await put(origin, f"{LIVE}/{rendition}/index.m3u8", playlist(), token)).status == 201
    other, viewer = publish_token(jti="someone-else"), make_token(streamId=LIVE)
    expect_error(await fetch(origin, f"/ingest/{LIVE}/end", method="POST", auth=f"Bearer {other}"), 409,
                 "publisher_conflict", other)
    expect_error(await fetch(origin, f"/ingest/{LIVE}/end", method="POST", auth=f"Bearer {viewer}"), 403,
                 "forbidden", viewer)
    expect_error(await fetch(origin, f"/ingest/{LIVE}/end", method="POST"), 401, "token_missing")
    assert (await streams(origin))[LIVE]["state"] == "live"
    assert (await fetch(origin, f"/ingest/{LIVE}/end", method="POST", auth=f"Bearer {token}")).status == 204
    assert (await streams(origin))[LIVE]["state"] == "ended"
    for rendition in ("r0", "r1"):
        text = (origin.settings.media_root / LIVE / rendition / "index.m3u8").read_text(encoding="utf-8")
        assert text.rstrip().endswith("#EXT-X-ENDLIST") and text.count("#EXT-X-ENDLIST") == 1
    # Once more, or for a stream never published: nothing changes, still 204.
    assert (await fetch(origin, f"/ingest/{LIVE}/end", method="POST", auth=f"Bearer {token}")).status == 204
    never = publish_token("never-published")
    assert (await fetch(origin, "/ingest/never-published/end", method="POST", auth=f"Bearer {never}")).status == 204
    assert not (origin.settings.media_root / "never-published").exists()


async def test_live_state_survives_a_restart(start_origin: StartOrigin, ts_segment: bytes) -> None:
    origin = await start_origin()
    token = publish_token(jti="a")
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 201
    since = (await streams(origin))[LIVE]["since"]
    await origin.server.close()
    kept = json.loads((origin.settings.state_dir / LIVE_FILE).read_text())
    assert kept["streams"][LIVE]["publisher"] == "a"
    again = await start_origin()
    listed = (await streams(again))[LIVE]
    assert (listed["state"], listed["since"]) == ("live", since)
    other = publish_token(jti="b")
    expect_error(await put(again, f"{LIVE}/r0/index.m3u8", playlist(1), other), 409, "publisher_conflict")
    assert (await put(again, f"{LIVE}/r0/index.m3u8", playlist(1), token)).status == 204


# -- play and publish security, switched separately ----------------------------------------------------------------


async def test_open_playback_with_secured_publishing(start_origin: StartOrigin, ts_segment: bytes) -> None:
    origin = await start_origin(**{"auth.play": False})
    expect_error(await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment), 401, "token_missing")
    expect_error(await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, make_token(streamId=LIVE)), 403,
                 "forbidden")
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, publish_token())).status == 201
    reply = await fetch(origin, f"/hls/{LIVE}/r0/seg_00000.ts")
    assert reply.status == 200 and reply.headers["Cache-Control"].startswith("public")


async def test_open_publishing_with_secured_playback(start_origin: StartOrigin, ts_segment: bytes) -> None:
    origin = await start_origin(**{"auth.publish": False})
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment)).status == 201
    expect_error(await fetch(origin, f"/hls/{LIVE}/r0/seg_00000.ts"), 401, "token_missing")


async def test_secured_publishing_without_a_viewer_key_is_not_configured(
        start_origin: StartOrigin, media_root: Path, tmp_path: Path, ts_segment: bytes) -> None:
    from ..conftest import settings_for
    settings = settings_for(media_root, tmp_path / "state", env={"HLSGATE_JWT_SECRET": ""}, **{"auth.play": False})
    assert not settings.viewer.configured
    origin = await start_origin(settings)
    expect_error(await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, publish_token()), 503, "not_configured",
                 says=("--no-publish-auth",))
    assert not (media_root / LIVE).exists()
    assert (await fetch(origin, f"/hls/{STREAM}/master.m3u8")).status == 200


def test_no_temporary_file_is_named_like_a_served_file() -> None:
    from hls_server.core.ingest.store import TEMP_SUFFIX
    assert TEMP_SUFFIX.startswith(".") and Path("x" + TEMP_SUFFIX).suffix not in (".ts", ".m3u8")
