"""Tokens in, grants out. The only module that imports ``jwt``.

- :class:`Verifier` checks a token against the configured keys and claim rules and returns a :class:`Grant`.
  Verified grants are cached by token string (bounded, dropped at expiry and whenever the keys change), so a
  player fetching segment after segment costs one dictionary lookup, not one signature check, per request.
- :class:`JwksSource` keeps the keys of a JWKS URL: fetched with aiohttp (never blocking the event loop),
  parsed in a worker thread, refreshed after a TTL in the background, refetched on an unknown ``kid`` at most
  once per interval (single flight), and kept when the URL is down or returns garbage.
- :func:`grant_from_claims` is the pure claims policy; :func:`mint` signs the tokens the server hands out.

Header key material (``jwk``, ``jku``, ``x5u``, ``x5c``) is never read: keys come from configuration only, and
the algorithm allowlist comes from configuration, never from the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..errors import (
    ConfigError,
    KeySourceError,
    TokenConflict,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    TokenNotYetValid,
    TokenTooLarge,
)
from ..grants import Grant, Role, is_name
from ..settings import EC_ALGORITHMS, HMAC_ALGORITHMS, RSA_ALGORITHMS, HmacSecret, KeySettings

log = logging.getLogger(__name__)

Family = Literal["HMAC", "RSA", "EC"]
MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 1 << 20
MAX_CANDIDATE_KEYS = 8  # a token without kid is tried against at most this many keys of its family
SCOPE_CLAIMS = ("streamId", "group", "roomId")
TIME_CLAIMS = ("exp", "nbf", "iat")


def family_of(algorithm: str) -> Family:
    if algorithm in HMAC_ALGORITHMS:
        return "HMAC"
    if algorithm in RSA_ALGORITHMS:
        return "RSA"
    if algorithm in EC_ALGORITHMS:
        return "EC"
    raise ValueError(algorithm)


@dataclass(frozen=True, slots=True)
class VerifyKey:
    kid: str | None
    family: Family
    material: Any  # bytes for HMAC, a cryptography public key otherwise
    algorithm: str | None = None  # a JWK's own "alg": the key is used with that algorithm only


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What a verified payload must satisfy beyond its signature (pyjwt checks exp/nbf/iat/aud/iss first)."""

    require_exp: bool = True
    require_iat: bool = False
    max_lifetime: float | None = None
    admin: bool = False  # the admin verifier: tokens without a ``type`` but with OpenTok's ``ist`` are admin


# -- extracting the token from a request ---------------------------------------------------------------------


def pick_token(query_tokens: Iterable[str], authorization: str | None) -> str:
    """The one token of a request, from ``?token=`` and/or ``Authorization`` (``Bearer <jwt>`` or bare ``<jwt>``).

    Two different tokens (two query values, or query and header disagreeing) are refused: which one would
    win is exactly the ambiguity an attacker looks for.
    """
    found = {t for t in query_tokens if t}
    if authorization is not None and authorization.strip():
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            if rest.strip():  # "Bearer" alone carries no token: missing, unless the query has one
                found.add(rest.strip())
        elif not rest:
            found.add(scheme)  # the seeds' bare "Authorization: <jwt>"
        else:
            raise TokenInvalid("unsupported Authorization scheme: use 'Bearer <token>'")
    if not found:
        raise TokenMissing("no token: add ?token=... to the URL or send 'Authorization: Bearer ...'")
    if len(found) > 1:
        raise TokenConflict("the request carries two different tokens; send one")
    return found.pop()


# -- the claims policy (pure) --------------------------------------------------------------------------------


