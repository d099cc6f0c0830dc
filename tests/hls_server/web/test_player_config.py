"""``GET /api/v1/player-config`` over real HTTP: the H5Live shape, who may get one, and every refusal. The pure
builder is tested in ``core/test_player_config.py``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from yarl import URL

from ..conftest import (
    ADMIN_SECRET,
    FMP4_STREAM,
    OTHER_SECRET,
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
from ..http import ECHO_WINDOW, bearer, expect_error, expect_json, fetch, put_group, put_room

CONFIG = "/api/v1/player-config"
GROUP = "g1"
CLOCK_SLACK = 5


def group_token(group: str = GROUP, **claims: Any) -> str:
    return make_token(group=group, omit=("streamId",), **claims)


@pytest.fixture
async def grouped(origin: Origin) -> Origin:
    await put_group(origin, GROUP, [STREAM, OTHER_STREAM])
    return origin


# -- the shape -----------------------------------------------------------------------------------------------


async def test_group_token_gets_the_h5live_config_carrying_that_token(grouped: Origin) -> None:
    exp = int(time.time()) + 900
    token = group_token(exp=exp)
    reply = await fetch(grouped, CONFIG, params={"group": GROUP}, headers=bearer(token))
    config = expect_json(reply)
    assert reply.headers["Cache-Control"] == "no-store" and reply.headers["Referrer-Policy"] == "no-referrer"
    source = config["source"]
    assert source["group"] == {"id": GROUP, "security": {"jwtoken": token}}
    assert "stream" not in source
    base = grouped.url("").rstrip("/")
    assert source["streams"] == [
        {"id": STREAM, "master": f"{base}/hls/{STREAM}/master.m3u8", "entries": [0, 1], "live": False},
        {"id": OTHER_STREAM, "master": f"{base}/hls/{OTHER_STREAM}/master.m3u8", "entries": [2, 3], "live": False},
    ]
    assert [(e["index"], e["stream"], e["label"]) for e in source["entries"]] == [
        (0, STREAM, "360p"), (1, STREAM, "240p"), (2, OTHER_STREAM, "360p"), (3, OTHER_STREAM, "240p")]
    first = source["entries"][0]
    assert first["info"]["width"] == 640 and first["info"]["height"] == 360
    assert first["info"]["framerate"] == 25
    assert 50 < first["info"]["bitrate"] < 5000  # kbps, measured from the segments
    assert first["info"]["codecs"].startswith("avc1.")
    assert source["entries"][1]["info"]["height"] == 240
    assert first["h5live"] == {"server": {"hls": f"{base}/hls/{STREAM}/360p/index.m3u8"},
                               "security": {"jwtoken": token}}
    assert source["startIndex"] == 0
    assert config["playback"] == {"autoplay": True, "automute": True, "muted": True}
    assert config["style"] == {"displayMutedAutoplay": True}
    security = config["security"]
    assert security["expiresAt"] == exp
    assert abs(security["serverTime"] - time.time()) < CLOCK_SLACK
    assert security["renewBefore"] == 60 and security["renewUrl"] is None


async def test_the_urls_in_a_config_play_with_its_token(grouped: Origin) -> None:
    config = expect_json(await fetch(grouped, CONFIG, params={"group": GROUP}, headers=bearer(group_token())))
    token = config["source"]["group"]["security"]["jwtoken"]
    urls = [s["master"] for s in config["source"]["streams"]]
    urls += [e["h5live"]["server"]["hls"] for e in config["source"]["entries"]]
    for url in urls:
        assert "token" not in url  # the player adds it; the origin carries it on
        playlist = await fetch(grouped, URL(url), token=token)
        assert playlist.status == 200, (url, playlist.text)
        uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
        assert uris and all("token=" in uri for uri in uris)
        expect_error(await fetch(grouped, URL(url)), 401, "token_missing")


async def test_the_token_may_come_in_the_query(grouped: Origin) -> None:
    token = group_token()
    config = expect_json(await fetch(grouped, CONFIG, params={"group": GROUP}, token=token))
    assert config["source"]["group"]["security"]["jwtoken"] == token


async def test_stream_token_gets_a_stream_config(origin: Origin) -> None:
    token = make_token()
    config = expect_json(await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(token)))
    assert config["source"]["stream"] == {"id": STREAM, "security": {"jwtoken": token}}
    assert "group" not in config["source"]
    assert [e["label"] for e in config["source"]["entries"]] == list(RENDITIONS)
    assert [s["id"] for s in config["source"]["streams"]] == [STREAM]


async def test_fmp4_stream_config(origin: Origin) -> None:
    token = make_token(streamId=FMP4_STREAM)
    reply = await fetch(origin, CONFIG, params={"stream": FMP4_STREAM}, headers=bearer(token))
    assert [e["label"] for e in expect_json(reply)["source"]["entries"]] == ["240p"]


async def test_group_token_gets_the_config_of_a_stream_in_its_group(grouped: Origin) -> None:
    token = group_token()
    config = expect_json(await fetch(grouped, CONFIG, params={"stream": OTHER_STREAM}, headers=bearer(token)))
    assert config["source"]["stream"]["security"]["jwtoken"] == token
    reply = await fetch(grouped, CONFIG, params={"stream": FMP4_STREAM}, headers=bearer(token))
    expect_error(reply, 403, "forbidden", token, says=("stream",))


async def test_a_group_lists_only_its_published_members(origin: Origin) -> None:
    await put_group(origin, GROUP, [STREAM, "not-yet-live"])
    config = expect_json(await fetch(origin, CONFIG, params={"group": GROUP}, headers=bearer(group_token())))
    assert [s["id"] for s in config["source"]["streams"]] == [STREAM]
    await put_group(origin, "empty", [])
    reply = await fetch(origin, CONFIG, params={"group": "empty"}, headers=bearer(group_token("empty")))
    config = expect_json(reply)
    assert config["source"]["entries"] == [] and config["source"]["streams"] == []


async def test_token_without_exp_gives_no_expiry(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"auth.require_exp": False})
    reply = await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(make_token(omit=("exp",))))
    assert expect_json(reply)["security"]["expiresAt"] is None


# -- rooms ---------------------------------------------------------------------------------------------------

ROOM = "room1"
ROOM_DISK = ("room1", "room1-alice", "room1-bob-cam", "room1-", "room10-x", "Room1-x")
"""Streams on disk: the room's own id, two participants, and three that only look like participants."""
ROOM_LISTING = [FMP4_STREAM, "room1", "room1-alice", "room1-bob-cam", "room1-live"]
"""The room's config: its listed stream (published), then its own id and its participants, by id."""


