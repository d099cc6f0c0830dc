"""What an outside probe found (issue 9), each as the class of bug it belongs to, over real HTTP.

1. bytes that are not a token where a token is expected: 401, never a 500, on every token-checked route;
2. numbers from clients of any size: 400 with a reason, never an overflow;
3. the ``/player`` redirect is built from the raw query, and carries no-store and no-referrer;
4. two credentials that differ, wherever they are carried: ``token_conflict``;
5. a header token is never written into a playlist;

and the admin tokens users arrive with: Ant Media's REST filter example and OAuth access tokens without a
``type``, OpenTok's ``X-OPENTOK-AUTH`` header, admin secrets rotated by ``kid`` from the TOML file, an
``admin.scope`` for a shared issuer. The autouse guard (conftest) fails any test the origin answered with a 5xx.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from hls_server.core.settings import load_settings

from ..conftest import ADMIN_SECRET, SECRET, STREAM, Origin, StartOrigin, make_admin_token, make_token
from ..http import RawReply, bearer, expect_error, fetch, raw_exchange, raw_request

MASTER = f"/hls/{STREAM}/master.m3u8"
SEGMENT = f"/hls/{STREAM}/360p/seg_00000.ts"
API = "/api/v1/streams"
CONFIG = f"/api/v1/player-config?stream={STREAM}"
TOKEN_ROUTES = [MASTER, f"/hls/{STREAM}/360p/index.m3u8", SEGMENT, API, CONFIG, "/api/v1/groups"]


def json_error(reply: RawReply) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(reply.body)
    return body


# -- 1. bytes that are not a token ------------------------------------------------------------------------------

NOT_TOKENS = {
    "non-UTF-8 after Bearer": b"Authorization: Bearer \xff\xfe.a.b",
    "non-UTF-8 bare": b"Authorization: \xff\xfe.a.b",
    "Latin-1 in a JWT": b"Authorization: Bearer eyJh\xe9.eyJ.sig",
    "UTF-8 lookalike letters": "Authorization: Bearer \u0435yJhbGciOi.eyJ0eXBl.c2ln".encode(),  # Cyrillic ie
    "a control character": b"Authorization: Bearer eyJh\x01bGci.eyJ0.c2ln",
    "OpenTok header, non-UTF-8": b"X-OPENTOK-AUTH: \xff\xfe.a.b",
}


@pytest.mark.parametrize("route", TOKEN_ROUTES)
@pytest.mark.parametrize("header", NOT_TOKENS.values(), ids=NOT_TOKENS.keys())
async def test_bytes_that_are_not_a_token_are_401_on_every_route(origin: Origin, route: str, header: bytes) -> None:
    request = f"GET {route} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + header + b"\r\nConnection: close\r\n\r\n"
    reply = await raw_exchange(origin.port, request)
    if reply.status == 400:  # aiohttp's parser refused the header line itself: a clean 4xx before any handler
        return
    assert reply.status == 401, reply.head
    assert json_error(reply)["error"] == "token_invalid"
    assert b"www-authenticate: bearer" in reply.head.lower()


@pytest.mark.parametrize("value", ["%FF%FE.a.b", "eyJh%01bGci.eyJ0.c2ln", "eyJ%20.x.y", "%D0%B5yJh.eyJ0.c2ln",
                                   "a.b", "eyJhbGciOi.eyJ0eXBl.c2ln.extra"])
@pytest.mark.parametrize("route", [MASTER, SEGMENT, CONFIG])
async def test_query_tokens_that_are_not_jws_are_401(origin: Origin, route: str, value: str) -> None:
    separator = "&" if "?" in route else "?"
    reply = await raw_exchange(origin.port, raw_request(f"{route}{separator}token={value}"))
    assert reply.status == 401, reply.head
    assert json_error(reply)["error"] == "token_invalid"


# -- 2. numbers of any size ---------------------------------------------------------------------------------------

HUGE = "9" * 400  # beyond any float: float(HUGE) raises OverflowError


@pytest.mark.parametrize("body", [
    f'{{"stream": "{STREAM}", "ttl": {HUGE}}}', f'{{"stream": "{STREAM}", "ttl": -{HUGE}}}',
    f'{{"stream": "{STREAM}", "expires_at": {HUGE}}}', f'{{"stream": "{STREAM}", "expires_at": -{HUGE}}}',
    f'{{"stream": "{STREAM}", "ttl": 1e400}}', f'{{"stream": "{STREAM}", "expires_at": 1e308}}',
], ids=["ttl-huge", "ttl-huge-negative", "expires-huge", "expires-huge-negative", "ttl-inf", "expires-1e308"])
async def test_huge_numbers_in_the_token_api_are_400(origin: Origin, body: str) -> None:
    reply = await fetch(origin, "/api/v1/tokens", method="POST", headers={**bearer(), "Content-Type": "application/json"},
                        data=body.encode())
    body_json = expect_error(reply, 400, "bad_request")
    assert "ttl" in body_json["error_description"] or "expires_at" in body_json["error_description"]


@pytest.mark.parametrize("expiry", [HUGE, "9" * 4400, "99999999999999999"])
async def test_huge_expire_dates_in_ant_medias_path_are_400(origin: Origin, expiry: str) -> None:
    reply = await fetch(origin, f"/rest/v2/broadcasts/{STREAM}/jwt-token?expireDate={expiry}&type=play",
                        headers=bearer())
    assert "expireDate" in expect_error(reply, 400, "bad_request")["error_description"]


async def test_a_huge_player_config_ttl_is_400(origin: Origin) -> None:
    reply = await fetch(origin, CONFIG + f"&ttl={HUGE}", headers=bearer())
    assert "ttl" in expect_error(reply, 400, "bad_request")["error_description"]


async def test_json_nested_past_the_parser_is_400(origin: Origin) -> None:
    reply = await fetch(origin, "/api/v1/tokens", method="POST", headers=bearer(), data=b"[" * 60_000)
    expect_error(reply, 400, "bad_request")


# -- 3. the redirect keeps the raw query -----------------------------------------------------------------------------

RAW_QUERIES = ["group=g1&token=a%0d%0aSet-Cookie:%20x=1", "stream=s1&x=%09tab%23frag&token=t",
               "token=a%2Bb%3Dc&group=%E2%82%AC", "group=g1&token=eyJ.eyJ.sig&%ZZ=1"]


@pytest.mark.parametrize("query", RAW_QUERIES)
async def test_the_player_redirect_is_built_from_the_raw_query(origin: Origin, query: str) -> None:
    reply = await raw_exchange(origin.port, raw_request(f"/player?{query}"))
    assert reply.status == 301, reply.head
    head = reply.head.decode("latin-1").split("\r\n")
    assert f"Location: /player/?{query}" in head
    assert not any(line.lower().startswith("set-cookie") for line in head)
    assert "Cache-Control: no-store" in head and "Referrer-Policy: no-referrer" in head


async def test_a_redirect_without_a_query_is_plain(origin: Origin) -> None:
    reply = await raw_exchange(origin.port, raw_request("/player"))
    assert reply.status == 301 and b"Location: /player/\r\n" in reply.head + b"\r\n"


@pytest.mark.parametrize("path", ["/player/", "/nope", "/hls/s1/nope.m3u8", "/api/v1/openapi.json", "/healthz"])
async def test_no_answer_to_a_tokenised_url_is_publicly_cacheable(origin: Origin, path: str) -> None:
    reply = await fetch(origin, path, token=make_token())
    assert reply.headers["Referrer-Policy"] == "no-referrer", path
    assert "public" not in reply.headers.get("Cache-Control", "no-store"), path


# -- 4. two credentials ---------------------------------------------------------------------------------------------

A_TOKEN, OTHER = make_token(), make_token(jti="other")
CONFLICTS = {
    "two Authorization headers": [f"Authorization: Bearer {A_TOKEN}", f"Authorization: Bearer {OTHER}"],
    "Bearer and bare": [f"Authorization: Bearer {A_TOKEN}", f"Authorization: {OTHER}"],
    "Authorization and OpenTok": [f"Authorization: Bearer {A_TOKEN}", f"X-OPENTOK-AUTH: {OTHER}"],
}


@pytest.mark.parametrize("route", [MASTER, SEGMENT, CONFIG])
@pytest.mark.parametrize("headers", CONFLICTS.values(), ids=CONFLICTS.keys())
async def test_two_different_credentials_conflict(origin: Origin, route: str, headers: list[str]) -> None:
    for ordered in (headers, headers[::-1]):  # deterministic: the order does not pick a winner
        reply = await raw_exchange(origin.port, raw_request(route, *ordered))
        assert reply.status == 401, reply.head
        assert json_error(reply)["error"] == "token_conflict"


async def test_two_admin_headers_conflict_on_the_api(origin: Origin) -> None:
    first, second = make_admin_token(), make_admin_token(jti="b")
    reply = await raw_exchange(origin.port, raw_request(API, f"Authorization: Bearer {first}",
                                                    f"X-OPENTOK-AUTH: {second}"))
    assert reply.status == 401 and json_error(reply)["error"] == "token_conflict"


async def test_the_same_token_twice_is_one_token(origin: Origin) -> None:
    reply = await raw_exchange(origin.port, raw_request(MASTER, f"Authorization: Bearer {A_TOKEN}",
                                                    f"Authorization: {A_TOKEN}"))
    assert reply.status == 200, reply.head


# -- 5. a header token never goes into a playlist ---------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?token=", "", "?token=&x=1", "?x=1&token="])
@pytest.mark.parametrize("playlist", [MASTER, f"/hls/{STREAM}/360p/index.m3u8"])
async def test_a_header_token_is_never_written_into_a_playlist(origin: Origin, media_root: Path, playlist: str,
                                                               query: str) -> None:
    reply = await fetch(origin, playlist + query, headers={"Authorization": f"Bearer {A_TOKEN}"})
    assert reply.status == 200, reply.text
    assert A_TOKEN not in reply.text and "token=" not in reply.text
    assert reply.body == (media_root / playlist.removeprefix("/hls/")).read_bytes()


# -- admin tokens as users arrive with them ---------------------------------------------------------------------------


def admin_jwt(secret: str = ADMIN_SECRET, headers: dict[str, str] | None = None, **claims: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def issued(base: dict[str, Any], **claims: Any) -> str:
    return jwt.encode({**base, **claims}, ADMIN_SECRET, algorithm="HS256")


async def test_ant_medias_rest_filter_token_without_a_type_opens_the_api(origin: Origin) -> None:
    now = int(time.time())
    token = admin_jwt(sub="token", iat=now, exp=now + 120)  # the seed's example, with the exp we require
    reply = await fetch(origin, API, headers={"Authorization": token})  # bare, as Ant Media's filter sends it
    assert reply.status == 200, reply.text


async def test_without_exp_or_iat_the_401_says_so(origin: Origin) -> None:
    now = int(time.time())
    for claims, named in (({"sub": "token", "iat": now}, "exp"), ({"sub": "token", "exp": now + 60}, "iat")):
        reply = await fetch(origin, API, headers=bearer(jwt.encode(claims, ADMIN_SECRET, algorithm="HS256")))
        assert named in expect_error(reply, 401, "token_invalid")["error_description"]


async def test_opentoks_header_carries_an_admin_token(origin: Origin) -> None:
    now = int(time.time())
    token = admin_jwt(iss="12345", ist="project", iat=now, exp=now + 180)  # OpenTok's claims
    reply = await fetch(origin, API, headers={"X-OPENTOK-AUTH": token})
    assert reply.status == 200, reply.text
    minted = await fetch(origin, "/api/v1/tokens", method="POST", headers={"X-OPENTOK-AUTH": token},
                         json={"stream": STREAM})
    assert minted.status == 201, minted.text


async def test_a_viewer_token_in_opentoks_header_does_not_open_the_api(origin: Origin) -> None:
    reply = await fetch(origin, API, headers={"X-OPENTOK-AUTH": make_token()})
    expect_error(reply, 401, "token_invalid")


@pytest.mark.parametrize("kind", ["play", "publish", "viewer", "Admin"])
async def test_any_type_but_admin_under_admin_keys_is_refused(origin: Origin, kind: str) -> None:
    now = int(time.time())
    reply = await fetch(origin, API, headers=bearer(admin_jwt(type=kind, streamId=STREAM, iat=now, exp=now + 60)))
    assert "admin or absent" in expect_error(reply, 401, "token_invalid")["error_description"]


async def test_admin_secrets_rotate_by_kid_from_the_toml_file(start_origin: StartOrigin, media_root: Path,
                                                                tmp_path: Path) -> None:
    old, new = "old-admin-" + "a" * 40, "new-admin-" + "b" * 40
    config = tmp_path / "hlsgate.toml"
    config.write_text(f'[admin]\nsigning_kid = "k2"\n[admin.secrets]\nk1 = "{old}"\nk2 = "{new}"\n', encoding="utf-8")
    settings = load_settings({"media_root": str(media_root), "state_dir": str(tmp_path / "state")},
                             {"HLSGATE_JWT_SECRET": SECRET}, config)
    origin = await start_origin(settings)
    now = int(time.time())
    for kid, secret in (("k1", old), ("k2", new)):
        token = admin_jwt(secret, headers={"kid": kid}, type="admin", iat=now, exp=now + 60)
        assert (await fetch(origin, API, headers=bearer(token))).status == 200, kid
    wrong = admin_jwt(old, headers={"kid": "k2"}, type="admin", iat=now, exp=now + 60)
    expect_error(await fetch(origin, API, headers=bearer(wrong)), 401, "token_invalid")
    assert origin.settings.admin.signing_secret is not None and origin.settings.admin.signing_secret.kid == "k2"


async def test_an_admin_scope_separates_admin_tokens_from_a_shared_issuer(start_origin: StartOrigin) -> None:
    origin = await start_origin(**{"admin.scope": "hlsgate:admin", "admin.issuer": "https://id.example.com",
                                   "admin.audience": "hlsgate"})
    now = int(time.time())
    base = {"iss": "https://id.example.com", "aud": "hlsgate", "sub": "ops", "iat": now, "exp": now + 120}
    good = issued(base, scope="openid hlsgate:admin")
    assert (await fetch(origin, API, headers=bearer(good))).status == 200
    for bad in (issued(base, scope="openid"), issued(base), issued(base, aud="other", scope="hlsgate:admin"),
                issued(base, iss="https://evil.example.com", scope="hlsgate:admin")):
        expect_error(await fetch(origin, API, headers=bearer(bad)), 401, "token_invalid")


# -- 8. at the HTTP level: a token never goes to a weaker scheme than the viewer's ----------------------------------


@pytest.mark.parametrize(("public_url", "http_gets_it"), [(None, True), ("https://video.example.com", False)])
async def test_absolute_uris_get_the_token_only_on_an_equal_or_stronger_scheme(
        start_origin: StartOrigin, media_root: Path, public_url: str | None, http_gets_it: bool) -> None:
    origin = await start_origin(**({"public_url": public_url} if public_url else {}))
    host = f"127.0.0.1:{origin.port}"
    (media_root / STREAM / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n"
        f"http://{host}/hls/{STREAM}/360p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000\n"
        f"https://{host}/hls/{STREAM}/240p/index.m3u8\n", encoding="utf-8")
    token = make_token()
    reply = await fetch(origin, MASTER, token=token)
    lines = reply.text.splitlines()
    assert reply.status == 200, reply.text
    assert lines[2].endswith(f"?token={token}") is http_gets_it, lines[2]
    assert lines[4].endswith(f"?token={token}"), lines[4]  # https is never weaker
