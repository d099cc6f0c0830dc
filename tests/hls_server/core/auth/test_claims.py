"""``grant_from_claims``, the pure claims policy: claims in, a grant or a refusal naming the claim out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from hls_server.core.auth.claims import ClaimsPolicy, grant_from_claims
from hls_server.core.errors import TokenInvalid
from hls_server.core.grants import Action, Grant, Group, Role, Target, allows

from .conftest import BASE, NOW

VIEWER = ClaimsPolicy()
VIEWER_NO_EXP = ClaimsPolicy(require_exp=False)
VIEWER_MAX_LIFE = ClaimsPolicy(max_lifetime=600)
ADMIN = ClaimsPolicy(require_iat=True, max_lifetime=300, admin=True)
ADMIN_SCOPED = ClaimsPolicy(require_iat=True, max_lifetime=300, admin=True, required_scope="hlsgate:admin")
DROP = object()  # a claim value meaning "leave the claim out"


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {**BASE, **changes}
    return {k: v for k, v in claims.items() if v is not DROP}


def _grant(role: Role, streams: Iterable[str] = (), groups: Iterable[str] = (),
           expires_at: float | None = NOW + 300, jti: str | None = None, rooms: Iterable[str] = ()) -> Grant:
    return Grant(role, frozenset(streams), frozenset(groups), expires_at, jti, rooms=frozenset(rooms))


GRANTED: dict[str, tuple[dict[str, Any], ClaimsPolicy, Grant]] = {
    "play a stream": (_claims(), VIEWER, _grant(Role.PLAY, ["s1"])),
    "publish a stream": (_claims(type="publish"), VIEWER, _grant(Role.PUBLISH, ["s1"])),
    "play a group": (_claims(streamId=DROP, group="g1"), VIEWER, _grant(Role.PLAY, groups=["g1"])),
    "roomId is a room, kept apart from groups": (_claims(streamId=DROP, roomId="room1"), VIEWER,
                                                 _grant(Role.PLAY, rooms=["room1"])),
    "publish to a room": (_claims(type="publish", streamId=DROP, roomId="room1"), VIEWER,
                          _grant(Role.PUBLISH, rooms=["room1"])),
    # The seed's room token: a streamId naming the room. Whether it is a room is the store's to say (allows).
    "the seed's room token is a streamId": (_claims(type="publish", streamId="room1"), VIEWER,
                                            _grant(Role.PUBLISH, ["room1"])),
    "every scope claim": (_claims(group="g1", roomId="room1"), VIEWER,
                          _grant(Role.PLAY, ["s1"], ["g1"], rooms=["room1"])),
    "jti kept": (_claims(jti="abc"), VIEWER, _grant(Role.PLAY, ["s1"], jti="abc")),
    "float times": (_claims(iat=NOW + 0.5, exp=NOW + 300.5, nbf=NOW - 0.5), VIEWER,
                    _grant(Role.PLAY, ["s1"], expires_at=NOW + 300.5)),
    "no iat needed by viewers": (_claims(iat=DROP), VIEWER, _grant(Role.PLAY, ["s1"])),
    "no exp with the opt-out": (_claims(exp=DROP), VIEWER_NO_EXP, _grant(Role.PLAY, ["s1"], expires_at=None)),
    "lifetime at the maximum": (_claims(exp=NOW + 600), VIEWER_MAX_LIFE,
                                _grant(Role.PLAY, ["s1"], expires_at=NOW + 600)),
    "admin type": (_claims(type="admin", streamId=DROP, jti="j"), ADMIN, _grant(Role.ADMIN, jti="j")),
    "admin scope claims ignored": (_claims(type="admin"), ADMIN, _grant(Role.ADMIN)),
    "OpenTok ist project (admin policy)": (_claims(type=DROP, streamId=DROP, ist="project"), ADMIN,
                                           _grant(Role.ADMIN)),
    "OpenTok ist account (admin policy)": (_claims(type=DROP, streamId=DROP, ist="account"), ADMIN,
                                           _grant(Role.ADMIN)),
    # Whatever an admin key signed is an admin token: the seeds' admin tokens carry no type.
    "Ant Media REST filter shape": ({"sub": "token", "iat": NOW, "exp": NOW + 300}, ADMIN, _grant(Role.ADMIN)),
    "OAuth access token shape": ({"sub": "client-1", "iss": "https://id.example.com", "iat": NOW,
                                  "exp": NOW + 300, "scope": "openid hlsgate:admin"}, ADMIN, _grant(Role.ADMIN)),
    "ist of a user under admin keys": (_claims(type=DROP, ist="user"), ADMIN, _grant(Role.ADMIN)),
    "admin lifetime at 300 s": (_claims(type="admin", exp=NOW + 300), ADMIN, _grant(Role.ADMIN)),
    "admin scope in scope": (_claims(type=DROP, scope="a hlsgate:admin b"), ADMIN_SCOPED, _grant(Role.ADMIN)),
    "admin scope in scp string": (_claims(type=DROP, scp="hlsgate:admin"), ADMIN_SCOPED, _grant(Role.ADMIN)),
    "admin scope in scp list": (_claims(type=DROP, scp=["x", "hlsgate:admin"]), ADMIN_SCOPED, _grant(Role.ADMIN)),
}

INVALID: dict[str, tuple[dict[str, Any], ClaimsPolicy, str]] = {
    "exp a string": (_claims(exp=str(NOW + 300)), VIEWER, "exp"),
    "exp a boolean": (_claims(exp=True), VIEWER, "exp"),
    "exp null": (_claims(exp=None), VIEWER, "exp"),
    "exp a list": (_claims(exp=[NOW + 300]), VIEWER, "exp"),
    "exp infinite": (_claims(exp=float("inf")), VIEWER, "exp"),
    "exp NaN": (_claims(exp=float("nan")), VIEWER_NO_EXP, "exp"),
    "iat a string": (_claims(iat=str(NOW)), VIEWER, "iat"),
    "iat a boolean": (_claims(iat=False), VIEWER, "iat"),
    "nbf a string": (_claims(nbf="0"), VIEWER, "nbf"),
    "nbf an object": (_claims(nbf={"t": 0}), VIEWER, "nbf"),
    "exp missing": (_claims(exp=DROP), VIEWER, "exp"),
    "admin exp missing": (_claims(type="admin", exp=DROP), ADMIN, "exp"),
    "admin iat missing": (_claims(type="admin", iat=DROP), ADMIN, "iat"),
    "admin lifetime 301 s": (_claims(type="admin", exp=NOW + 301), ADMIN, "300"),
    "lifetime over the maximum": (_claims(exp=NOW + 601), VIEWER_MAX_LIFE, "600"),
    "maximum lifetime needs iat": (_claims(iat=DROP), VIEWER_MAX_LIFE, "iat"),
    "maximum lifetime needs exp": (_claims(exp=DROP), ClaimsPolicy(require_exp=False, max_lifetime=600), "exp"),
    "jti a number": (_claims(jti=7), VIEWER, "jti"),
    "jti a list": (_claims(jti=["a"]), VIEWER, "jti"),
    "type missing": (_claims(type=DROP), VIEWER, "type"),
    "type upper case": (_claims(type="PLAY"), VIEWER, "type"),
    "type unknown": (_claims(type="subscriber"), VIEWER, "type"),
    "type a list": (_claims(type=["play"]), VIEWER, "type"),
    "type null": (_claims(type=None), VIEWER, "type"),
    "OpenTok ist under viewer keys": (_claims(type=DROP, ist="project"), VIEWER, "type"),
    "admin type under viewer keys": (_claims(type="admin"), VIEWER, "type"),
    "play type under admin keys": (_claims(), ADMIN, "type must be admin or absent"),
    "publish type under admin keys": (_claims(type="publish"), ADMIN, "type must be admin or absent"),
    "admin type in capitals": (_claims(type="ADMIN"), ADMIN, "type must be admin or absent"),
    "admin scope missing": (_claims(type=DROP), ADMIN_SCOPED, "hlsgate:admin"),
    "admin scope a prefix": (_claims(type=DROP, scope="hlsgate:admins"), ADMIN_SCOPED, "hlsgate:admin"),
    "admin scope in another claim": (_claims(type=DROP, scopes="hlsgate:admin"), ADMIN_SCOPED, "hlsgate:admin"),
    "admin scp of another type": (_claims(type=DROP, scp={"hlsgate:admin": True}), ADMIN_SCOPED, "hlsgate:admin"),
    "no scope": (_claims(streamId=DROP), VIEWER, "streamId"),
    "publish with no scope": (_claims(type="publish", streamId=DROP), VIEWER, "streamId"),
    "streamId empty": (_claims(streamId=""), VIEWER, "streamId"),
    "streamId traversal": (_claims(streamId="../s1"), VIEWER, "streamId"),
    "streamId with a slash": (_claims(streamId="s1/360p"), VIEWER, "streamId"),
    "streamId with a dot": (_claims(streamId="s.1"), VIEWER, "streamId"),
    "streamId with a newline": (_claims(streamId="s1\n"), VIEWER, "streamId"),
    "streamId percent-encoded": (_claims(streamId="s%31"), VIEWER, "streamId"),
    "streamId 65 characters": (_claims(streamId="s" * 65), VIEWER, "streamId"),
    "streamId non-ASCII": (_claims(streamId="sé"), VIEWER, "streamId"),
    "streamId a number": (_claims(streamId=1), VIEWER, "streamId"),
    "streamId a list": (_claims(streamId=["s1"]), VIEWER, "streamId"),
    "streamId null": (_claims(streamId=None), VIEWER, "streamId"),
    "group with a space": (_claims(group="g 1"), VIEWER, "group"),
    "roomId with a dot": (_claims(streamId=DROP, roomId="r.1"), VIEWER, "roomId"),
    "a good streamId does not excuse a bad group": (_claims(group="*"), VIEWER, "group"),
}


@pytest.mark.parametrize(("claims", "policy", "expected"), GRANTED.values(), ids=GRANTED.keys())
def test_grant_from_claims(claims: dict[str, Any], policy: ClaimsPolicy, expected: Grant) -> None:
    assert grant_from_claims(claims, policy) == expected


@pytest.mark.parametrize(("claims", "policy", "named"), INVALID.values(), ids=INVALID.keys())
def test_grant_from_claims_refuses(claims: dict[str, Any], policy: ClaimsPolicy, named: str) -> None:
    with pytest.raises(TokenInvalid) as caught:
        grant_from_claims(claims, policy)
    assert named in str(caught.value)


def test_roomId_grant_plays_the_rooms_streams() -> None:
    grant = grant_from_claims(_claims(streamId=DROP, roomId="room1"), VIEWER)
    store = {"room1": Group(frozenset({"s2"}), room=True)}
    assert allows(grant, Action.PLAY, Target("s2"), store)  # listed
    assert allows(grant, Action.PLAY, Target("room1-alice"), store)  # a participant
    assert allows(grant, Action.PLAY, Target("room1"), store)  # the room's own stream
    assert not allows(grant, Action.PLAY, Target("s3"), store)
    assert not allows(grant, Action.PUBLISH, Target("room1-alice"), store)  # a play token only plays


def test_a_streamId_naming_a_stored_room_is_room_scope_and_only_then() -> None:
    grant = grant_from_claims(_claims(type="publish", streamId="room1"), VIEWER)
    assert allows(grant, Action.PUBLISH, Target("room1-alice"), {"room1": Group(room=True)})
    assert allows(grant, Action.PLAY, Target("room1-bob"), {"room1": Group(room=True)})
    assert not allows(grant, Action.PUBLISH, Target("room1-alice"), {"room1": Group()})  # a plain group
    assert not allows(grant, Action.PUBLISH, Target("room1-alice"), {})  # nothing stored: a stream id