@pytest.fixture
async def roomed(origin: Origin, media_root: Path) -> Origin:
    for name in ROOM_DISK:
        shutil.copytree(media_root / STREAM, media_root / name)
    shutil.copytree(media_root / STREAM / RENDITIONS[0], media_root / "room1-live")  # one rendition: index.m3u8
    await put_room(origin, ROOM, [FMP4_STREAM, "not-published"])
    return origin


ROOM_TOKENS = {
    "roomId": lambda: make_token(roomId=ROOM, omit=("streamId",)),
    "streamId naming the room": lambda: make_token(streamId=ROOM),
    "group naming the room": lambda: make_token(group=ROOM, omit=("streamId",)),
}


@pytest.mark.parametrize("param", ["room", "group"])
@pytest.mark.parametrize("make", ROOM_TOKENS.values(), ids=ROOM_TOKENS.keys())
async def test_a_rooms_config_lists_its_streams_and_participants(roomed: Origin, make: Any, param: str) -> None:
    token = make()
    config = expect_json(await fetch(roomed, CONFIG, params={param: ROOM}, headers=bearer(token)))
    source = config["source"]
    assert source["group"] == {"id": ROOM, "security": {"jwtoken": token}, "room": True}
    assert [s["id"] for s in source["streams"]] == ROOM_LISTING
    assert all(s["live"] is False for s in source["streams"])  # copies on disk: none is being published
    base = roomed.url("").rstrip("/")
    masters = {s["id"]: s["master"] for s in source["streams"]}
    assert masters["room1-alice"] == f"{base}/hls/room1-alice/master.m3u8"
    assert masters["room1-live"] == f"{base}/hls/room1-live/index.m3u8"  # a single rendition at the root
    live_entries = [e for e in source["entries"] if e["stream"] == "room1-live"]
    assert [(e["label"], e["h5live"]["server"]["hls"]) for e in live_entries] == [
        ("index", f"{base}/hls/room1-live/index.m3u8")]
    for url in masters.values():
        assert (await fetch(roomed, URL(url), token=token)).status == 200, url


async def test_a_rooms_config_follows_the_media_root(roomed: Origin, media_root: Path) -> None:
    token = make_token(roomId=ROOM, omit=("streamId",))
    shutil.copytree(media_root / STREAM, media_root / "room1-carol")  # a participant arrives
    shutil.rmtree(media_root / "room1-alice")  # one leaves
    config = expect_json(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(token)))
    assert [s["id"] for s in config["source"]["streams"]] == [FMP4_STREAM, "room1", "room1-bob-cam", "room1-carol",
                                                               "room1-live"]


