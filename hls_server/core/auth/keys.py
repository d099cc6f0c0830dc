"""Verification keys: HMAC secrets and PEM public keys from the settings, and the keys behind a JWKS URL.

- :func:`static_keys` reads the configured secrets and PEM files once; weak or unusable keys stop the server.
- :class:`JwksSource` keeps the keys of a JWKS URL: fetched with aiohttp (never blocking the event loop),
  parsed in a worker thread, refreshed after a TTL in the background, refetched on an unknown ``kid`` at most
  once per interval (single flight), and kept when the URL is down or returns garbage.

Header key material (``jwk``, ``jku``, ``x5u``, ``x5c``) is never read: keys come from configuration only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..errors import ConfigError, KeySourceError
from ..settings import EC_ALGORITHMS, HMAC_ALGORITHMS, RSA_ALGORITHMS, KeySettings

log = logging.getLogger(__name__)

Family = Literal["HMAC", "RSA", "EC"]
MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 1 << 20


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

