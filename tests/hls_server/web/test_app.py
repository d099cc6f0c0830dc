"""The origin over real loopback HTTP: content types, token propagation, conditional and range requests, HEAD,
CORS, caching headers, error answers and the playlist cache.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from yarl import URL

from hls_server import __version__

from ..conftest import FMP4_STREAM, STREAM, Origin, StartOrigin, make_token
from ..http import bearer, expect_error, expect_json, fetch

MEDIA_PLAYLIST = f"/hls/{STREAM}/360p/index.m3u8"
MASTER = f"/hls/{STREAM}/master.m3u8"
SEGMENT = f"/hls/{STREAM}/360p/seg_00001.ts"
FMP4_PLAYLIST = f"/hls/{FMP4_STREAM}/240p/index.m3u8"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CACHE = "max-age=31536000, immutable"
PLAYER_ORIGIN = "https://player.example"


def on_disk(root: Path, path: str) -> Path:
    """The file behind an /hls/ path."""
    return root / path.removeprefix("/hls/")


def uri_lines(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line.strip() and not line.startswith("#")]


def tag_lines(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line.startswith("#")]


def replace_atomically(path: Path, content: bytes) -> None:
    """How a packager publishes a playlist: write a temporary file beside it, then rename over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)  # os.replace: atomic on one filesystem


# -- content types and bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "content_type"), [
    (MASTER, PLAYLIST_TYPE),
    (MEDIA_PLAYLIST, PLAYLIST_TYPE),
    (SEGMENT, "video/mp2t"),
    (f"/hls/{FMP4_STREAM}/240p/seg_00000.m4s", "video/iso.segment"),
    (f"/hls/{FMP4_STREAM}/240p/init.mp4", "video/mp4"),
])
async def test_content_types(origin: Origin, path: str, content_type: str) -> None:
    stream = path.split("/")[2]
    got = await fetch(origin, path, token=make_token(streamId=stream))
    assert got.status == 200
    assert got.headers["Content-Type"] == content_type
    assert got.body


async def test_a_segment_is_served_byte_for_byte(origin: Origin, media_root: Path) -> None:
    got = await fetch(origin, SEGMENT, token=make_token())
    assert got.status == 200
    assert got.body == on_disk(media_root, SEGMENT).read_bytes()
    assert int(got.headers["Content-Length"]) == len(got.body)


# -- token propagation ---------------------------------------------------------------------------------------


async def test_master_carries_the_token_into_every_variant(origin: Origin, media_root: Path) -> None:
    token = make_token()
    got = await fetch(origin, MASTER, token=token)
    original = on_disk(media_root, MASTER).read_text()
    assert got.status == 200
    assert len(uri_lines(original)) == 2
    assert uri_lines(got.text) == [f"{uri}?token={token}" for uri in uri_lines(original)]
    assert tag_lines(got.text) == tag_lines(original)
    for uri in uri_lines(got.text):  # resolved as a player does: the master's own query is not inherited
        variant = await fetch(origin, got.url.join(URL(uri)))
        assert variant.status == 200, uri
        assert all(line.endswith(f"?token={token}") for line in uri_lines(variant.text))


async def test_media_playlist_carries_the_token_into_every_segment(origin: Origin, media_root: Path) -> None:
    token = make_token()
    got = await fetch(origin, MEDIA_PLAYLIST, token=token)
    original = on_disk(media_root, MEDIA_PLAYLIST).read_text()
    assert got.status == 200
    assert len(uri_lines(original)) >= 3
    assert uri_lines(got.text) == [f"{uri}?token={token}" for uri in uri_lines(original)]
    assert tag_lines(got.text) == tag_lines(original)
    for uri in uri_lines(got.text):
        segment = await fetch(origin, got.url.join(URL(uri)), method="HEAD")
        assert segment.status == 200, uri


async def test_fmp4_playlist_carries_the_token_into_the_init_section(origin: Origin, media_root: Path) -> None:
    token = make_token(streamId=FMP4_STREAM)
    got = await fetch(origin, FMP4_PLAYLIST, token=token)
    original = on_disk(media_root, FMP4_PLAYLIST).read_text()
    assert got.status == 200
    assert '#EXT-X-MAP:URI="init.mp4"' in original
    (map_line,) = [line for line in got.text.splitlines() if line.startswith("#EXT-X-MAP:")]
    assert map_line == f'#EXT-X-MAP:URI="init.mp4?token={token}"'
    assert uri_lines(got.text) == [f"{uri}?token={token}" for uri in uri_lines(original)]
    init = await fetch(origin, got.url.join(URL(f"init.mp4?token={token}")))
    assert (init.status, init.headers["Content-Type"]) == (200, "video/mp4")
    for uri in uri_lines(got.text):
        segment = await fetch(origin, got.url.join(URL(uri)), method="HEAD")
        assert segment.status == 200, uri