def grant_from_claims(claims: Mapping[str, Any], policy: ClaimsPolicy) -> Grant:
    """Turn a payload whose signature and time window pyjwt has checked into a grant, or raise TokenInvalid."""
    _check_time_claims(claims)
    if policy.require_exp and "exp" not in claims:
        raise TokenInvalid("the token has no exp claim")
    if policy.require_iat and "iat" not in claims:
        raise TokenInvalid("the token has no iat claim")
    if policy.max_lifetime is not None:
        if "iat" not in claims or "exp" not in claims:
            raise TokenInvalid("the token needs iat and exp claims (a maximum lifetime is configured)")
        if claims["exp"] - claims["iat"] > policy.max_lifetime:
            raise TokenInvalid(f"the token lives longer than the allowed {policy.max_lifetime:g} s")
    jti = claims.get("jti")
    if jti is not None and not isinstance(jti, str):
        raise TokenInvalid("the jti claim must be a string")
    expires_at = float(claims["exp"]) if "exp" in claims else None
    role = _role(claims, policy)
    if role is Role.ADMIN:
        return Grant(role, expires_at=expires_at, token_id=jti)
    streams: set[str] = set()
    groups: set[str] = set()
    for name in SCOPE_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if not is_name(value):
            raise TokenInvalid(f"the {name} claim must be an id of 1-64 letters, digits, '-' or '_'")
        (streams if name == "streamId" else groups).add(value)
    if not streams and not groups:
        raise TokenInvalid("the token names no stream: it needs a streamId, group or roomId claim")
    return Grant(role, frozenset(streams), frozenset(groups), expires_at, jti)


def _role(claims: Mapping[str, Any], policy: ClaimsPolicy) -> Role:
    kind = claims.get("type")
    if kind is None and policy.admin and claims.get("ist") in ("project", "account"):
        return Role.ADMIN  # OpenTok's REST token shape
    try:
        return Role(kind)
    except ValueError:
        raise TokenInvalid("the type claim must be play or publish") from None


