"""The claims policy: a payload whose signature and time window pyjwt has checked becomes a :class:`Grant`.

Pure (no ``jwt`` import), so every rule is a table test. Viewer tokens carry Ant Media's claims (``type`` play
or publish, and ``streamId``, ``group`` or ``roomId``); each scope claim goes to its own field of the grant
(``roomId`` to :attr:`Grant.rooms`), and whether a ``streamId`` or ``group`` names a room is the group store's to
say at decision time (:func:`grants.allows`), not the token's. Admin tokens are whatever an admin key signed, as they
arrive from the seeds: Ant Media's REST filter example (``{"sub": "token", "iat": ...}``), OpenTok's
(``{"iss": 12345, "ist": "project", "iat": ..., "exp": ...}``) and an OAuth server's access token carry no
``type``; hlsgate's own carry ``"type": "admin"``. Any other ``type`` under an admin key is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import TokenInvalid
from ..grants import Grant, Role
from ..names import ID_RULE, is_id

SCOPE_CLAIMS = ("streamId", "group", "roomId")
TIME_CLAIMS = ("exp", "nbf", "iat")
VIEWER_TYPES = frozenset({Role.PLAY.value, Role.PUBLISH.value})


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What a verified payload must satisfy beyond its signature (pyjwt checks exp/nbf/iat/aud/iss first)."""

    require_exp: bool = True
    require_iat: bool = False
    max_lifetime: float | None = None
    admin: bool = False  # the admin keys' policy: every token they verify is an admin token
    required_scope: str | None = None  # a value the ``scope`` (space-separated) or ``scp`` claim must hold


def grant_from_claims(claims: Mapping[str, Any], policy: ClaimsPolicy) -> Grant:
    """Turn a verified payload into a grant, or raise :class:`TokenInvalid` saying which claim is wrong."""
    check_time_claims(claims)
    what = "an admin token" if policy.admin else "the token"
    if policy.require_exp and "exp" not in claims:
        raise TokenInvalid(f"{what} has no exp claim")
    if policy.require_iat and "iat" not in claims:
        raise TokenInvalid(f"{what} has no iat claim")
    if policy.max_lifetime is not None:
        if "iat" not in claims or "exp" not in claims:
            raise TokenInvalid(f"{what} needs iat and exp claims at most {policy.max_lifetime:g} s apart")
        if claims["exp"] - claims["iat"] > policy.max_lifetime:
            raise TokenInvalid(f"{what} lives longer than the allowed {policy.max_lifetime:g} s (exp - iat)")
    jti = claims.get("jti")
    if jti is not None and not isinstance(jti, str):
        raise TokenInvalid("the jti claim must be a string")
    if policy.required_scope is not None and policy.required_scope not in _scopes(claims):
        raise TokenInvalid(f"{what} lacks the scope {policy.required_scope!r} (scope or scp claim)")
    expires_at = float(claims["exp"]) if "exp" in claims else None
    if policy.admin:
        if claims.get("type", Role.ADMIN.value) != Role.ADMIN.value:
            raise TokenInvalid("a token signed with an admin key is an admin token: its type must be admin or absent")
        return Grant(Role.ADMIN, expires_at=expires_at, token_id=jti)
    kind = claims.get("type")
    if not isinstance(kind, str) or kind not in VIEWER_TYPES:
        raise TokenInvalid("the type claim must be play or publish")
    scope: dict[str, frozenset[str]] = {}
    for name in SCOPE_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if not is_id(value):
            raise TokenInvalid(f"the {name} claim must be an id of {ID_RULE}")
        scope[name] = frozenset({value})
    if not scope:
        raise TokenInvalid("the token names no stream: it needs a streamId, group or roomId claim")
    return Grant(Role(kind), streams=scope.get("streamId", frozenset()), groups=scope.get("group", frozenset()),
                 rooms=scope.get("roomId", frozenset()), expires_at=expires_at, token_id=jti)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """OAuth scopes: ``scope`` is a space-separated string (RFC 8693 §4.2), ``scp`` a string or a list of them."""
    found: set[str] = set()
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.update(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        found.update(scp.split())
    elif isinstance(scp, list):
        found.update(item for item in scp if isinstance(item, str))
    return frozenset(found)


def is_number(value: object) -> bool:
    """A JSON number usable as a time: not a bool, finite, and not an integer beyond any float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float (1 followed by 400 zeros) is no time
        return False


def check_time_claims(claims: Mapping[str, Any]) -> None:
    for name in TIME_CLAIMS:
        if name in claims and not is_number(claims[name]):
            raise TokenInvalid(f"the {name} claim must be a number (seconds since the epoch)")