async def test_a_room_of_a_stored_longer_room_leaves_its_streams_out(roomed: Origin, media_root: Path) -> None:
    shutil.copytree(media_root / STREAM, media_root / "room1-bob-cam2")
    await put_room(origin=roomed, room="room1-bob", streams=[])  # now room1-bob-cam* are room1-bob's
    token = make_token(roomId=ROOM, omit=("streamId",))
    config = expect_json(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(token)))
    assert [s["id"] for s in config["source"]["streams"]] == [FMP4_STREAM, "room1", "room1-alice", "room1-live"]


async def test_an_admin_gets_a_rooms_config_with_a_minted_play_token(roomed: Origin) -> None:
    config = expect_json(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer()))
    token = config["source"]["group"]["security"]["jwtoken"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["type"], claims["group"]) == ("play", ROOM)  # a group claim: deleting the room closes it
    assert [s["id"] for s in config["source"]["streams"]] == ROOM_LISTING
    participant = f"/hls/room1-alice/{RENDITIONS[0]}/index.m3u8"
    assert (await fetch(roomed, participant, token=token)).status == 200


async def test_room_config_refusals(roomed: Origin) -> None:
    publish = make_token(roomId=ROOM, type="publish", omit=("streamId",))
    expect_error(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(publish)), 403, "forbidden",
                 publish, says=("publish token is not handed",))
    other = make_token(roomId="room2", omit=("streamId",))
    expect_error(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(other)), 403, "forbidden", other)
    lookalike = make_token(roomId="room", omit=("streamId",))  # room "room" is not room "room1"
    expect_error(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(lookalike)), 403, "forbidden",
                 lookalike)
    await put_group(roomed, GROUP, [STREAM])
    plain = group_token()
    expect_error(await fetch(roomed, CONFIG, params={"room": GROUP}, headers=bearer(plain)), 404, "not_found", plain,
                 says=("no room 'g1'",))
    expect_error(await fetch(roomed, CONFIG, params={"room": GROUP}, headers=bearer()), 404, "not_found",
                 says=("no room 'g1'",))
    stream_token = make_token(streamId="room1-alice")  # a participant's own stream token is no room token
    expect_error(await fetch(roomed, CONFIG, params={"room": ROOM}, headers=bearer(stream_token)), 403, "forbidden",
                 stream_token)


# -- admin callers -------------------------------------------------------------------------------------------


async def test_admin_gets_a_freshly_minted_play_token(grouped: Origin) -> None:
    config = expect_json(await fetch(grouped, CONFIG, params={"group": GROUP, "ttl": "600"}, headers=bearer()))
    token = config["source"]["group"]["security"]["jwtoken"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["type"] == "play" and claims["group"] == GROUP and "streamId" not in claims
    assert abs(claims["exp"] - (time.time() + 600)) < CLOCK_SLACK
    assert config["security"]["expiresAt"] == claims["exp"]
    assert all(e["h5live"]["security"]["jwtoken"] == token for e in config["source"]["entries"])
    again = expect_json(await fetch(grouped, CONFIG, params={"group": GROUP}, headers=bearer(token)))
    assert again["source"]["group"]["security"]["jwtoken"] == token  # the minted token is a viewer's


async def test_admin_default_ttl_and_stream_scope(origin: Origin) -> None:
    config = expect_json(await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer()))
    claims = jwt.decode(config["source"]["stream"]["security"]["jwtoken"], SECRET, algorithms=["HS256"])
    assert claims["streamId"] == STREAM and claims["type"] == "play"
    assert abs(claims["exp"] - (time.time() + origin.settings.default_token_ttl)) < CLOCK_SLACK


@pytest.mark.parametrize("ttl", ["0", "-5", "1.5", "abc", "", "1e3", "9" * 13, "99999999999"])
async def test_admin_ttl_must_be_sane(origin: Origin, ttl: str) -> None:
    admin = make_admin_token()
    reply = await fetch(origin, CONFIG, params={"stream": STREAM, "ttl": ttl}, headers=bearer(admin))
    expect_error(reply, 400, "bad_request", admin, says=("ttl",))


async def test_admin_config_for_a_missing_group_is_404(origin: Origin) -> None:
    admin = make_admin_token()
    reply = await fetch(origin, CONFIG, params={"group": "nope"}, headers=bearer(admin))
    expect_error(reply, 404, "not_found", admin, says=("nope",))