def _is_number(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float (1 followed by 400 zeros) is no time
        return False


def _check_time_claims(claims: Mapping[str, Any]) -> None:
    for name in TIME_CLAIMS:
        if name in claims and not _is_number(claims[name]):
            raise TokenInvalid(f"the {name} claim must be a number (seconds since the epoch)")


def _signed_payload(token: str) -> Mapping[str, Any]:
    """The payload of a token pyjwt refused for its time window, which it does only after checking the signature.

    pyjwt reads ``true`` or ``"1"`` as times: such a token is malformed, not expired or not yet valid.
    """
    try:
        payload = json.loads(jwt.utils.base64url_decode(token.split(".")[1]))
    except (ValueError, IndexError):
        return {}
    return payload if isinstance(payload, dict) else {}


# -- keys ----------------------------------------------------------------------------------------------------


def static_keys(settings: KeySettings) -> list[VerifyKey]:
    """HMAC secrets and PEM public keys from the settings. Weak or unusable keys stop the server (ConfigError)."""
    keys = [VerifyKey(s.kid, "HMAC", s.secret) for s in settings.secrets]
    for path in settings.public_key_files:
        keys.append(_load_pem(path))
    return keys


def _load_pem(path: Path) -> VerifyKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as err:
        raise ConfigError(f"{path} is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)") from err
    kid = path.stem
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{path}: RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} are required")
        return VerifyKey(kid, "RSA", key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return VerifyKey(kid, "EC", key)
    raise ConfigError(f"{path}: only RSA and EC public keys are supported")


def parse_jwks(body: bytes, algorithms: Iterable[str]) -> list[VerifyKey]:
    """Usable signing keys of a JWKS document. Runs in a worker thread (building RSA keys costs CPU)."""
    allowed = set(algorithms)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # deep nesting raises RecursionError
        raise KeySourceError("the JWKS is not JSON") from err
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeySourceError("the JWKS has no 'keys' list")
    keys: list[VerifyKey] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") not in ("RSA", "EC"):
            continue  # encryption keys, symmetric keys and junk are not ours to use
        alg = entry.get("alg")
        if alg is not None and (not isinstance(alg, str) or alg not in allowed):
            continue
        try:
            material = jwt.PyJWK(entry).key
        except (jwt.PyJWTError, ValueError, TypeError) as err:
            log.warning("skipping an unusable JWKS key (kid %r): %s", entry.get("kid"), err)
            continue
        if isinstance(material, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            material = material.public_key()
        if isinstance(material, rsa.RSAPublicKey):
            if material.key_size < MIN_RSA_BITS:
                log.warning("skipping JWKS key %r: RSA %d bits < %d", entry.get("kid"), material.key_size,
                            MIN_RSA_BITS)
                continue
            family: Family = "RSA"
        elif isinstance(material, ec.EllipticCurvePublicKey):
            family = "EC"
        else:
            continue
        kid = entry.get("kid")
        keys.append(VerifyKey(kid if isinstance(kid, str) else None, family, material, alg))
    if not keys:
        raise KeySourceError("the JWKS holds no usable signing key")
    return keys


class JwksSource:
    """The keys behind a JWKS URL, kept fresh without ever making a request wait on a slow key server."""

    def __init__(self, url: str, algorithms: Iterable[str], *, ttl: float, min_refetch: float, timeout: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._algorithms = tuple(algorithms)
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._timeout = timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._inflight: asyncio.Task[bool] | None = None
        self._last_attempt = -math.inf
        self._fetched_at = -math.inf
        self.keys: tuple[VerifyKey, ...] = ()
        self.fetches = 0  # attempts made, for tests and the health endpoint

    def bind(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    @property
    def stale(self) -> bool:
        """Due for a background refresh: older than the TTL, and no attempt (even a failed one) too recently."""
        now = self._clock()
        return now - self._fetched_at >= self._ttl and now - self._last_attempt >= self._min_refetch

    def refresh(self) -> asyncio.Task[bool]:
        """Start a fetch unless one is running (single flight). The task's result: did the keys change."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.get_running_loop().create_task(self._fetch())
        return self._inflight

    async def refresh_for_unknown_kid(self) -> bool:
        """A token names a kid we do not hold: refetch, at most once per ``min_refetch`` seconds."""
        running = self._inflight is not None and not self._inflight.done()
        if not running and self._clock() - self._last_attempt < self._min_refetch:
            return False
        return await asyncio.shield(self.refresh())

    async def _fetch(self) -> bool:
        if self._session is None:
            raise RuntimeError("JwksSource.bind() was not called")
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            async with self._session.get(self.url, timeout=timeout, allow_redirects=False) as response:
                if response.status != 200:
                    raise KeySourceError(f"HTTP {response.status}")
                if (response.content_length or 0) > MAX_JWKS_BYTES:
                    raise KeySourceError("the JWKS is larger than 1 MiB")
                body = bytearray()  # read(n) would return only what has arrived so far: read to the end
                async for chunk in response.content.iter_any():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise KeySourceError("the JWKS is larger than 1 MiB")
            keys = await asyncio.get_running_loop().run_in_executor(None, parse_jwks, bytes(body),
                                                                    self._algorithms)
        except (aiohttp.ClientError, TimeoutError, KeySourceError) as err:
            reason = str(err) or type(err).__name__
            log.warning("JWKS %s unavailable (%s); keeping the %d keys held", self.url, reason, len(self.keys))
            return False
        self._fetched_at = self._clock()
        changed = tuple(keys) != self.keys
        self.keys = tuple(keys)
        return changed


# -- verification --------------------------------------------------------------------------------------------


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
        self._policy = ClaimsPolicy(settings.require_exp, settings.require_iat, settings.max_lifetime, admin)
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
                _check_time_claims(_signed_payload(token))
                raise TokenExpired("the token has expired") from None
            except jwt.ImmatureSignatureError:
                _check_time_claims(_signed_payload(token))
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


# -- minting -------------------------------------------------------------------------------------------------


def mint(secret: HmacSecret, claims: Mapping[str, Any]) -> str:
    headers = {"kid": secret.kid} if secret.kid else None
    return jwt.encode(dict(claims), secret.secret, algorithm="HS256", headers=headers)


def viewer_claims(role: Role, *, stream: str | None = None, group: str | None = None, expires_at: int,
                  now: float, settings: KeySettings) -> dict[str, Any]:
    """The claims of a play or publish token the server mints (Ant Media's names: type, streamId, exp)."""
    if role is Role.ADMIN or (stream is None) == (group is None):
        raise ValueError("a viewer token has a play/publish type and exactly one of stream or group")
    claims: dict[str, Any] = {"type": role.value, "iat": int(now), "exp": int(expires_at),
                              "jti": secrets.token_urlsafe(12)}
    claims["streamId" if stream is not None else "group"] = stream if stream is not None else group
    _stamp(claims, settings)
    return claims


def admin_claims(*, ttl: int, now: float, settings: KeySettings) -> dict[str, Any]:
    claims: dict[str, Any] = {"type": Role.ADMIN.value, "iat": int(now), "exp": int(now) + ttl,
                              "jti": secrets.token_urlsafe(12)}
    _stamp(claims, settings)
    return claims


def _stamp(claims: dict[str, Any], settings: KeySettings) -> None:
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