async def test_a_token_in_the_header_leaves_the_playlist_as_it_is(origin: Origin, media_root: Path) -> None:
    header = bearer(make_token())
    got = await fetch(origin, MEDIA_PLAYLIST, headers=header)
    assert got.status == 200
    assert got.body == on_disk(media_root, MEDIA_PLAYLIST).read_bytes()
    assert "token=" not in got.text
    for uri in uri_lines(got.text):
        segment = await fetch(origin, got.url.join(URL(uri)), headers=header)
        assert segment.status == 200, uri
        assert segment.body == on_disk(media_root, got.url.join(URL(uri)).path).read_bytes()
    without = await fetch(origin, got.url.join(URL(uri_lines(got.text)[0])))
    assert without.status == 401


# -- ranges, validators, HEAD --------------------------------------------------------------------------------


async def test_a_single_range_gives_206_with_exact_bytes(origin: Origin, media_root: Path) -> None:
    data = on_disk(media_root, SEGMENT).read_bytes()
    got = await fetch(origin, SEGMENT, token=make_token(), headers={"Range": "bytes=188-375"})
    assert got.status == 206
    assert got.body == data[188:376]
    assert got.headers["Content-Range"] == f"bytes 188-375/{len(data)}"
    assert int(got.headers["Content-Length"]) == 188


async def test_a_range_past_the_end_gives_416(origin: Origin, media_root: Path) -> None:
    size = on_disk(media_root, SEGMENT).stat().st_size
    got = await fetch(origin, SEGMENT, token=make_token(), headers={"Range": f"bytes={size}-"})
    assert got.status == 416
    assert got.headers["Content-Range"] == f"bytes */{size}"
    assert got.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", [SEGMENT, MEDIA_PLAYLIST, MASTER])