async def test_admin_token_in_the_url_is_not_an_admin_token(origin: Origin) -> None:
    admin = make_admin_token()
    expect_error(await fetch(origin, CONFIG, params={"stream": STREAM}, token=admin), 401, "token_invalid", admin)


async def test_expired_admin_token_says_expired(origin: Origin) -> None:
    expired = make_admin_token(iat=int(time.time()) - 400, exp=int(time.time()) - 100)
    reply = await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(expired))
    expect_error(reply, 401, "token_expired", expired)


async def test_admin_without_a_signing_secret_gets_503(start_origin: StartOrigin, media_root: Path,
                                                       tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "viewer.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = settings_for(media_root, tmp_path / "state", env={"HLSGATE_JWT_SECRET": ""},
                            **{"auth.public_keys": [str(pem)]})
    origin = await start_origin(settings)
    admin = make_admin_token()
    reply = await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(admin))
    expect_error(reply, 503, "not_configured", admin, says=("signing secret",))
    viewer = jwt.encode({"type": "play", "streamId": STREAM, "exp": int(time.time()) + 60}, key, algorithm="ES256")
    config = expect_json(await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(viewer)))
    assert config["source"]["stream"]["security"]["jwtoken"] == viewer  # tokens signed elsewhere still work


# -- refusals ------------------------------------------------------------------------------------------------


async def test_no_token_never_gets_a_config(grouped: Origin) -> None:
    expect_error(await fetch(grouped, CONFIG, params={"group": GROUP}), 401, "token_missing")
    expect_error(await fetch(grouped, CONFIG, params={"stream": STREAM}), 401, "token_missing")
    missing = await fetch(grouped, CONFIG, params={"group": "missing-group"})
    expect_error(missing, 401, "token_missing")  # the same as for an existing group


@pytest.mark.parametrize(("make", "status", "code"), [
    (lambda: group_token(exp=int(time.time()) - 120), 401, "token_expired"),
    (lambda: group_token(nbf=int(time.time()) + 600), 401, "token_not_yet_valid"),
    (lambda: group_token(secret=OTHER_SECRET), 401, "token_invalid"),
    (lambda: group_token(secret=ADMIN_SECRET), 401, "token_invalid"),  # a viewer token signed with the admin key
    (lambda: group_token("g2"), 403, "forbidden"),
    (lambda: make_token(), 403, "forbidden"),  # a stream token asking for a group
    (lambda: group_token(type="publish"), 403, "forbidden"),
    (lambda: "not.a.jwt", 401, "token_invalid"),
])
async def test_refusals(grouped: Origin, make: Any, status: int, code: str) -> None:
    token = make()
    expect_error(await fetch(grouped, CONFIG, params={"group": GROUP}, headers=bearer(token)), status, code, token)


async def test_publish_token_is_not_handed_to_players(origin: Origin) -> None:
    token = make_token(type="publish")
    reply = await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(token))
    expect_error(reply, 403, "forbidden", token, says=("publish token", "play token"))


async def test_missing_and_forbidden_look_alike_without_the_right_token(grouped: Origin) -> None:
    other = group_token("g2")
    missing = await fetch(grouped, CONFIG, params={"group": "no-such-group"}, headers=bearer(other))
    forbidden = await fetch(grouped, CONFIG, params={"group": GROUP}, headers=bearer(other))
    assert expect_error(missing, 403, "forbidden", other) == expect_error(forbidden, 403, "forbidden", other)


async def test_missing_scope_with_its_own_token_is_404(grouped: Origin) -> None:
    gone = group_token("gone")
    reply = await fetch(grouped, CONFIG, params={"group": "gone"}, headers=bearer(gone))
    expect_error(reply, 404, "not_found", gone)


async def test_a_stream_not_published_yet_gets_a_config_saying_so(grouped: Origin) -> None:
    """A live stream whose encoder has not started: listed without renditions and "live": null, so the player
    says "not live yet" and checks again, rather than "not available"."""
    token = make_token(streamId="unpublished")
    config = expect_json(await fetch(grouped, CONFIG, params={"stream": "unpublished"}, headers=bearer(token)))
    base = grouped.url("").rstrip("/")
    assert config["source"]["streams"] == [
        {"id": "unpublished", "master": f"{base}/hls/unpublished/master.m3u8", "entries": [], "live": None}]
    assert config["source"]["entries"] == []


async def test_two_different_tokens_conflict(grouped: Origin) -> None:
    first, second = group_token(), group_token(jti="x")
    reply = await fetch(grouped, CONFIG, params={"group": GROUP}, token=first, headers=bearer(second))
    expect_error(reply, 401, "token_conflict", first, second)


