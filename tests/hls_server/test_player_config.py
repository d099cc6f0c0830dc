"""``GET /api/v1/player-config`` over real HTTP: the H5Live shape, who may get one, and every refusal."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hls_server.core.player_config import player_config

from .conftest import (
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

CONFIG = "/api/v1/player-config"
GROUP = "g1"
CLOCK_SLACK = 5


async def fetch(origin: Origin, query: Mapping[str, str], *, token: str | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, Any, Mapping[str, str]]:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    async with await origin.get(CONFIG, params=query, headers=all_headers) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None, response.headers


async def make_group(origin: Origin, group: str, streams: list[str]) -> None:
    async with origin.session.put(origin.url(f"/api/v1/groups/{group}"), json={"streams": streams},
                                  headers={"Authorization": f"Bearer {make_admin_token()}"}) as response:
        assert response.status == 200, await response.text()


def group_token(group: str = GROUP, **claims: Any) -> str:
    return make_token(group=group, omit=("streamId",), **claims)


def assert_error(answer: tuple[int, Any, Mapping[str, str]], status: int, code: str, *fragments: str) -> None:
    got_status, body, headers = answer
    assert (got_status, body["error"]) == (status, code), body
    for fragment in fragments:
        assert fragment in body["error_description"]
    assert headers["Cache-Control"] == "no-store"


@pytest.fixture
async def grouped(origin: Origin) -> Origin:
    await make_group(origin, GROUP, [STREAM, OTHER_STREAM])
    return origin


# -- the shape -----------------------------------------------------------------------------------------------


async def test_group_token_gets_the_h5live_config_carrying_that_token(grouped: Origin) -> None:
    exp = int(time.time()) + 900
    token = group_token(exp=exp)
    status, config, headers = await fetch(grouped, {"group": GROUP}, token=token)
    assert status == 200, config
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    source = config["source"]
    assert source["group"] == {"id": GROUP, "security": {"jwtoken": token}}
    assert "stream" not in source
    base = grouped.url("").rstrip("/")
    assert source["streams"] == [
        {"id": STREAM, "master": f"{base}/hls/{STREAM}/master.m3u8", "entries": [0, 1]},
        {"id": OTHER_STREAM, "master": f"{base}/hls/{OTHER_STREAM}/master.m3u8", "entries": [2, 3]},
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
    status, config, _ = await fetch(grouped, {"group": GROUP}, token=group_token())
    assert status == 200
    token = config["source"]["group"]["security"]["jwtoken"]
    urls = [s["master"] for s in config["source"]["streams"]]
    urls += [e["h5live"]["server"]["hls"] for e in config["source"]["entries"]]
    for url in urls:
        assert "token" not in url  # the player adds it; the origin carries it on
        async with grouped.session.get(url, params={"token": token}) as response:
            body = await response.text()
            assert response.status == 200, (url, body)
        uris = [line for line in body.splitlines() if line and not line.startswith("#")]
        assert uris and all("token=" in uri for uri in uris)
        async with grouped.session.get(url) as response:
            assert response.status == 401


async def test_the_token_may_come_in_the_query(grouped: Origin) -> None:
    token = group_token()
    status, config, _ = await fetch(grouped, {"group": GROUP, "token": token})
    assert status == 200
    assert config["source"]["group"]["security"]["jwtoken"] == token


async def test_stream_token_gets_a_stream_config(origin: Origin) -> None:
    token = make_token()
    status, config, _ = await fetch(origin, {"stream": STREAM}, token=token)
    assert status == 200, config
    assert config["source"]["stream"] == {"id": STREAM, "security": {"jwtoken": token}}
    assert "group" not in config["source"]
    assert [e["label"] for e in config["source"]["entries"]] == list(RENDITIONS)
    assert [s["id"] for s in config["source"]["streams"]] == [STREAM]


async def test_fmp4_stream_config(origin: Origin) -> None:
    status, config, _ = await fetch(origin, {"stream": FMP4_STREAM}, token=make_token(streamId=FMP4_STREAM))
    assert status == 200
    assert [e["label"] for e in config["source"]["entries"]] == ["240p"]


async def test_group_token_gets_the_config_of_a_stream_in_its_group(grouped: Origin) -> None:
    token = group_token()
    status, config, _ = await fetch(grouped, {"stream": OTHER_STREAM}, token=token)
    assert status == 200
    assert config["source"]["stream"]["security"]["jwtoken"] == token
    assert_error(await fetch(grouped, {"stream": FMP4_STREAM}, token=token), 403, "forbidden", "stream")


async def test_a_group_lists_only_its_published_members(origin: Origin) -> None:
    await make_group(origin, GROUP, [STREAM, "not-yet-live"])
    status, config, _ = await fetch(origin, {"group": GROUP}, token=group_token())
    assert status == 200
    assert [s["id"] for s in config["source"]["streams"]] == [STREAM]
    await make_group(origin, "empty", [])
    status, config, _ = await fetch(origin, {"group": "empty"}, token=group_token("empty"))
    assert status == 200
    assert config["source"]["entries"] == [] and config["source"]["streams"] == []


async def test_token_without_exp_gives_no_expiry(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"auth.require_exp": False})
    status, config, _ = await fetch(origin, {"stream": STREAM}, token=make_token(omit=("exp",)))
    assert status == 200
    assert config["security"]["expiresAt"] is None


# -- admin callers -------------------------------------------------------------------------------------------


async def test_admin_gets_a_freshly_minted_play_token(grouped: Origin) -> None:
    status, config, _ = await fetch(grouped, {"group": GROUP, "ttl": "600"}, token=make_admin_token())
    assert status == 200, config
    token = config["source"]["group"]["security"]["jwtoken"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["type"] == "play" and claims["group"] == GROUP and "streamId" not in claims
    assert abs(claims["exp"] - (time.time() + 600)) < CLOCK_SLACK
    assert config["security"]["expiresAt"] == claims["exp"]
    assert all(e["h5live"]["security"]["jwtoken"] == token for e in config["source"]["entries"])
    status, again, _ = await fetch(grouped, {"group": GROUP}, token=token)  # the minted token is a viewer's
    assert status == 200 and again["source"]["group"]["security"]["jwtoken"] == token


async def test_admin_default_ttl_and_stream_scope(origin: Origin) -> None:
    status, config, _ = await fetch(origin, {"stream": STREAM}, token=make_admin_token())
    assert status == 200
    claims = jwt.decode(config["source"]["stream"]["security"]["jwtoken"], SECRET, algorithms=["HS256"])
    assert claims["streamId"] == STREAM and claims["type"] == "play"
    assert abs(claims["exp"] - (time.time() + origin.settings.default_token_ttl)) < CLOCK_SLACK


@pytest.mark.parametrize("ttl", ["0", "-5", "1.5", "abc", "", "1e3", "9" * 13, "99999999999"])
async def test_admin_ttl_must_be_sane(origin: Origin, ttl: str) -> None:
    answer = await fetch(origin, {"stream": STREAM, "ttl": ttl}, token=make_admin_token())
    assert_error(answer, 400, "bad_request", "ttl")


async def test_admin_config_for_a_missing_group_is_404(origin: Origin) -> None:
    assert_error(await fetch(origin, {"group": "nope"}, token=make_admin_token()), 404, "not_found", "nope")


async def test_admin_token_in_the_url_is_not_an_admin_token(origin: Origin) -> None:
    assert_error(await fetch(origin, {"stream": STREAM, "token": make_admin_token()}), 401, "token_invalid")


async def test_expired_admin_token_says_expired(origin: Origin) -> None:
    expired = make_admin_token(iat=int(time.time()) - 400, exp=int(time.time()) - 100)
    assert_error(await fetch(origin, {"stream": STREAM}, token=expired), 401, "token_expired")


async def test_admin_without_a_signing_secret_gets_503(start_origin: StartOrigin, media_root: Path,
                                                       tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "viewer.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = settings_for(media_root, tmp_path / "state", env={"HLSGATE_JWT_SECRET": ""},
                            **{"auth.public_keys": [str(pem)]})
    origin = await start_origin(settings)
    assert_error(await fetch(origin, {"stream": STREAM}, token=make_admin_token()), 503, "not_configured",
                 "signing secret")
    viewer = jwt.encode({"type": "play", "streamId": STREAM, "exp": int(time.time()) + 60}, key, algorithm="ES256")
    status, config, _ = await fetch(origin, {"stream": STREAM}, token=viewer)  # tokens signed elsewhere still work
    assert status == 200 and config["source"]["stream"]["security"]["jwtoken"] == viewer


# -- refusals ------------------------------------------------------------------------------------------------


async def test_no_token_never_gets_a_config(grouped: Origin) -> None:
    assert_error(await fetch(grouped, {"group": GROUP}), 401, "token_missing")
    assert_error(await fetch(grouped, {"stream": STREAM}), 401, "token_missing")
    assert_error(await fetch(grouped, {"group": "missing-group"}), 401, "token_missing")  # same as an existing one


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
    assert_error(await fetch(grouped, {"group": GROUP}, token=make()), status, code)


async def test_publish_token_is_not_handed_to_players(origin: Origin) -> None:
    answer = await fetch(origin, {"stream": STREAM}, token=make_token(type="publish"))
    assert_error(answer, 403, "forbidden", "publish token", "play token")


async def test_missing_and_forbidden_look_alike_without_the_right_token(grouped: Origin) -> None:
    other = group_token("g2")
    missing = await fetch(grouped, {"group": "no-such-group"}, token=other)
    forbidden = await fetch(grouped, {"group": GROUP}, token=other)
    assert missing[0] == forbidden[0] == 403 and missing[1] == forbidden[1]


async def test_missing_scope_with_its_own_token_is_404(grouped: Origin) -> None:
    assert_error(await fetch(grouped, {"group": "gone"}, token=group_token("gone")), 404, "not_found")
    answer = await fetch(grouped, {"stream": "unpublished"}, token=make_token(streamId="unpublished"))
    assert_error(answer, 404, "not_found", "not published")


async def test_two_different_tokens_conflict(grouped: Origin) -> None:
    answer = await fetch(grouped, {"group": GROUP, "token": group_token()}, token=group_token(jti="x"))
    assert_error(answer, 401, "token_conflict")


@pytest.mark.parametrize(("query", "fragment"), [
    ({}, "exactly one of"),
    ({"group": GROUP, "stream": STREAM}, "exactly one of"),
    ({"group": "../etc"}, "ids are"),
    ({"stream": "a" * 65}, "ids are"),
    ({"group": ""}, "ids are"),
    ({"group": GROUP, "foo": "1"}, "unknown parameter 'foo'"),
])
async def test_bad_parameters(grouped: Origin, query: dict[str, str], fragment: str) -> None:
    assert_error(await fetch(grouped, query, token=group_token()), 400, "bad_request", fragment)


async def test_repeated_parameter_is_refused(grouped: Origin) -> None:
    async with await grouped.get(f"{CONFIG}?group={GROUP}&group=g2",
                                 headers={"Authorization": f"Bearer {group_token()}"}) as response:
        body = await response.json()
    assert (response.status, body["error"]) == (400, "bad_request")


async def test_a_viewer_cannot_choose_a_ttl(grouped: Origin) -> None:
    answer = await fetch(grouped, {"group": GROUP, "ttl": "99999"}, token=group_token())
    assert_error(answer, 400, "bad_request", "admin")


# -- settings that shape the config ----------------------------------------------------------------------------


async def test_public_url_and_renew_url(start_origin: StartOrigin) -> None:
    origin = await start_origin(public_url="https://video.example.com/origin/",
                                **{"player.renew_url": "https://www.example.com/hls-token",
                                   "player.renew_before": 30})
    status, config, _ = await fetch(origin, {"stream": STREAM}, token=make_token())
    assert status == 200
    assert config["source"]["streams"][0]["master"] == f"https://video.example.com/origin/hls/{STREAM}/master.m3u8"
    assert config["source"]["entries"][0]["h5live"]["server"]["hls"].startswith("https://video.example.com/origin/")
    assert config["security"]["renewUrl"] == "https://www.example.com/hls-token"
    assert config["security"]["renewBefore"] == 30


async def test_without_auth_the_config_carries_no_token(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"auth.enabled": False})
    status, config, _ = await fetch(origin, {"stream": STREAM})
    assert status == 200
    assert config["source"]["stream"] == {"id": STREAM, "security": {}}
    assert config["security"]["expiresAt"] is None
    assert_error(await fetch(origin, {"stream": STREAM, "ttl": "60"}), 400, "bad_request", "no-auth")


async def test_cors_for_a_host_page_on_another_origin(start_origin: StartOrigin) -> None:
    origin = await start_origin(cors_origins=["https://www.example.com"])
    page = {"Origin": "https://www.example.com"}
    async with origin.session.options(origin.url(CONFIG), headers={
            **page, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"}) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    status, _, headers = await fetch(origin, {"stream": STREAM}, token=make_token(), headers=page)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    _, _, headers = await fetch(origin, {"stream": STREAM}, token=make_token(),
                                headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    async with origin.session.get(origin.url("/api/v1/streams"), headers={
            **page, "Authorization": f"Bearer {make_admin_token()}"}) as response:
        assert "Access-Control-Allow-Origin" not in response.headers  # never on the admin API


# -- the pure builder ----------------------------------------------------------------------------------------


def test_player_config_builder_without_streams() -> None:
    token = make_token()
    config = player_config([], base_url="http://h", token=token, expires_at=10.7, group="g", stream=None, now=5.2,
                           renew_url=None, renew_before=60)
    assert config["source"] == {"group": {"id": "g", "security": {"jwtoken": token}}, "entries": [], "streams": [],
                                "startIndex": 0}
    assert config["security"] == {"expiresAt": 10, "serverTime": 5, "renewBefore": 60, "renewUrl": None}


@pytest.mark.parametrize("authorization", [
    "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer " + "A" * 5000,
    "Bearer eyJhbGciOiJub25lIn0.eyJ0eXBlIjoicGxheSIsImdyb3VwIjoiZzEifQ.",
    "Bearer \u00e9t\u00e9", "Bearer ..", "Bearer a b",
])
async def test_garbage_authorization_is_a_clean_401(grouped: Origin, authorization: str) -> None:
    status, body, headers = await fetch(grouped, {"group": GROUP}, headers={"Authorization": authorization})
    assert status == 401, body
    assert body["error"].startswith("token_") and "WWW-Authenticate" in headers
