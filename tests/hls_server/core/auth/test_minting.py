"""Minting: the one signer of the tokens the server hands out, and the reading of clients' numbers."""

from __future__ import annotations

import time

import jwt
import pytest

from hls_server.core.auth.minting import MAX_SECONDS, Minter, json_seconds, query_seconds
from hls_server.core.auth.verifier import Verifier
from hls_server.core.errors import BadRequest, Unavailable
from hls_server.core.grants import Action, Grant, Role, Target, allows
from hls_server.core.settings import HmacSecret, KeySettings

S0, S1 = "admin-secret-" + "0" * 32, "viewer-secret-" + "1" * 32
NOW = 1_800_000_000.0
VIEWER_KEYS = KeySettings(secrets=(HmacSecret("k1", S1.encode()),), algorithms=("HS256",))
ADMIN_KEYS = KeySettings(secrets=(HmacSecret(None, S0.encode()),), algorithms=("HS256",), require_iat=True,
                         max_lifetime=300)


def minter(viewer: KeySettings = VIEWER_KEYS, admin: KeySettings = ADMIN_KEYS, *, now: float = NOW) -> Minter:
    return Minter(viewer, admin, default_ttl=3600, max_ttl=7 * 24 * 3600, clock=lambda: now)


def verifier(keys: KeySettings, *, admin: bool = False) -> Verifier:
    return Verifier(keys, max_token_bytes=4096, cache_size=0, admin=admin)


def claims_of(token: str) -> dict[str, object]:
    payload: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return payload


SCOPE_CLAIM = {"stream": "streamId", "group": "group", "room": "roomId"}
GRANT_FIELD = {"stream": "streams", "group": "groups", "room": "rooms"}


@pytest.mark.parametrize("scope", SCOPE_CLAIM)
@pytest.mark.parametrize("role", [Role.PLAY, Role.PUBLISH])
async def test_viewer_tokens_round_trip(role: Role, scope: str) -> None:
    minted = minter(now=time.time()).viewer(role, ttl=600, **{scope: "x1"})  # type: ignore[arg-type]
    claims = claims_of(minted.token)
    assert set(claims) == {"type", SCOPE_CLAIM[scope], "exp", "iat", "jti"}
    assert claims["type"] == role.value and claims["exp"] == minted.expires_at and claims[SCOPE_CLAIM[scope]] == "x1"
    assert jwt.get_unverified_header(minted.token)["kid"] == "k1"
    grant = await verifier(VIEWER_KEYS).verify(minted.token)
    scope_of = {field: frozenset({"x1"}) if field == GRANT_FIELD[scope] else frozenset() for field in GRANT_FIELD.values()}
    assert grant == Grant(role, expires_at=minted.expires_at, token_id=str(claims["jti"]), streams=scope_of["streams"],
                          groups=scope_of["groups"], rooms=scope_of["rooms"])


def test_default_ttl_and_explicit_expiry() -> None:
    assert minter().viewer(Role.PLAY, stream="s1").expires_at == int(NOW) + 3600
    assert minter().viewer(Role.PLAY, stream="s1", expires_at=int(NOW) + 5).expires_at == int(NOW) + 5


