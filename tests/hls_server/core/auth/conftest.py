"""Shared by the auth tests: a clock the test moves, a Verifier as the origin builds one, tokens no other test
makes, and keys made once per run."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hls_server.core.auth.keys import JwksSource
from hls_server.core.auth.verifier import Verifier
from hls_server.core.settings import KeySettings

from ...conftest import STREAM

MAX_TOKEN_BYTES = 4096
JWKS_ALGORITHMS = ("RS256", "ES256")
NOW = 1_700_000_000
BASE: dict[str, Any] = {"type": "play", "streamId": "s1", "iat": NOW, "exp": NOW + 300}  # a play token's claims


class FakeClock:
    """A clock the test moves by hand (inject as ``clock=``)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def verifier(settings: KeySettings, *, cache_size: int = 100, clock: Callable[[], float] = time.time,
             admin: bool = False, jwks: JwksSource | None = None) -> Verifier:
    return Verifier(settings, max_token_bytes=MAX_TOKEN_BYTES, cache_size=cache_size, clock=clock, admin=admin,
                    jwks=jwks)


def unique(secret: Any, *, kid: str | None = None, algorithm: str = "HS256", **claims: Any) -> str:
    """A play token for STREAM that no other call returns (its own jti), so caches never mix two tests' tokens."""
    now = int(time.time())
    payload: dict[str, Any] = {"type": "play", "streamId": STREAM, "iat": now, "exp": now + 3600,
                               "jti": secrets.token_hex(8), **claims}
    return jwt.encode(payload, secret, algorithm=algorithm, headers={"kid": kid} if kid is not None else None)


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="session")
def ec_keys() -> list[ec.EllipticCurvePrivateKey]:
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