async def test_if_none_match_gives_304(origin: Origin, path: str) -> None:
    token = make_token()
    first = await fetch(origin, path, token=token)
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('"') and etag.endswith('"')
    again = await fetch(origin, path, token=token, headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")
    assert again.headers["ETag"] == etag
    assert "private" in again.headers["Cache-Control"]
    other = await fetch(origin, path, token=token, headers={"If-None-Match": '"something-else"'})
    assert other.status == 200
    listed = await fetch(origin, path, token=token, headers={"If-None-Match": f'"a", W/{etag} , "b"'})
    assert listed.status == 304
    star = await fetch(origin, path, token=token, headers={"If-None-Match": "*"})
    assert star.status == 304
    prefix = await fetch(origin, path, token=token, headers={"If-None-Match": etag[:-2] + '"'})
    assert prefix.status == 200  # a truncated tag is another tag, not a substring match


async def test_the_playlist_etag_is_per_token(origin: Origin) -> None:
    alice, bob = make_token(sub="alice"), make_token(sub="bob")
    a1 = await fetch(origin, MEDIA_PLAYLIST, token=alice)
    a2 = await fetch(origin, MEDIA_PLAYLIST, token=alice)
    b = await fetch(origin, MEDIA_PLAYLIST, token=bob)
    header = await fetch(origin, MEDIA_PLAYLIST, headers=bearer(alice))
    assert a1.headers["ETag"] == a2.headers["ETag"]
    assert len({a1.headers["ETag"], b.headers["ETag"], header.headers["ETag"]}) == 3
    # A body rendered for alice must never be revalidated for bob: his token is inside it.
    cross = await fetch(origin, MEDIA_PLAYLIST, token=bob, headers={"If-None-Match": a1.headers["ETag"]})
    assert cross.status == 200
    assert bob in cross.text and alice not in cross.text


@pytest.mark.parametrize("path", [SEGMENT, MEDIA_PLAYLIST])
async def test_last_modified_is_the_files_mtime(origin: Origin, media_root: Path, path: str) -> None:
    got = await fetch(origin, path, token=make_token())
    mtime = on_disk(media_root, path).stat().st_mtime
    # HTTP dates have whole seconds: aiohttp rounds a segment's up, the playlist handler rounds down.
    assert abs(parsedate_to_datetime(got.headers["Last-Modified"]).timestamp() - mtime) < 1


@pytest.mark.parametrize("path", [SEGMENT, MEDIA_PLAYLIST, MASTER])
async def test_head_gives_the_headers_of_get_and_no_body(origin: Origin, path: str) -> None:
    token = make_token()
    get = await fetch(origin, path, token=token)
    head = await fetch(origin, path, method="HEAD", token=token)
    assert (head.status, head.body) == (200, b"")
    assert int(head.headers["Content-Length"]) == len(get.body) > 0
    for name in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[name] == get.headers[name], name


# -- CORS ----------------------------------------------------------------------------------------------------


async def test_cors_allows_any_origin_by_default(origin: Origin) -> None:
    headers = {"Origin": "https://anywhere.example"}
    for path in (MASTER, SEGMENT):
        got = await fetch(origin, path, token=make_token(), headers=headers)
        assert got.headers["Access-Control-Allow-Origin"] == "*"
        assert "Content-Range" in got.headers["Access-Control-Expose-Headers"]
    refused = await fetch(origin, MASTER, headers=headers)  # a player must be able to read the 401
    assert (refused.status, refused.headers["Access-Control-Allow-Origin"]) == (401, "*")


async def test_configured_cors_origins_are_echoed_others_are_not(start_origin: StartOrigin) -> None:
    origin: Origin = await start_origin(cors_origins=[PLAYER_ORIGIN])
    token = make_token()
    allowed = await fetch(origin, MASTER, token=token, headers={"Origin": PLAYER_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == PLAYER_ORIGIN
    assert "Origin" in allowed.headers.getall("Vary")
    other = await fetch(origin, MASTER, token=token, headers={"Origin": "https://evil.example"})
    assert other.status == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    # The answer depends on Origin either way, so a shared cache must key on it either way.
    assert "Origin" in other.headers.getall("Vary", [])
    none = await fetch(origin, MASTER, token=token)
    assert "Access-Control-Allow-Origin" not in none.headers


async def test_preflight_on_media_paths(origin: Origin) -> None:
    got = await fetch(origin, MEDIA_PLAYLIST, method="OPTIONS", headers={
        "Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, range"})
    assert (got.status, got.body) == (204, b"")
    allowed_headers = {h.strip().lower() for h in got.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "range"} <= allowed_headers
    assert "GET" in got.headers["Access-Control-Allow-Methods"]
    assert got.headers["Access-Control-Allow-Origin"] == "*"


async def test_preflight_from_an_unlisted_origin_gets_no_allow_origin(start_origin: StartOrigin) -> None:
    origin: Origin = await start_origin(cors_origins=[PLAYER_ORIGIN])
    got = await fetch(origin, MEDIA_PLAYLIST, method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in got.headers


async def test_no_cors_headers_on_the_api(origin: Origin) -> None:
    headers = {"Origin": PLAYER_ORIGIN, **bearer()}
    for path in ("/api/v1/streams", "/api/v1/openapi.json", "/api/v1/groups/nope"):
        got = await fetch(origin, path, headers=headers)
        assert got.status in (200, 404), path
        assert not [h for h in got.headers if h.lower().startswith("access-control-")], path
    preflight = await fetch(origin, "/api/v1/streams", method="OPTIONS", headers={
        "Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert preflight.status == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers


# -- caching headers -----------------------------------------------------------------------------------------


async def test_cache_control_with_auth(origin: Origin) -> None:
    token = make_token()
    assert (await fetch(origin, SEGMENT, token=token)).headers["Cache-Control"] == f"private, {SEGMENT_CACHE}"
    for path in (MASTER, MEDIA_PLAYLIST):
        assert (await fetch(origin, path, token=token)).headers["Cache-Control"] == "private, max-age=60"


async def test_cache_control_without_auth(start_origin: StartOrigin) -> None:
    origin: Origin = await start_origin(**{"auth.play": False})
    segment = await fetch(origin, SEGMENT)
    assert (segment.status, segment.headers["Cache-Control"]) == (200, f"public, {SEGMENT_CACHE}")
    playlist = await fetch(origin, MEDIA_PLAYLIST)
    assert (playlist.status, playlist.headers["Cache-Control"]) == (200, "public, max-age=60")


async def test_a_live_playlist_is_cached_for_one_second(origin: Origin, media_root: Path) -> None:
    vod = on_disk(media_root, MEDIA_PLAYLIST).read_text()
    live = "".join(line for line in vod.splitlines(keepends=True)
                   if not line.startswith(("#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE")))
    assert live != vod
    (media_root / "live1" / "360p").mkdir(parents=True)
    (media_root / "live1" / "360p" / "index.m3u8").write_text(live)
    got = await fetch(origin, "/hls/live1/360p/index.m3u8", token=make_token(streamId="live1"))
    assert got.status == 200
    assert got.headers["Cache-Control"] == "private, max-age=1"


@pytest.mark.parametrize("path", [MASTER, MEDIA_PLAYLIST, SEGMENT])
async def test_tokenised_responses_send_no_referrer(origin: Origin, path: str) -> None:
    got = await fetch(origin, path, token=make_token())
    assert got.headers["Referrer-Policy"] == "no-referrer"


# -- other routes and errors ---------------------------------------------------------------------------------


async def test_healthz(origin: Origin) -> None:
    got = await fetch(origin, "/healthz")
    assert expect_json(got) == {"status": "ok", "version": __version__}
    assert got.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/nope", "/hls/s1/master.txt", "/hls/s1/360p/seg_00000.exe", "/hls/"])
async def test_an_unknown_route_is_a_json_404(origin: Origin, path: str) -> None:
    token = make_token()
    expect_error(await fetch(origin, path, token=token), 404, "not_found", token)


@pytest.mark.parametrize(("method", "path"), [("POST", MASTER), ("DELETE", SEGMENT), ("PUT", "/healthz")])
async def test_a_wrong_method_is_a_json_405_with_allow(origin: Origin, method: str, path: str) -> None:
    token = make_token()
    got = await fetch(origin, path, method=method, token=token)
    expect_error(got, 405, "method_not_allowed", token)
    assert "GET" in {m.strip() for m in got.headers["Allow"].split(",")}


# -- the playlist cache --------------------------------------------------------------------------------------


async def test_a_replaced_playlist_is_served_at_once_without_revalidation_delay(
        start_origin: StartOrigin, media_root: Path) -> None:
    origin: Origin = await start_origin(playlist_revalidate=0)
    token = make_token()
    path = on_disk(media_root, MEDIA_PLAYLIST)
    before = await fetch(origin, MEDIA_PLAYLIST, token=token)
    assert "seg_00003.ts" in before.text
    replace_atomically(path, path.read_bytes().replace(b"#EXTINF:1.000000,\nseg_00003.ts\n", b""))
    after = await fetch(origin, MEDIA_PLAYLIST, token=token)
    assert after.status == 200
    assert "seg_00003.ts" not in after.text and f"seg_00002.ts?token={token}" in after.text
    assert after.headers["ETag"] != before.headers["ETag"]


async def test_within_the_revalidation_window_the_cached_playlist_is_served(
        start_origin: StartOrigin, media_root: Path) -> None:
    origin: Origin = await start_origin(playlist_revalidate=60)
    token = make_token()
    path = on_disk(media_root, MEDIA_PLAYLIST)
    before = await fetch(origin, MEDIA_PLAYLIST, token=token)
    replace_atomically(path, b"#EXTM3U\n#EXT-X-ENDLIST\n")
    assert (await fetch(origin, MEDIA_PLAYLIST, token=token)).body == before.body
    path.unlink()  # the disk is not touched within the window: not even a stat
    cached = await fetch(origin, MEDIA_PLAYLIST, token=token)
    assert (cached.status, cached.body) == (200, before.body)
    assert (await fetch(origin, f"/hls/{STREAM}/240p/index.m3u8", token=token)).status == 200


async def test_a_removed_playlist_is_404(start_origin: StartOrigin, media_root: Path) -> None:
    origin: Origin = await start_origin(playlist_revalidate=0)
    token = make_token()
    assert (await fetch(origin, MEDIA_PLAYLIST, token=token)).status == 200
    on_disk(media_root, MEDIA_PLAYLIST).unlink()
    expect_error(await fetch(origin, MEDIA_PLAYLIST, token=token), 404, "not_found", token)


@pytest.mark.parametrize("content", [
    b"<html>not a playlist</html>\n",
    b"",
    b"#EXTM3U\n\xff\xfe not UTF-8\n",
    b"#EXT-X-VERSION:3\n#EXTM3U\n",  # a tag before the header: not a playlist (blank and comment lines may be)
])
async def test_a_damaged_playlist_is_404_not_500(origin: Origin, media_root: Path, content: bytes) -> None:
    on_disk(media_root, MEDIA_PLAYLIST).write_bytes(content)
    token = make_token()
    expect_error(await fetch(origin, MEDIA_PLAYLIST, token=token), 404, "not_found", token)
    expect_error(await fetch(origin, MEDIA_PLAYLIST, headers=bearer(token)), 404, "not_found", token)


@pytest.mark.parametrize("carrier", ["query", "header"])
async def test_lines_before_the_header_are_dropped_for_every_viewer(origin: Origin, media_root: Path,
                                                                    carrier: str) -> None:
    """Blank and comment lines before #EXTM3U are accepted (the m3u8 library does) and left out, so what is served
    starts with its header for every player, with or without the token written into it."""
    path = on_disk(media_root, MEDIA_PLAYLIST)
    original = path.read_bytes()
    path.write_bytes(b"\n# written by a packager\n" + original)
    token = make_token()
    got = await (fetch(origin, MEDIA_PLAYLIST, token=token) if carrier == "query"
                 else fetch(origin, MEDIA_PLAYLIST, headers=bearer(token)))
    assert got.status == 200
    assert got.body.startswith(b"#EXTM3U")
    if carrier == "header":
        assert got.body == original
