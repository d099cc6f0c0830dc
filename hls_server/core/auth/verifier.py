"""Tokens in, grants out: :class:`Verifier` checks a token against one kind's keys (viewer or admin) and claim
rules, and caches the grants of good ones. With ``keys`` and ``minting`` the only modules that import ``jwt``.

Verified grants are cached by token string (bounded, dropped at expiry and whenever the keys change), so a
player fetching segment after segment costs one dictionary lookup, not one signature check, per request. The
algorithm allowlist comes from configuration, never from the token.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from ..errors import TokenExpired, TokenInvalid, TokenNotYetValid, TokenTooLarge
from ..grants import Grant
from ..settings import KeySettings
from .claims import ClaimsPolicy, check_time_claims, grant_from_claims
from .keys import Family, JwksSource, VerifyKey, family_of, static_keys

MAX_CANDIDATE_KEYS = 8  # a token without kid is tried against at most this many keys of its family
JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
"""A JWS compact serialisation (RFC 7515 §7.1): three base64url parts. Whatever else arrives where a token is
expected (non-UTF-8 bytes, control characters, lookalike Unicode, spaces) is refused before any decoding."""


class Verifier:
    """Checks tokens of one kind (viewer or admin) and caches the grants of good ones."""

    def __init__(self, settings: KeySettings, *, max_token_bytes: int, cache_size: int, admin: bool = False,
                 jwks: JwksSource | None = None, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._algorithms = frozenset(settings.algorithms)
        self._static = static_keys(settings)
        self._jwks = jwks
        self._jwks_keys: tuple[VerifyKey, ...] = ()
        self._max_bytes = max_token_bytes
        self._cache_size = cache_size
        self._cache: dict[str, Grant] = {}
        self._clock = clock
        self._policy = ClaimsPolicy(settings.require_exp, settings.require_iat, settings.max_lifetime, admin,
                                    settings.scope)
        self._options: dict[str, Any] = {"require": [c for c, on in (("exp", settings.require_exp),
                                                                     ("iat", settings.require_iat)) if on]}

    @property
    def jwks(self) -> JwksSource | None:
        return self._jwks

    def forget(self) -> None:
        """Drop every cached grant (keys changed, or a revocation)."""
        self._cache.clear()

    async def verify(self, token: str) -> Grant:
        self._sync_jwks()  # before the cache: a removed key must not keep serving its cached grants
        grant = self._cache.get(token)
        if grant is not None:
            if grant.expires_at is None or self._clock() < grant.expires_at + self._settings.leeway:
                return grant
            del self._cache[token]
        try:
            grant = self._verify(token)
        except _UnknownKey:
            if self._jwks is None or not await self._jwks.refresh_for_unknown_kid():
                raise TokenInvalid("the token's key id is not one of the configured keys") from None
            self._sync_jwks()
            try:
                grant = self._verify(token)
            except _UnknownKey:
                raise TokenInvalid("the token's key id is not one of the configured keys") from None
        if self._cache_size:
            if len(self._cache) >= self._cache_size:
                self._evict()
            self._cache[token] = grant
        return grant

    def _sync_jwks(self) -> None:
        if self._jwks is None:
            return
        if self._jwks.stale:
            self._jwks.refresh()  # in the background: this request uses the keys held now
        if self._jwks.keys != self._jwks_keys:
            self._jwks_keys = self._jwks.keys
            self.forget()  # a removed key must not keep its tokens alive through the cache

    def _evict(self) -> None:
        now = self._clock()
        expired = [t for t, g in self._cache.items() if g.expires_at is not None and g.expires_at <= now]
        for token in expired:
            del self._cache[token]
        while len(self._cache) >= self._cache_size:  # still full: drop the oldest quarter
            for token in list(self._cache)[: max(1, self._cache_size // 4)]:
                del self._cache[token]

    def _verify(self, token: str) -> Grant:
        if len(token) > self._max_bytes:
            raise TokenTooLarge(f"the token is longer than {self._max_bytes} bytes")
        if JWS_COMPACT.fullmatch(token) is None:
            raise TokenInvalid("the token is not a JWT (three base64url parts separated by dots)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("the token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenInvalid("the token's algorithm is not allowed")
        if "crit" in header:
            raise TokenInvalid("the token has critical header extensions this server does not support")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenInvalid("the token's kid must be a string")
        candidates = self._candidates(family_of(alg), alg, kid)
        if not candidates:
            if kid is not None:
                raise _UnknownKey
            raise TokenInvalid("no configured key can check this token")
        claims = self._decode(token, alg, candidates)
        return grant_from_claims(claims, self._policy)

    def _candidates(self, family: Family, alg: str, kid: str | None) -> list[VerifyKey]:
        found = [k for k in (*self._static, *self._jwks_keys)
                 if k.family == family and (k.algorithm is None or k.algorithm == alg)
                 and (kid is None or k.kid == kid)]
        return found[:MAX_CANDIDATE_KEYS]

    def _decode(self, token: str, alg: str, candidates: list[VerifyKey]) -> dict[str, Any]:
        s = self._settings
        for key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key.material, algorithms=[alg], options=self._options,  # type: ignore[arg-type]
                    audience=s.audience, issuer=s.issuer, leeway=s.leeway)
                return claims
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError):  # e.g. an EC key of another curve
                continue
            except jwt.ExpiredSignatureError:
                check_time_claims(_signed_payload(token))
                raise TokenExpired("the token has expired") from None
            except jwt.ImmatureSignatureError:
                check_time_claims(_signed_payload(token))
                raise TokenNotYetValid("the token is not valid yet (nbf or iat in the future)") from None
            except jwt.MissingRequiredClaimError as err:
                raise TokenInvalid(f"the token has no {err.claim} claim") from None
            except jwt.InvalidAudienceError:
                raise TokenInvalid("the token is for another audience (aud)") from None
            except jwt.InvalidIssuerError:
                raise TokenInvalid("the token is from another issuer (iss)") from None
            except jwt.PyJWTError:  # includes key errors that are not token errors: never a 500
                raise TokenInvalid("the token is malformed or its claims are invalid") from None
            except (ValueError, TypeError):
                raise TokenInvalid("the token is malformed") from None
        raise TokenInvalid("the token's signature does not verify")


class _UnknownKey(Exception):
    """The token names a kid none of the held keys has: maybe the JWKS rotated."""



def _signed_payload(token: str) -> Mapping[str, Any]:
    """The payload of a token pyjwt refused for its time window, which it does only after checking the signature.

    pyjwt reads ``true`` or ``"1"`` as times: such a token is malformed, not expired or not yet valid.
    """
    try:
        payload = json.loads(jwt.utils.base64url_decode(token.split(".")[1]))
    except (ValueError, IndexError):
        return {}
    return payload if isinstance(payload, dict) else {}
