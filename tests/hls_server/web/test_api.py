"""The REST API over real HTTP: minting tokens (ours and Ant Media's form), groups, the stream list, admin auth."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hls_server.core.errors import ConfigError
from hls_server.core.groups import GROUPS_FILE
from hls_server.core.settings import DEFAULT_MAX_TOKEN_TTL, DEFAULT_TOKEN_TTL, load_settings
from hls_server.web.app import create_app

from ..conftest import (
    ADMIN_SECRET,
    FMP4_STREAM,
    OTHER_STREAM,
    RENDITIONS,
    SECRET,
    STREAM,
    Origin,
    StartOrigin,
    make_admin_token,
    make_token,
    settings_for,
)
from ..http import api, bearer, expect_error, expect_json, fetch, put_group, put_room

ADMIN_ROUTES = [
    ("POST", "/api/v1/tokens"),
    ("GET", f"/rest/v2/broadcasts/{STREAM}/jwt-token"),
    ("GET", "/api/v1/groups"),
    ("GET", "/api/v1/groups/g1"),
    ("PUT", "/api/v1/groups/g1"),
    ("DELETE", "/api/v1/groups/g1"),
    ("GET", "/api/v1/streams"),
]
ANT_MEDIA = f"/rest/v2/broadcasts/{STREAM}/jwt-token"
TOKENS = "/api/v1/tokens"
GROUPS = "/api/v1/groups"
STREAMS = "/api/v1/streams"
CLOCK_SLACK = 5  # seconds between minting and checking


async def mint(origin: Origin, **body: Any) -> dict[str, Any]:
    return expect_json(await api(origin, "POST", TOKENS, json=body), 201)


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, SECRET, algorithms=["HS256"])
    return decoded


def segment(media_root: Path, stream: str, rendition: str = RENDITIONS[0]) -> str:
    """The URL path of the first segment of a rendition."""
    names = sorted(p.name for p in (media_root / stream / rendition).iterdir() if p.suffix in (".ts", ".m4s"))
    return f"/hls/{stream}/{rendition}/{names[0]}"


async def plays(origin: Origin, path: str, token: str) -> int:
    return (await fetch(origin, path, token=token)).status


# -- POST /api/v1/tokens -------------------------------------------------------------------------------------


async def test_a_stream_token_gets_the_defaults_and_the_documented_claims(origin: Origin) -> None:
    now = time.time()
    reply = await api(origin, "POST", TOKENS, json={"stream": STREAM})
    body = expect_json(reply, 201)
    assert reply.headers["Cache-Control"] == "no-store"
    assert set(body) == {"token", "type", "stream", "expires_at"}
    assert (body["type"], body["stream"]) == ("play", STREAM)
    assert abs(body["expires_at"] - (now + DEFAULT_TOKEN_TTL)) <= CLOCK_SLACK
    claims = claims_of(body["token"])
    assert set(claims) == {"type", "streamId", "iat", "exp", "jti"}
    assert (claims["type"], claims["streamId"], claims["exp"]) == ("play", STREAM, body["expires_at"])
    assert abs(claims["iat"] - now) <= CLOCK_SLACK
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 12
    assert claims_of((await mint(origin, stream=STREAM))["token"])["jti"] != claims["jti"]
    with pytest.raises(jwt.InvalidSignatureError):  # signed with the viewer secret, not the admin one
        jwt.decode(body["token"], ADMIN_SECRET, algorithms=["HS256"])


async def test_a_minted_token_plays_its_stream_and_no_other(origin: Origin, media_root: Path) -> None:
    token = (await mint(origin, stream=STREAM))["token"]
    assert await plays(origin, f"/hls/{STREAM}/master.m3u8", token) == 200
    assert await plays(origin, segment(media_root, STREAM), token) == 200
    assert await plays(origin, segment(media_root, STREAM, RENDITIONS[1]), token) == 200
    assert await plays(origin, segment(media_root, OTHER_STREAM), token) == 403


async def test_a_publish_token(origin: Origin, media_root: Path) -> None:
    body = await mint(origin, stream=FMP4_STREAM, type="publish")
    assert body["type"] == "publish"
    assert claims_of(body["token"])["type"] == "publish"
    assert await plays(origin, segment(media_root, FMP4_STREAM, "240p"), body["token"]) == 200  # publish plays


async def test_a_group_token_opens_the_group_members(origin: Origin, media_root: Path) -> None:
    await put_group(origin, "g1", [OTHER_STREAM, FMP4_STREAM])
    body = await mint(origin, group="g1")
    assert set(body) == {"token", "type", "group", "expires_at"}
    assert body["group"] == "g1"
    claims = claims_of(body["token"])
    assert claims["group"] == "g1" and "streamId" not in claims
    assert await plays(origin, segment(media_root, OTHER_STREAM), body["token"]) == 200
    assert await plays(origin, segment(media_root, FMP4_STREAM, "240p"), body["token"]) == 200
    assert await plays(origin, segment(media_root, STREAM), body["token"]) == 403


async def test_a_group_token_needs_an_existing_group(origin: Origin) -> None:
    expect_error(await api(origin, "POST", TOKENS, json={"group": "nope"}), 404, "not_found",
                 says=("'nope'", "PUT /api/v1/groups/nope"))


async def test_a_room_token_carries_roomId_and_opens_the_room(origin: Origin, media_root: Path) -> None:
    shutil.copytree(media_root / STREAM, media_root / "room1-alice")
    shutil.copytree(media_root / STREAM, media_root / "room10-bob")  # another room's participant, by prefix
    await put_room(origin, "room1", [FMP4_STREAM])
    body = await mint(origin, room="room1", type="publish")
    assert set(body) == {"token", "type", "room", "expires_at"}
    assert (body["room"], body["type"]) == ("room1", "publish")
    claims = claims_of(body["token"])
    assert claims["roomId"] == "room1" and "streamId" not in claims and "group" not in claims
    assert await plays(origin, segment(media_root, "room1-alice"), body["token"]) == 200  # a participant
    assert await plays(origin, segment(media_root, FMP4_STREAM, "240p"), body["token"]) == 200  # listed
    assert await plays(origin, segment(media_root, "room10-bob"), body["token"]) == 403
    assert await plays(origin, segment(media_root, STREAM), body["token"]) == 403


@pytest.mark.parametrize(("setup", "says"), [
    (None, ("no room 'room1'", '{"room": true}')),
    (["s1"], ("no room 'room1'", "PUT /api/v1/groups/room1")),  # a plain group is not a room
])
async def test_a_room_token_needs_a_stored_room(origin: Origin, setup: list[str] | None, says: tuple[str, ...]) -> None:
    if setup is not None:
        await put_group(origin, "room1", setup)
    expect_error(await api(origin, "POST", TOKENS, json={"room": "room1"}), 404, "not_found", says=says)


async def test_the_seeds_room_token_from_ant_medias_rest_path(origin: Origin, media_root: Path) -> None:
    """Ant Media's conference room token: a publish token for the room's id, used to publish and to play."""
    shutil.copytree(media_root / STREAM, media_root / "room1-alice")
    shutil.copytree(media_root / STREAM, media_root / "room1")  # the room's own stream
    body = expect_json(await api(origin, "GET", "/rest/v2/broadcasts/room1/jwt-token",
                                 params={"expireDate": str(int(time.time()) + 600), "type": "publish"}))
    token = body["tokenId"]
    assert claims_of(token)["streamId"] == "room1"
    assert await plays(origin, segment(media_root, "room1-alice"), token) == 403  # no room stored: a stream id
    assert await plays(origin, segment(media_root, "room1"), token) == 200
    await put_room(origin, "room1", [])
    assert await plays(origin, segment(media_root, "room1-alice"), token) == 200  # the same token, now a room's
    assert await plays(origin, segment(media_root, "room1"), token) == 200
    assert await plays(origin, segment(media_root, STREAM), token) == 403
    await put_group(origin, "room1", [])  # no longer a room: the participant is out again
    assert await plays(origin, segment(media_root, "room1-alice"), token) == 403


@pytest.mark.parametrize("ttl", [1, 60, 3600.0, DEFAULT_MAX_TOKEN_TTL])
async def test_ttl_sets_the_expiry(origin: Origin, ttl: float) -> None:
    body = await mint(origin, stream=STREAM, ttl=ttl)
    claims = claims_of(body["token"])
    assert claims["exp"] - claims["iat"] == ttl == body["expires_at"] - claims["iat"]


async def test_expires_at_sets_the_exact_expiry(origin: Origin) -> None:
    expires_at = int(time.time()) + 120
    body = await mint(origin, stream=STREAM, expires_at=expires_at)
    assert body["expires_at"] == claims_of(body["token"])["exp"] == expires_at


BadBody = Callable[[int], Any]
BAD_BODIES: list[tuple[BadBody, str]] = [
    (lambda now: {"stream": STREAM, "ttl": 0}, "already expired"),
    (lambda now: {"stream": STREAM, "ttl": -60}, "already expired"),
    (lambda now: {"stream": STREAM, "ttl": DEFAULT_MAX_TOKEN_TTL + 1}, "longer than the allowed 604800 s"),
    (lambda now: {"stream": STREAM, "ttl": 1.5}, "ttl must be a whole number"),
    (lambda now: {"stream": STREAM, "ttl": True}, "ttl must be a whole number"),
    (lambda now: {"stream": STREAM, "ttl": "60"}, "ttl must be a whole number"),
    (lambda now: {"stream": STREAM, "ttl": None}, "ttl must be a whole number"),
    (lambda now: {"stream": STREAM, "expires_at": now - 10}, "expires_at gives a token that is already expired"),
    (lambda now: {"stream": STREAM, "expires_at": now + DEFAULT_MAX_TOKEN_TTL + 60}, "expires_at gives a token "
                                                                                     "living longer"),
    (lambda now: {"stream": STREAM, "expires_at": str(now + 60)}, "expires_at must be a whole number"),
    (lambda now: {"stream": STREAM, "ttl": 60, "expires_at": now + 60}, '"ttl" or "expires_at", not both'),
    (lambda now: {"stream": STREAM, "expiresAt": now + 60}, "unknown field 'expiresAt'"),
    (lambda now: {"streamId": STREAM}, "unknown field 'streamId'"),
    (lambda now: {"stream": STREAM, "type": "admin"}, 'type must be "play" or "publish"'),
    (lambda now: {"stream": STREAM, "type": "PLAY"}, 'type must be "play" or "publish"'),
    (lambda now: {"stream": STREAM, "type": None}, 'type must be "play" or "publish"'),
    (lambda now: {}, 'exactly one of "stream", "group" or "room"'),
    (lambda now: {"type": "play", "ttl": 60}, 'exactly one of "stream", "group" or "room"'),
    (lambda now: {"stream": STREAM, "group": "g1"}, 'exactly one of "stream", "group" or "room"'),
    (lambda now: {"stream": STREAM, "room": "r1"}, 'exactly one of "stream", "group" or "room"'),
    (lambda now: {"room": "r.1"}, "1-64 letters"),
    (lambda now: {"room": 7}, "1-64 letters"),
    (lambda now: {"stream": "a/b"}, "1-64 letters"),
    (lambda now: {"stream": "a" * 65}, "1-64 letters"),
    (lambda now: {"stream": ""}, "1-64 letters"),
    (lambda now: {"stream": 5}, "1-64 letters"),
    (lambda now: {"group": ["g1"]}, "1-64 letters"),
    (lambda now: [{"stream": STREAM}], "must be a JSON object"),
    (lambda now: "s1", "must be a JSON object"),
    (lambda now: None, "must be a JSON object"),
]


@pytest.mark.parametrize(("make_body", "message"), BAD_BODIES)
async def test_bad_token_requests_are_refused(origin: Origin, make_body: BadBody, message: str) -> None:
    reply = await api(origin, "POST", TOKENS, json=make_body(int(time.time())))
    expect_error(reply, 400, "bad_request", says=(message,))


@pytest.mark.parametrize("raw", [b"", b"not json", b"{'stream': 's1'}", b'{"stream": "s1"', b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_refused(origin: Origin, raw: bytes) -> None:
    reply = await api(origin, "POST", TOKENS, data=raw, headers={**bearer(), "Content-Type": "application/json"})
    expect_error(reply, 400, "bad_request", says=("must be a JSON object",))


async def test_a_huge_body_is_refused(origin: Origin) -> None:
    expect_error(await api(origin, "POST", TOKENS, data=b" " * (65 * 1024)), 413, "payload_too_large")


async def test_minting_needs_the_viewer_signing_secret(start_origin: StartOrigin, media_root: Path,
                                                       tmp_path: Path) -> None:
    """A server that only checks tokens signed elsewhere (a public key) cannot mint: 503, not a broken token."""
    pem = tmp_path / "viewer.pem"
    pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = load_settings({"media_root": str(media_root), "state_dir": str(tmp_path / "state")},
                             {"HLSGATE_JWT_PUBLIC_KEYS": str(pem), "HLSGATE_ADMIN_SECRET": ADMIN_SECRET})
    origin = await start_origin(settings)
    expect_error(await api(origin, "POST", TOKENS, json={"stream": STREAM}), 503, "not_configured",
                 says=("HLSGATE_JWT_SECRET",))
    reply = await api(origin, "GET", ANT_MEDIA, params={"expireDate": str(int(time.time()) + 60), "type": "play"})
    expect_error(reply, 503, "not_configured", says=("HLSGATE_JWT_SECRET",))
    expect_json(await api(origin, "GET", GROUPS))  # the rest of the API works


# -- GET /rest/v2/broadcasts/{streamId}/jwt-token (Ant Media's getJwtTokenV2) ------------------------------


async def test_ant_media_form_with_the_bare_authorization_header(origin: Origin, media_root: Path) -> None:
    expire = int(time.time()) + 600
    reply = await api(origin, "GET", ANT_MEDIA, params={"expireDate": str(expire), "type": "play"},
                      headers={"Authorization": make_admin_token()})
    body = expect_json(reply)
    assert reply.headers["Cache-Control"] == "no-store"
    assert set(body) == {"tokenId", "streamId", "expireDate", "type"}
    assert (body["streamId"], body["expireDate"], body["type"]) == (STREAM, expire, "play")
    claims = claims_of(body["tokenId"])
    assert (claims["type"], claims["streamId"], claims["exp"]) == ("play", STREAM, expire)
    assert await plays(origin, segment(media_root, STREAM), body["tokenId"]) == 200
    assert await plays(origin, segment(media_root, OTHER_STREAM), body["tokenId"]) == 403


async def test_ant_media_form_publish_with_a_bearer_header(origin: Origin) -> None:
    expire = int(time.time()) + 60
    body = expect_json(await api(origin, "GET", f"/rest/v2/broadcasts/{OTHER_STREAM}/jwt-token",
                                 params={"expireDate": str(expire), "type": "publish"}))
    assert (body["streamId"], body["type"]) == (OTHER_STREAM, "publish")
    assert claims_of(body["tokenId"])["type"] == "publish"


AntQuery = Callable[[int], dict[str, str]]


@pytest.mark.parametrize(("make_query", "message"), [
    (lambda now: {"type": "play"}, "expireDate is required"),
    (lambda now: {"expireDate": "", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": "soon", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": f"{now + 60}.0", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": f"+{now + 60}", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": f" {now + 60}", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": f"{now + 60:_}", "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": "9" * 5000, "type": "play"}, "expireDate must be a unix timestamp"),
    (lambda now: {"expireDate": str(now - 60), "type": "play"}, "already expired"),
    (lambda now: {"expireDate": str(now + DEFAULT_MAX_TOKEN_TTL + 60), "type": "play"}, "living longer"),
    (lambda now: {"expireDate": str(now + 60)}, 'type must be "play" or "publish"'),
    (lambda now: {"expireDate": str(now + 60), "type": "admin"}, 'type must be "play" or "publish"'),
])
async def test_ant_media_form_refuses_bad_parameters(origin: Origin, make_query: AntQuery, message: str) -> None:
    reply = await api(origin, "GET", ANT_MEDIA, params=make_query(int(time.time())))
    expect_error(reply, 400, "bad_request", says=(message,))


# -- groups --------------------------------------------------------------------------------------------------


async def test_group_lifecycle(origin: Origin) -> None:
    assert expect_json(await api(origin, "GET", GROUPS)) == {"groups": {}, "rooms": []}
    reply = await api(origin, "PUT", "/api/v1/groups/g1", json={"streams": [OTHER_STREAM, STREAM, OTHER_STREAM]})
    assert expect_json(reply) == {"group": "g1", "streams": [STREAM, OTHER_STREAM], "room": False}  # sorted, once
    assert reply.headers["Cache-Control"] == "no-store"
    assert expect_json(await api(origin, "GET", "/api/v1/groups/g1")) == {
        "group": "g1", "streams": [STREAM, OTHER_STREAM], "room": False}
    await put_group(origin, "g2", [])
    reply = await api(origin, "PUT", "/api/v1/groups/g1", json={"streams": [FMP4_STREAM]})
    assert expect_json(reply) == {"group": "g1", "streams": [FMP4_STREAM], "room": False}  # replaced, not merged
    assert expect_json(await api(origin, "GET", GROUPS)) == {"groups": {"g1": [FMP4_STREAM], "g2": []}, "rooms": []}
    reply = await api(origin, "DELETE", "/api/v1/groups/g1")
    assert (reply.status, reply.body) == (204, b"")
    expect_error(await api(origin, "GET", "/api/v1/groups/g1"), 404, "not_found", says=("'g1'",))
    expect_error(await api(origin, "DELETE", "/api/v1/groups/g1"), 404, "not_found", says=("'g1'",))
    assert expect_json(await api(origin, "GET", GROUPS)) == {"groups": {"g2": []}, "rooms": []}


async def test_room_lifecycle(origin: Origin) -> None:
    reply = await api(origin, "PUT", "/api/v1/groups/room1", json={"room": True})  # a room needs no streams
    assert expect_json(reply) == {"group": "room1", "streams": [], "room": True}
    reply = await api(origin, "PUT", "/api/v1/groups/room2", json={"streams": [STREAM], "room": True})
    assert expect_json(reply) == {"group": "room2", "streams": [STREAM], "room": True}
    await put_group(origin, "g1", [STREAM])
    assert expect_json(await api(origin, "GET", "/api/v1/groups/room2")) == {
        "group": "room2", "streams": [STREAM], "room": True}
    assert expect_json(await api(origin, "GET", GROUPS)) == {
        "groups": {"g1": [STREAM], "room1": [], "room2": [STREAM]}, "rooms": ["room1", "room2"]}
    reply = await api(origin, "PUT", "/api/v1/groups/room2", json={"streams": [STREAM], "room": False})
    assert expect_json(reply)["room"] is False  # replaced whole, kind too
    assert (await api(origin, "DELETE", "/api/v1/groups/room1")).status == 204
    assert expect_json(await api(origin, "GET", GROUPS))["rooms"] == []


@pytest.mark.parametrize(("payload", "message"), [
    ({}, '{"streams": ["stream-id", ...]}'),
    ({"members": [STREAM]}, '{"streams": ["stream-id", ...]}'),
    ({"streams": [STREAM], "name": "g1"}, '{"streams": ["stream-id", ...]}'),
    ({"room": False}, '{"room": true}'),
    ({"room": "true"}, '"room": true'),
    ({"room": 1}, '"room": true'),
    ({"streams": [], "room": None}, '"room": true'),
    ({"room": True, "streams": "s1"}, "streams must be a list"),
    ({"streams": STREAM}, "streams must be a list"),
    ({"streams": {STREAM: True}}, "streams must be a list"),
    ({"streams": None}, "streams must be a list"),
    ({"streams": ["bad id"]}, "invalid stream id 'bad id'"),
    ({"streams": [STREAM, "../etc"]}, "invalid stream id '../etc'"),
    ({"streams": ["a" * 65]}, "invalid stream id"),
    ({"streams": [""]}, "invalid stream id"),
    ({"streams": [7]}, "invalid stream id int"),
    ([STREAM], "must be a JSON object"),
])
async def test_put_group_validates_the_body(origin: Origin, payload: Any, message: str) -> None:
    reply = await api(origin, "PUT", "/api/v1/groups/g1", json=payload)
    expect_error(reply, 400, "bad_request", says=(message,))
    assert expect_json(await api(origin, "GET", GROUPS)) == {"groups": {}, "rooms": []}  # nothing was stored


@pytest.mark.parametrize("path", ["/api/v1/groups/bad.id", "/api/v1/groups/" + "a" * 65, "/api/v1/groups/a%20b"])
async def test_invalid_group_ids_in_the_path_match_no_route(origin: Origin, path: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        expect_error(await api(origin, method, path, json={"streams": []}), 404, "not_found")


async def test_a_group_token_follows_the_group_as_it_changes(origin: Origin, media_root: Path) -> None:
    await put_group(origin, "g1", [STREAM, OTHER_STREAM])
    token = (await mint(origin, group="g1"))["token"]
    first, second = segment(media_root, STREAM), segment(media_root, OTHER_STREAM)
    assert (await plays(origin, first, token), await plays(origin, second, token)) == (200, 200)
    await put_group(origin, "g1", [STREAM])  # the grant is cached; the members are read per request
    assert (await plays(origin, first, token), await plays(origin, second, token)) == (200, 403)
    assert (await api(origin, "DELETE", "/api/v1/groups/g1")).status == 204
    assert (await plays(origin, first, token), await plays(origin, second, token)) == (403, 403)


async def test_groups_survive_a_restart(origin: Origin, start_origin: StartOrigin, media_root: Path) -> None:
    await put_group(origin, "g1", [STREAM, OTHER_STREAM])
    await put_group(origin, "g2", [FMP4_STREAM])
    await put_room(origin, "room1", [])
    shutil.copytree(media_root / STREAM, media_root / "room1-alice")
    token = (await mint(origin, group="g1"))["token"]
    room_token = (await mint(origin, room="room1"))["token"]
    restarted = await start_origin(origin.settings)
    assert expect_json(await api(restarted, "GET", GROUPS)) == {
        "groups": {"g1": [STREAM, OTHER_STREAM], "g2": [FMP4_STREAM], "room1": []}, "rooms": ["room1"]}
    assert await plays(restarted, segment(media_root, OTHER_STREAM), token) == 200
    assert await plays(restarted, segment(media_root, "room1-alice"), room_token) == 200


async def test_the_groups_file_is_replaced_atomically(origin: Origin) -> None:
    for i in range(5):
        await put_group(origin, f"g{i}", [STREAM])
    assert (await api(origin, "DELETE", "/api/v1/groups/g0")).status == 204
    state_dir = origin.settings.state_dir
    assert sorted(p.name for p in state_dir.iterdir()) == [GROUPS_FILE]  # no temporary file left behind
    data = json.loads((state_dir / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data == {"version": 1, "groups": {f"g{i}": [STREAM] for i in range(1, 5)}}


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe\x00", b'{"version": 1, "groups": {"g": "s1"}}',
                                     b'{"version": 1, "groups": {"bad id": []}}', b'{"version": 9, "groups": {}}'])
def test_a_damaged_groups_file_stops_the_server_and_is_kept(media_root: Path, tmp_path: Path,
                                                             content: bytes) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / GROUPS_FILE).write_bytes(content)
    with pytest.raises(ConfigError, match=f"groups file .*{GROUPS_FILE} is damaged"):
        create_app(settings_for(media_root, state_dir))
    assert (state_dir / GROUPS_FILE).read_bytes() == content
    assert sorted(p.name for p in state_dir.iterdir()) == [GROUPS_FILE]


# -- GET /api/v1/streams -------------------------------------------------------------------------------------


async def test_streams_lists_published_streams_with_renditions_and_groups(origin: Origin,
                                                                          media_root: Path) -> None:
    shutil.copytree(media_root / STREAM, media_root / ".hidden")  # dot dirs are never streams
    shutil.copytree(media_root / STREAM, media_root / "bad.name")  # not a stream id
    (media_root / "half-published").mkdir()  # no master playlist yet
    (media_root / "half-published" / "360p").mkdir()
    (media_root / "file-not-dir").write_text("#EXTM3U\n", encoding="utf-8")
    await put_group(origin, "g1", [STREAM, "not-published"])
    await put_group(origin, "g2", [STREAM, FMP4_STREAM])
    reply = await api(origin, "GET", STREAMS)
    body = expect_json(reply)
    assert reply.headers["Cache-Control"] == "no-store"
    streams = {s["id"]: s for s in body["streams"]}
    assert [s["id"] for s in body["streams"]] == [FMP4_STREAM, STREAM, OTHER_STREAM]
    assert streams[STREAM]["groups"] == ["g1", "g2"]
    assert streams[OTHER_STREAM]["groups"] == []
    assert streams[FMP4_STREAM]["groups"] == ["g2"]
    for stream_id, names in ((STREAM, list(RENDITIONS)), (OTHER_STREAM, list(RENDITIONS)),
                             (FMP4_STREAM, ["240p"])):
        stream = streams[stream_id]
        assert stream["master"] == f"/hls/{stream_id}/master.m3u8"
        assert abs(stream["updated_at"] - time.time()) < 24 * 3600
        assert [r["name"] for r in stream["renditions"]] == names
        for rendition in stream["renditions"]:
            assert rendition["playlist"] == f"/hls/{stream_id}/{rendition['name']}/index.m3u8"
            assert isinstance(rendition["bandwidth"], int) and rendition["bandwidth"] > 0
            width, height = map(int, rendition["resolution"].split("x"))
            assert height == int(rendition["name"].removesuffix("p")) and width > height
            assert "avc1." in rendition["codecs"]


async def test_streams_of_an_empty_media_root(start_origin: StartOrigin, tmp_path: Path) -> None:
    empty = tmp_path / "empty-root"
    empty.mkdir()
    origin = await start_origin(settings_for(empty, tmp_path / "state2"))
    assert expect_json(await api(origin, "GET", STREAMS)) == {"streams": []}


# -- admin authentication ------------------------------------------------------------------------------------


def _admin_claims_token(**claims: Any) -> str:
    return jwt.encode(claims, ADMIN_SECRET, algorithm="HS256")


UNAUTHORIZED: list[tuple[str, Callable[[], dict[str, str]], str]] = [
    ("no header", lambda: {}, "token_missing"),
    ("garbage", lambda: bearer("not.a.jwt"), "token_invalid"),
    ("basic auth", lambda: {"Authorization": "Basic YWRtaW46YWRtaW4="}, "token_invalid"),
    ("viewer play token", lambda: bearer(make_token()), "token_invalid"),
    ("admin claims, viewer secret", lambda: bearer(make_admin_token(SECRET)), "token_invalid"),
    ("expired admin token", lambda: bearer(_admin_claims_token(type="admin", iat=int(time.time()) - 200,
                                                               exp=int(time.time()) - 100)), "token_expired"),
    ("lives longer than 300 s", lambda: bearer(make_admin_token(ttl=301)), "token_invalid"),
    ("no iat", lambda: bearer(_admin_claims_token(type="admin", exp=int(time.time()) + 60)), "token_invalid"),
    ("no exp", lambda: bearer(_admin_claims_token(type="admin", iat=int(time.time()))), "token_invalid"),
    ("play type under the admin secret", lambda: bearer(make_admin_token(type="play", streamId=STREAM)),
     "token_invalid"),
    ("no exp, Ant Media's REST example as it stands", lambda: bearer(_admin_claims_token(sub="token",
                                                                                     iat=int(time.time()))),
     "token_invalid"),
    ("admin-signed play token without stream", lambda: bearer(make_admin_token(type="play")), "token_invalid"),
    ("alg none", lambda: bearer(jwt.encode({"type": "admin", "iat": int(time.time()),
                                            "exp": int(time.time()) + 60}, "", algorithm="none")),
     "token_invalid"),
]


@pytest.mark.parametrize(("case", "headers", "code"), UNAUTHORIZED, ids=[c[0] for c in UNAUTHORIZED])
async def test_the_api_refuses_bad_admin_tokens(origin: Origin, case: str, headers: Callable[[], dict[str, str]],
                                               code: str) -> None:
    sent = headers()
    reply = await api(origin, "GET", GROUPS, headers=sent)
    expect_error(reply, 401, code, *sent.values())
    assert reply.headers["WWW-Authenticate"].startswith('Bearer realm="hlsgate", error="invalid_token"')


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_every_api_route_needs_an_admin_token(origin: Origin, method: str, path: str) -> None:
    await put_group(origin, "g1", [STREAM])  # so that only the missing token can fail the request
    expect_error(await api(origin, method, path, headers={}, json={"stream": STREAM}), 401, "token_missing")
    admin = make_admin_token()
    reply = await api(origin, method, path, headers={}, token=admin, json={"stream": STREAM})
    expect_error(reply, 401, "token_missing", admin)  # an admin token in the URL is not read
    assert expect_json(await api(origin, "GET", GROUPS)) == {"groups": {"g1": [STREAM]}, "rooms": []}  # unchanged


async def test_a_viewer_token_signed_with_the_admin_secret_is_refused(origin: Origin) -> None:
    now = int(time.time())
    token = make_token(ADMIN_SECRET, exp=now + 60)  # a well-formed play token, but admin keys sign admin tokens only
    reply = await api(origin, "POST", TOKENS, headers=bearer(token), json={"stream": STREAM})
    expect_error(reply, 401, "token_invalid", token, says=("type must be admin or absent",))


async def test_an_opentok_style_admin_token_is_accepted(origin: Origin) -> None:
    now = int(time.time())
    # The seed's claims, no type. pyjwt will not encode a numeric iss, so the payload is serialised here.
    payload = json.dumps({"iss": 12345, "ist": "project", "iat": now, "exp": now + 180}).encode()
    token = jwt.api_jws.encode(payload, ADMIN_SECRET, algorithm="HS256")
    body = expect_json(await api(origin, "POST", TOKENS, headers=bearer(token), json={"stream": STREAM}), 201)
    assert claims_of(body["token"])["streamId"] == STREAM


async def test_admin_tokens_work_in_either_header_form(origin: Origin) -> None:
    token = make_admin_token()
    for headers in ({"Authorization": f"Bearer {token}"}, {"Authorization": f"bearer {token}"},
                    {"Authorization": token}):
        reply = await api(origin, "GET", STREAMS, headers=headers)
        assert reply.status == 200, (headers, reply.text)


async def test_the_api_is_off_without_an_admin_secret(start_origin: StartOrigin, media_root: Path,
                                                      tmp_path: Path) -> None:
    settings = load_settings({"media_root": str(media_root), "state_dir": str(tmp_path / "state")},
                             {"HLSGATE_JWT_SECRET": SECRET})
    assert not settings.admin.configured
    origin = await start_origin(settings)
    for method, path in ADMIN_ROUTES:
        expect_error(await api(origin, method, path, json={"stream": STREAM}), 503, "not_configured",
                     says=("the REST API is off", "HLSGATE_ADMIN_SECRET"))
    assert (await fetch(origin, "/api/v1/openapi.json")).status == 200
    assert await plays(origin, segment(media_root, STREAM), make_token()) == 200  # playback is unaffected