@pytest.mark.parametrize(("query", "fragment"), [
    ({}, "exactly one of"),
    ({"group": GROUP, "stream": STREAM}, "exactly one of"),
    ({"room": GROUP, "group": GROUP}, "exactly one of"),
    ({"room": "../etc"}, "ids are"),
    ({"group": "../etc"}, "ids are"),
    ({"stream": "a" * 65}, "ids are"),
    ({"group": ""}, "ids are"),
    ({"group": GROUP, "foo": "1"}, "unknown parameter 'foo'"),
])
async def test_bad_parameters(grouped: Origin, query: dict[str, str], fragment: str) -> None:
    token = group_token()
    reply = await fetch(grouped, CONFIG, params=query, headers=bearer(token))
    expect_error(reply, 400, "bad_request", token, says=(fragment,))


async def test_repeated_parameter_is_refused(grouped: Origin) -> None:
    token = group_token()
    reply = await fetch(grouped, f"{CONFIG}?group={GROUP}&group=g2", headers=bearer(token))
    expect_error(reply, 400, "bad_request", token)


async def test_a_viewer_cannot_choose_a_ttl(grouped: Origin) -> None:
    token = group_token()
    reply = await fetch(grouped, CONFIG, params={"group": GROUP, "ttl": "99999"}, headers=bearer(token))
    expect_error(reply, 400, "bad_request", token, says=("admin",))


# -- settings that shape the config ----------------------------------------------------------------------------


async def test_public_url_and_renew_url(start_origin: StartOrigin) -> None:
    origin = await start_origin(public_url="https://video.example.com/origin/",
                                **{"player.renew_url": "https://www.example.com/hls-token",
                                   "player.renew_before": 30})
    config = expect_json(await fetch(origin, CONFIG, params={"stream": STREAM}, headers=bearer(make_token())))
    assert config["source"]["streams"][0]["master"] == f"https://video.example.com/origin/hls/{STREAM}/master.m3u8"
    assert config["source"]["entries"][0]["h5live"]["server"]["hls"].startswith("https://video.example.com/origin/")
    assert config["security"]["renewUrl"] == "https://www.example.com/hls-token"
    assert config["security"]["renewBefore"] == 30


async def test_without_auth_the_config_carries_no_token(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"auth.play": False})
    config = expect_json(await fetch(origin, CONFIG, params={"stream": STREAM}))
    assert config["source"]["stream"] == {"id": STREAM, "security": {}}
    assert config["security"]["expiresAt"] is None
    expect_error(await fetch(origin, CONFIG, params={"stream": STREAM, "ttl": "60"}), 400, "bad_request",
                 says=("no-auth",))


async def test_cors_for_a_host_page_on_another_origin(start_origin: StartOrigin) -> None:
    origin = await start_origin(cors_origins=["https://www.example.com"])
    page = {"Origin": "https://www.example.com"}
    preflight = await fetch(origin, CONFIG, method="OPTIONS", headers={
        **page, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    reply = await fetch(origin, CONFIG, params={"stream": STREAM}, headers={**page, **bearer(make_token())})
    assert reply.status == 200 and reply.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    reply = await fetch(origin, CONFIG, params={"stream": STREAM},
                        headers={"Origin": "https://evil.example", **bearer(make_token())})
    assert "Access-Control-Allow-Origin" not in reply.headers
    listing = await fetch(origin, "/api/v1/streams", headers={**page, **bearer()})
    assert "Access-Control-Allow-Origin" not in listing.headers  # never on the admin API


@pytest.mark.parametrize(("authorization", "code"), [
    ("Bearer", "token_missing"), ("Bearer ", "token_missing"), ("Basic dXNlcjpwYXNz", "token_invalid"),
    ("Bearer a.b.c", "token_invalid"), ("Bearer " + "A" * 5000, "token_too_large"),
    ("Bearer eyJhbGciOiJub25lIn0.eyJ0eXBlIjoicGxheSIsImdyb3VwIjoiZzEifQ.", "token_invalid"),
    ("Bearer \u00e9t\u00e9", "token_invalid"), ("Bearer ..", "token_invalid"), ("Bearer a b", "token_invalid"),
])
async def test_garbage_authorization_is_a_clean_401(grouped: Origin, authorization: str, code: str) -> None:
    reply = await fetch(grouped, CONFIG, params={"group": GROUP}, auth=authorization)
    sent = authorization.removeprefix("Bearer ")
    expect_error(reply, 401, code, *([sent] if len(sent) >= ECHO_WINDOW else []))  # not "Bearer" of the challenge