def test_minted_tokens_have_distinct_ids() -> None:
    assert len({claims_of(minter().viewer(Role.PLAY, stream="s1").token)["jti"] for _ in range(50)}) == 50


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ttl": 0}, "ttl gives a token that is already expired"),
    ({"ttl": -5}, "already expired"),
    ({"ttl": 7 * 24 * 3600 + 1}, "living longer than the allowed 604800 s"),
    ({"expires_at": int(NOW) - 1, "field": "expireDate"}, "expireDate gives a token that is already expired"),
    ({"expires_at": MAX_SECONDS, "field": "expires_at"}, "expires_at gives a token living longer"),
])
def test_lifetimes_out_of_bounds(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        minter().viewer(Role.PLAY, stream="s1", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("stream", "group", "room"), [("s1", "g1", None), ("s1", None, "r1"), (None, "g1", "r1"),
                                                       (None, None, None)])
def test_viewer_tokens_need_exactly_one_scope(stream: str | None, group: str | None, room: str | None) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        minter().viewer(Role.PLAY, stream=stream, group=group, room=room)


def test_viewer_tokens_are_never_admin() -> None:
    with pytest.raises(ValueError):
        minter().viewer(Role.ADMIN, stream="s1")


def test_without_a_signing_secret_nothing_is_minted() -> None:
    with pytest.raises(Unavailable, match="HLSGATE_JWT_SECRET"):
        minter(viewer=KeySettings()).viewer(Role.PLAY, stream="s1")
    with pytest.raises(Unavailable, match="HLSGATE_ADMIN_SECRET"):
        minter(admin=KeySettings()).admin()


async def test_issuer_and_audience_are_stamped_and_checked() -> None:
    stamped = KeySettings(secrets=(HmacSecret(None, S1.encode()),), algorithms=("HS256",), issuer="hlsgate",
                          audience="players")
    token = minter(viewer=stamped, now=time.time()).viewer(Role.PLAY, stream="s1").token
    assert (claims_of(token)["iss"], claims_of(token)["aud"]) == ("hlsgate", "players")
    assert (await verifier(stamped).verify(token)).streams == {"s1"}


async def test_admin_tokens_round_trip_with_scope_issuer_and_audience() -> None:
    keys = KeySettings(secrets=(HmacSecret("a1", S0.encode()),), algorithms=("HS256",), require_iat=True,
                       max_lifetime=300, issuer="https://id.example.com", audience="hlsgate", scope="hlsgate:admin")
    minted = minter(admin=keys, now=time.time()).admin()
    claims = claims_of(minted.token)
    assert claims["exp"] - claims["iat"] == 300  # type: ignore[operator]
    assert (claims["scope"], claims["iss"], claims["aud"], claims["type"]) == (
        "hlsgate:admin", "https://id.example.com", "hlsgate", "admin")
    grant = await verifier(keys, admin=True).verify(minted.token)
    assert allows(grant, Action.ADMIN) and not allows(grant, Action.PLAY, Target("s1"))


@pytest.mark.parametrize("ttl", [0, 301, -1])
def test_admin_ttl_bounds(ttl: int) -> None:
    with pytest.raises(BadRequest, match=r"1\.\.300"):
        minter().admin(ttl)


HUGE = 10 ** 400  # beyond any float: arithmetic with it raises OverflowError


@pytest.mark.parametrize(("value", "expected"), [(60, 60), (60.0, 60), (0, 0), (-3, -3), (MAX_SECONDS, MAX_SECONDS)])
def test_json_seconds(value: object, expected: int) -> None:
    assert json_seconds(value, "ttl") == expected


@pytest.mark.parametrize(("value", "message"), [
    (HUGE, "ttl is out of range"), (-HUGE, "ttl is out of range"), (MAX_SECONDS + 1, "out of range"), (1e300, "out of range"),
    (float("inf"), "whole number"), (float("nan"), "whole number"), (1.5, "whole number"), (True, "whole number"),
    ("60", "whole number"), (None, "whole number"), ([60], "whole number"),
], ids=lambda value: repr(value)[:24])
def test_json_seconds_refuses(value: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        json_seconds(value, "ttl")


@pytest.mark.parametrize(("raw", "ok"), [("60", True), ("0", True), ("9" * 16, True), ("9" * 17, False),
                                         ("9" * 500, False), ("", False), (" 1", False), ("+1", False),
                                         ("1_0", False), ("-1", False), ("\uff11", False), ("1e3", False)])
def test_query_seconds(raw: str, ok: bool) -> None:
    if ok:
        assert query_seconds(raw, "ttl") == int(raw)
    else:
        with pytest.raises(BadRequest, match="ttl"):
            query_seconds(raw, "ttl")
