"""Minting: the one place that signs the tokens this server hands out (REST API, player configs, CLI, demo).

Minted tokens carry Ant Media's claims (``type``, ``streamId``, ``group`` or ``roomId``, ``exp``) plus ``iat``
and a ``jti``, are signed HS256 with the signing secret of their kind (``signing_kid`` chooses among rotated
secrets and goes into the header), and carry the ``iss``, ``aud`` and admin ``scope`` the verifier of that kind
requires, so what is minted here always verifies here.

Numbers from clients (a ttl, an expiry) are read by :func:`json_seconds` and :func:`query_seconds`, which bound
them as integers before any arithmetic: a number of any size or sign is a 400, never an overflow.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from ..errors import BadRequest, Unavailable
from ..grants import Role
from ..settings import HmacSecret, KeySettings, Settings

MAX_SECONDS = 1 << 53
"""No time a client gives may exceed this (far beyond any expiry a token may have; exact as a float)."""
MAX_QUERY_DIGITS = 16
JTI_BYTES = 12


def json_seconds(value: object, name: str) -> int:
    """A whole number of seconds given as a JSON number (``60`` or ``60.0``); BadRequest for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a whole number of seconds")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadRequest(f"{name} must be a whole number of seconds")
    if not -MAX_SECONDS <= value <= MAX_SECONDS:  # compared as given: an int of 400 digits never becomes a float
        raise BadRequest(f"{name} is out of range")
    return int(value)


def query_seconds(raw: str, name: str) -> int:
    """A whole number of seconds given as ASCII digits in a query string (``int()`` alone takes ``" 1"``, ``+1``,
    ``1_0`` and non-ASCII digits)."""
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"{name} must be a whole number of seconds")
    if len(raw) > MAX_QUERY_DIGITS:
        raise BadRequest(f"{name} is out of range")
    return int(raw)


@dataclass(frozen=True, slots=True)
class Minted:
    token: str
    expires_at: int


class Minter:
    """Signs viewer (play, publish) and admin tokens with the configured signing secrets."""

    def __init__(self, viewer: KeySettings, admin: KeySettings, *, default_ttl: int, max_ttl: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._viewer = viewer
        self._admin = admin
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> Minter:
        return cls(settings.viewer, settings.admin, default_ttl=settings.default_token_ttl,
                   max_ttl=settings.max_token_ttl)

    @property
    def admin_max_ttl(self) -> int:
        return int(self._admin.max_lifetime or 0)

    def viewer(self, role: Role, *, stream: str | None = None, group: str | None = None, room: str | None = None,
               ttl: int | None = None, expires_at: int | None = None, field: str = "ttl") -> Minted:
        """A play or publish token for one stream, group or room (claim ``streamId``, ``group`` or ``roomId``),
        living ``ttl`` seconds (default ``tokens.default_ttl``) or until ``expires_at``. ``field`` names the
        client's input in errors."""
        scope = {name: value for name, value in (("streamId", stream), ("group", group), ("roomId", room))
                 if value is not None}
        if role is Role.ADMIN or len(scope) != 1:
            raise ValueError("a viewer token has a play/publish type and exactly one of stream, group or room")
        secret = self._viewer.signing_secret
        if secret is None:
            raise Unavailable("this server holds no signing secret (its tokens are signed elsewhere); "
                              "set HLSGATE_JWT_SECRET to mint tokens here")
        now = self._clock()
        if expires_at is None:
            expires_at = int(now) + (self.default_ttl if ttl is None else ttl)
        lifetime = expires_at - now
        if lifetime <= 0:  # not "< 1": ttl=1 from a fractional now leaves less than a second, still a valid token
            raise BadRequest(f"{field} gives a token that is already expired")
        if lifetime > self.max_ttl:
            raise BadRequest(f"{field} gives a token living longer than the allowed {self.max_ttl} s (tokens.max_ttl)")
        claims: dict[str, Any] = {"type": role.value, **scope, "iat": int(now), "exp": expires_at,
                                  "jti": secrets.token_urlsafe(JTI_BYTES)}
        return Minted(_sign(secret, _stamped(claims, self._viewer)), expires_at)

    def admin(self, ttl: int | None = None) -> Minted:
        """An admin token for the REST API, living ``ttl`` seconds (default and maximum ``admin.max_lifetime``)."""
        secret = self._admin.signing_secret
        if secret is None:
            raise Unavailable("no admin secret: set HLSGATE_ADMIN_SECRET (32 bytes or more)")
        limit = self.admin_max_ttl
        ttl = limit if ttl is None else ttl
        if not 1 <= ttl <= limit:
            raise BadRequest(f"an admin token lives 1..{limit} seconds (admin.max_lifetime)")
        now = int(self._clock())
        claims: dict[str, Any] = {"type": Role.ADMIN.value, "iat": now, "exp": now + ttl,
                                  "jti": secrets.token_urlsafe(JTI_BYTES)}
        if self._admin.scope:
            claims["scope"] = self._admin.scope
        return Minted(_sign(secret, _stamped(claims, self._admin)), now + ttl)


def _stamped(claims: dict[str, Any], settings: KeySettings) -> dict[str, Any]:
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    return claims


def _sign(secret: HmacSecret, claims: Mapping[str, Any]) -> str:
    headers = {"kid": secret.kid} if secret.kid else None
    return jwt.encode(dict(claims), secret.secret, algorithm="HS256", headers=headers)
