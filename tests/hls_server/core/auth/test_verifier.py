"""Tokens in, grants out: the pure claims policy, the Verifier (HMAC rotation, PEM keys, the
grant cache) and the JWKS source against a real JWKS server on loopback.

End-to-end attacks over HTTP live in ``test_security.py``; these tests pin the units those attacks go through.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from hls_server.core.auth import keys as auth
from hls_server.core.auth.claims import ClaimsPolicy, grant_from_claims
from hls_server.core.auth.keys import MAX_JWKS_BYTES, JwksSource, VerifyKey, parse_jwks
from hls_server.core.auth.minting import Minter
from hls_server.core.auth.verifier import Verifier
from hls_server.core.errors import (
    ConfigError,
    KeySourceError,
    TokenInvalid,
    TokenTooLarge,
)
from hls_server.core.grants import Action, Grant, Role, Target, allows
from hls_server.core.settings import HmacSecret, KeySettings, load_settings

from ...conftest import OTHER_SECRET, SECRET, STREAM, make_token

NOW = 1_700_000_000
S1 = secrets.token_urlsafe(40)
S2 = secrets.token_urlsafe(40)
S0 = secrets.token_urlsafe(40)
MAX_TOKEN_BYTES = 4096
JWKS_ALGORITHMS = ("RS256", "ES256")
MIN_REFETCH = 30.0
TTL = 300.0


class FakeClock:
    """A clock the test moves by hand (inject as ``clock=``)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hs_settings(*pairs: tuple[str | None, str], **kwargs: Any) -> KeySettings:
    return KeySettings(secrets=tuple(HmacSecret(kid, value.encode()) for kid, value in pairs),
                       algorithms=("HS256",), **kwargs)


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


def hand_signed(header: Mapping[str, Any], payload: Mapping[str, Any], secret: str) -> str:
    """An HS256 token built by hand, for headers pyjwt refuses to write."""
    def part(value: Mapping[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(payload)
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token that reaches ``jwt.decode`` (a signature check), in order."""
    calls: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return calls


# -- grant_from_claims (pure) --------------------------------------------------------------------------------

VIEWER = ClaimsPolicy()
VIEWER_NO_EXP = ClaimsPolicy(require_exp=False)
VIEWER_MAX_LIFE = ClaimsPolicy(max_lifetime=600)
ADMIN = ClaimsPolicy(require_iat=True, max_lifetime=300, admin=True)
ADMIN_SCOPED = ClaimsPolicy(require_iat=True, max_lifetime=300, admin=True, required_scope="hlsgate:admin")
BASE: dict[str, Any] = {"type": "play", "streamId": "s1", "iat": NOW, "exp": NOW + 300}
DROP = object()  # a claim value meaning "leave the claim out"


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {**BASE, **changes}
    return {k: v for k, v in claims.items() if v is not DROP}


def _grant(role: Role, streams: Iterable[str] = (), groups: Iterable[str] = (),
           expires_at: float | None = NOW + 300, jti: str | None = None) -> Grant:
    return Grant(role, frozenset(streams), frozenset(groups), expires_at, jti)


GRANTED: dict[str, tuple[dict[str, Any], ClaimsPolicy, Grant]] = {
    "play a stream": (_claims(), VIEWER, _grant(Role.PLAY, ["s1"])),
    "publish a stream": (_claims(type="publish"), VIEWER, _grant(Role.PUBLISH, ["s1"])),
    "play a group": (_claims(streamId=DROP, group="g1"), VIEWER, _grant(Role.PLAY, groups=["g1"])),
    "roomId counts as a group": (_claims(streamId=DROP, roomId="room1"), VIEWER,
                                 _grant(Role.PLAY, groups=["room1"])),
    "every scope claim": (_claims(group="g1", roomId="room1"), VIEWER,
                          _grant(Role.PLAY, ["s1"], ["g1", "room1"])),
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
    assert allows(grant, Action.PLAY, Target("s2"), {"room1": frozenset({"s2"})})
    assert not allows(grant, Action.PLAY, Target("room1"), {"room1": frozenset({"s2"})})


# -- Verifier: HMAC secrets, kid rotation --------------------------------------------------------------------

ROTATION_FORMS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "toml table": ({"auth.secrets": {"k1": S1, "k2": S2}}, {}),
    "environment": ({}, {"HLSGATE_JWT_SECRETS": f"k1={S1},k2={S2}"}),
}


def _rotation(form: str, *, env: Mapping[str, str] | None = None, flags: Mapping[str, Any] | None = None) -> KeySettings:
    form_flags, form_env = ROTATION_FORMS[form]
    return load_settings({**form_flags, **(flags or {})}, {**form_env, **(env or {})}, serving=False).viewer


@pytest.mark.parametrize("form", ROTATION_FORMS)
async def test_rotation_both_kids_verify(form: str) -> None:
    settings = _rotation(form)
    assert [s.kid for s in settings.secrets] == ["k1", "k2"]
    assert settings.algorithms == ("HS256",)
    v = verifier(settings)
    assert (await v.verify(unique(S1, kid="k1"))).streams == {STREAM}
    assert (await v.verify(unique(S2, kid="k2"))).streams == {STREAM}


@pytest.mark.parametrize("form", ROTATION_FORMS)
async def test_rotation_a_token_without_kid_is_tried_against_the_secrets(form: str, decodes: list[str]) -> None:
    v = verifier(_rotation(form))
    token = unique(S2)  # signed with the second secret, names no kid
    assert (await v.verify(token)).role is Role.PLAY
    assert decodes == [token, token]  # k1 failed its signature, k2 passed


@pytest.mark.parametrize("form", ROTATION_FORMS)
async def test_rotation_beside_an_unnamed_secret(form: str) -> None:
    settings = _rotation(form, env={"HLSGATE_JWT_SECRET": S0})
    assert [s.kid for s in settings.secrets] == [None, "k1", "k2"]
    v = verifier(settings)
    assert (await v.verify(unique(S0))).role is Role.PLAY
    assert (await v.verify(unique(S2, kid="k2"))).role is Role.PLAY
    with pytest.raises(TokenInvalid):  # the unnamed secret is no wildcard for a kid
        await v.verify(unique(S0, kid="k3"))


@pytest.mark.parametrize("kid", ["k3", "", "K1", "k1 ", "../k1", "k1\x00"])
async def test_an_unknown_kid_is_invalid_without_a_signature_check(kid: str, decodes: list[str]) -> None:
    v = verifier(_rotation("environment"))
    with pytest.raises(TokenInvalid, match="key id"):
        await v.verify(unique(S1, kid=kid))
    assert decodes == []


@pytest.mark.parametrize("kid", [1, ["k1"], {"k": "k1"}, None, True])
async def test_a_kid_that_is_not_a_string_is_invalid(kid: object, decodes: list[str]) -> None:
    v = verifier(_rotation("environment"))
    good = hand_signed({"alg": "HS256", "typ": "JWT", "kid": "k1"}, {**BASE, "exp": time.time() + 60}, S1)
    assert (await v.verify(good)).role is Role.PLAY  # the hand-made token is otherwise fine
    token = hand_signed({"alg": "HS256", "typ": "JWT", "kid": kid}, {**BASE, "exp": time.time() + 60}, S1)
    with pytest.raises(TokenInvalid):
        await v.verify(token)
    assert decodes == [good]


async def test_a_kid_signed_with_the_other_secret_is_invalid() -> None:
    v = verifier(_rotation("environment"))
    with pytest.raises(TokenInvalid, match="signature"):
        await v.verify(unique(S2, kid="k1"))


@pytest.mark.parametrize(("signing_kid", "expected"), [(None, "k1"), ("k1", "k1"), ("k2", "k2")])
async def test_signing_kid_picks_the_minting_secret(signing_kid: str | None, expected: str) -> None:
    settings = _rotation("environment", flags={"auth.signing_kid": signing_kid})
    secret = settings.signing_secret
    assert secret is not None and secret.kid == expected
    token = Minter(settings, KeySettings(), default_ttl=60, max_ttl=600).viewer(Role.PLAY, stream="s1").token
    assert jwt.get_unverified_header(token)["kid"] == expected
    assert (await verifier(settings).verify(token)).streams == {"s1"}
    other = S2 if expected == "k1" else S1
    jwt.decode(token, {"k1": S1, "k2": S2}[expected], algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["HS256"])


def test_the_unnamed_secret_signs_when_no_kid_is_chosen() -> None:
    settings = hs_settings((None, S0), ("k1", S1))
    secret = settings.signing_secret
    assert secret is not None and secret.kid is None
    token = Minter(settings, KeySettings(), default_ttl=60, max_ttl=600).viewer(Role.PLAY, stream="s1").token
    assert "kid" not in jwt.get_unverified_header(token)


# -- Verifier: the grant cache -------------------------------------------------------------------------------


async def test_the_same_token_is_verified_once(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)))
    token = make_token()
    grants = [await v.verify(token) for _ in range(5)]
    assert decodes == [token]
    assert all(g is grants[0] for g in grants)


async def test_cache_entries_expire_with_the_token(decodes: list[str]) -> None:
    clock = FakeClock(time.time())
    settings = hs_settings((None, SECRET), leeway=30)
    v = verifier(settings, clock=clock)
    token = make_token(exp=int(clock.now) + 60)
    await v.verify(token)
    clock.advance(60 + 30 - 1)  # still inside exp + leeway
    await v.verify(token)
    assert len(decodes) == 1
    clock.advance(2)  # past exp + leeway: the cache lets go and the token is checked again
    await v.verify(token)  # (pyjwt's real clock still finds it valid)
    assert len(decodes) == 2


async def test_the_cache_is_bounded(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)), cache_size=2)
    t1, t2, t3 = (unique(SECRET) for _ in range(3))
    for token in (t1, t2, t3):
        await v.verify(token)
    await v.verify(t3)
    await v.verify(t2)
    assert decodes == [t1, t2, t3]  # the newest two are cached...
    await v.verify(t1)
    assert decodes == [t1, t2, t3, t1]  # ...the oldest was evicted


async def test_a_full_cache_drops_expired_grants_first(decodes: list[str]) -> None:
    clock = FakeClock(time.time())
    v = verifier(hs_settings((None, SECRET)), cache_size=2, clock=clock)
    long1 = unique(SECRET)
    short = unique(SECRET, exp=int(clock.now) + 10)
    long2 = unique(SECRET)
    await v.verify(long1)
    await v.verify(short)
    clock.advance(11)  # short has expired (but is still within the leeway)
    await v.verify(long2)
    await v.verify(long1)
    assert decodes == [long1, short, long2]  # long1 survived: the expired grant made room


async def test_many_tokens_never_grow_the_cache_past_its_size(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)), cache_size=8)
    tokens = [unique(SECRET) for _ in range(40)]
    for token in tokens:
        await v.verify(token)
    decodes.clear()
    for token in tokens:
        await v.verify(token)
    assert len(decodes) >= 40 - 8


async def test_forget_clears_the_cache(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)))
    token = make_token()
    await v.verify(token)
    v.forget()
    await v.verify(token)
    assert decodes == [token, token]


async def test_cache_size_zero_caches_nothing(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)), cache_size=0)
    token = make_token()
    await v.verify(token)
    await v.verify(token)
    assert decodes == [token, token]


async def test_a_refused_token_is_not_cached() -> None:
    v = verifier(hs_settings((None, SECRET)))
    token = make_token(OTHER_SECRET)
    for _ in range(2):
        with pytest.raises(TokenInvalid):
            await v.verify(token)


async def test_an_oversized_token_is_refused_before_decoding(decodes: list[str]) -> None:
    v = verifier(hs_settings((None, SECRET)))
    token = make_token(pad="x" * MAX_TOKEN_BYTES)
    with pytest.raises(TokenTooLarge):
        await v.verify(token)
    assert decodes == []


# -- Verifier: PEM public keys -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="session")
def ec_keys() -> list[ec.EllipticCurvePrivateKey]:
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]


def write_pem(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def pem_settings(*paths: Path, algorithms: tuple[str, ...] = JWKS_ALGORITHMS) -> KeySettings:
    return KeySettings(public_key_files=paths, algorithms=algorithms)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_pem_public_key_verifies(algorithm: str, tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey],
                                         ec_keys: list[ec.EllipticCurvePrivateKey]) -> None:
    signer, stranger = (rsa_keys[0], rsa_keys[1]) if algorithm == "RS256" else (ec_keys[0], ec_keys[1])
    v = verifier(pem_settings(write_pem(tmp_path / "signer.pem", signer)))
    assert (await v.verify(unique(signer, algorithm=algorithm, kid="signer"))).streams == {STREAM}
    assert (await v.verify(unique(signer, algorithm=algorithm))).streams == {STREAM}  # no kid: tried
    with pytest.raises(TokenInvalid, match="signature"):
        await v.verify(unique(stranger, algorithm=algorithm, kid="signer"))
    with pytest.raises(TokenInvalid, match="key id"):
        await v.verify(unique(signer, algorithm=algorithm, kid="other"))


async def test_the_algorithm_must_match_the_key_family(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    v = verifier(pem_settings(write_pem(tmp_path / "rsa.pem", rsa_keys[0]), algorithms=("ES256",)))
    with pytest.raises(TokenInvalid):
        await v.verify(unique(rsa_keys[0], algorithm="RS256"))  # RS256 is not allowed here
    with pytest.raises(TokenInvalid, match="no configured key"):
        await v.verify(unique(ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"))


async def test_a_key_of_another_curve_does_not_hide_the_right_one(
        tmp_path: Path, ec_keys: list[ec.EllipticCurvePrivateKey]) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    settings = pem_settings(write_pem(tmp_path / "a-p384.pem", p384), write_pem(tmp_path / "b-p256.pem", ec_keys[0]),
                            algorithms=("ES256", "ES384"))
    v = verifier(settings)
    assert (await v.verify(unique(ec_keys[0], algorithm="ES256"))).role is Role.PLAY
    assert (await v.verify(unique(p384, algorithm="ES384"))).role is Role.PLAY
    with pytest.raises(TokenInvalid):  # a kid naming the wrong curve's key
        await v.verify(unique(ec_keys[0], algorithm="ES256", kid="a-p384"))


def test_an_rsa_1024_pem_is_refused(tmp_path: Path) -> None:
    path = write_pem(tmp_path / "weak.pem", rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 (refused on purpose)
    with pytest.raises(ConfigError, match=r"1024 bits.*2048") as caught:
        verifier(pem_settings(path))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("content", [b"not a key", b"", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_a_file_that_is_not_a_pem_public_key_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="PEM"):
        verifier(pem_settings(path))


def test_a_private_key_pem_is_refused(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    path = tmp_path / "private.pem"
    path.write_bytes(rsa_keys[0].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="PEM public key"):
        verifier(pem_settings(path))


# -- JWKS against a real server on loopback ------------------------------------------------------------------

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def jwk(key: Key, kid: object, **extra: Any) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        entry = RSAAlgorithm.to_jwk(public, as_dict=True)
        entry.setdefault("alg", "RS256")
    else:
        entry = ECAlgorithm.to_jwk(public, as_dict=True)
        entry.setdefault("alg", "ES256")
    entry["use"] = "sig"
    if kid is not None:
        entry["kid"] = kid
    entry.update(extra)
    return {k: v for k, v in entry.items() if v is not None}


def sign(key: Key, kid: str | None, **claims: Any) -> str:
    return unique(key, kid=kid, algorithm="RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256", **claims)


@dataclass
class JwksServer:
    """A JWKS endpoint the test rewires: what it serves, how it fails, and how often it was asked."""

    body: bytes = b'{"keys": []}'
    mode: str = "ok"  # ok | status500 | redirect | slow | drop | chunked
    hits: int = 0
    url: str = ""
    gate: asyncio.Event | None = None  # when set, requests wait for it before answering
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends every wait at teardown

    def serve(self, *entries: dict[str, Any]) -> None:
        self.body = json.dumps({"keys": list(entries)}).encode()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.mode == "status500":
            return web.Response(status=500, text="internal error")
        if self.mode == "redirect":
            raise web.HTTPFound("http://127.0.0.1:9/elsewhere.json")
        if self.mode == "slow":
            await self.release.wait()
        if self.mode == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if self.mode == "chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(self.body), 64 * 1024):
                await response.write(self.body[start:start + 64 * 1024])
            await response.write_eof()
            return response
        return web.Response(body=self.body, content_type="application/json")


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = JwksServer()
    app = web.Application()
    app.router.add_get("/jwks.json", server.handle)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    server.url = str(test_server.make_url("/jwks.json"))
    yield server
    server.release.set()
    if server.gate is not None:
        server.gate.set()
    await test_server.close()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@dataclass
class Jwks:
    server: JwksServer
    source: JwksSource
    verifier: Verifier
    clock: FakeClock


StartJwks = Callable[..., Any]


@pytest.fixture
def start_jwks(jwks_server: JwksServer, client: aiohttp.ClientSession) -> StartJwks:
    """``await start_jwks(*entries, timeout=...)``: serve the entries, fetch them as the origin does at start."""

    async def start(*entries: dict[str, Any], timeout: float = 2.0, cache_size: int = 100) -> Jwks:
        jwks_server.serve(*entries)
        clock = FakeClock(10_000.0)
        source = JwksSource(jwks_server.url, JWKS_ALGORITHMS, ttl=TTL, min_refetch=MIN_REFETCH, timeout=timeout,
                            clock=clock)
        source.bind(client)
        await source.refresh()
        settings = KeySettings(jwks_url=jwks_server.url, algorithms=JWKS_ALGORITHMS)
        return Jwks(jwks_server, source, verifier(settings, cache_size=cache_size, jwks=source), clock)

    return start


async def test_jwks_keys_are_loaded_at_start(start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey],
                                             ec_keys: list[ec.EllipticCurvePrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"), jwk(ec_keys[0], "e1"))
    assert (j.server.hits, j.source.fetches) == (1, 1)
    assert {k.kid for k in j.source.keys} == {"r1", "e1"}
    assert (await j.verifier.verify(sign(rsa_keys[0], "r1"))).streams == {STREAM}
    assert (await j.verifier.verify(sign(ec_keys[0], "e1"))).streams == {STREAM}
    assert (await j.verifier.verify(sign(ec_keys[0], None))).streams == {STREAM}
    with pytest.raises(TokenInvalid, match="signature"):
        await j.verifier.verify(sign(rsa_keys[1], "r1"))
    assert j.server.hits == 1  # known kids never refetch


async def test_a_new_kid_refetches_once_for_twenty_concurrent_requests(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.serve(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2"))  # the issuer rotates
    j.clock.advance(MIN_REFETCH + 1)
    tokens = [sign(rsa_keys[1], "r2") for _ in range(20)]
    grants = await asyncio.gather(*(j.verifier.verify(t) for t in tokens))
    assert all(g.streams == {STREAM} for g in grants)
    assert (j.server.hits, j.source.fetches) == (2, 2)


async def test_unknown_kids_refetch_at_most_once_per_interval(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.serve(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2"))
    j.clock.advance(MIN_REFETCH - 1)  # the start-up fetch was less than min_refetch ago
    with pytest.raises(TokenInvalid, match="key id"):
        await j.verifier.verify(sign(rsa_keys[1], "r2"))
    assert j.server.hits == 1
    j.clock.advance(2)  # now it may
    assert (await j.verifier.verify(sign(rsa_keys[1], "r2"))).role is Role.PLAY
    assert j.server.hits == 2
    for _ in range(3):  # a second unknown kid right after: no fetch
        with pytest.raises(TokenInvalid, match="key id"):
            await j.verifier.verify(sign(rsa_keys[2], "r3"))
    assert j.server.hits == 2
    j.clock.advance(MIN_REFETCH)
    with pytest.raises(TokenInvalid, match="key id"):  # fetched again, still unknown
        await j.verifier.verify(sign(rsa_keys[2], "r3"))
    assert j.server.hits == 3


async def settle() -> None:
    """Let background fetches against the loopback server finish (each takes a few milliseconds)."""
    await asyncio.sleep(0.05)


def _padded(entries: list[dict[str, Any]], size: int) -> bytes:
    body = json.dumps({"keys": entries}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


OUTAGES: dict[str, tuple[str, bytes | None]] = {
    "HTTP 500": ("status500", None),
    "redirect": ("redirect", None),
    "slow beyond the timeout": ("slow", None),
    "connection dropped": ("drop", None),
    "not JSON": ("ok", b"<html>maintenance</html>"),
    "not UTF-8": ("ok", b"\xff\xfe{"),
    "JSON without keys": ("ok", b'{"kids": []}'),
    "keys not a list": ("ok", b'{"keys": "r1"}'),
    "a JSON list": ("ok", b"[1, 2]"),
    "no usable key": ("ok", b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'),
    "alg is a list": ("ok", b'{"keys": [{"kty": "RSA", "kid": "r2", "alg": ["RS256"], "n": "AQAB", "e": "AQAB"}]}'),
    "kid and kty of odd types": ("ok", b'{"keys": [{"kty": ["RSA"], "kid": {"a": 1}, "use": [1]}]}'),
    "deeply nested": ("ok", b"[" * 200_000),
    "truncated": ("ok", b'{"keys": [{"kty": "RSA", "kid": "r2", "n": "'),
    "empty body": ("ok", b""),
}


@pytest.mark.parametrize(("mode", "body"), OUTAGES.values(), ids=OUTAGES.keys())
async def test_a_jwks_outage_keeps_the_last_good_keys(start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey],
                                                      mode: str, body: bytes | None) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"), timeout=0.05)
    held = j.source.keys
    j.server.mode = mode
    if body is not None:
        j.server.body = body
    j.clock.advance(MIN_REFETCH + 1)
    with pytest.raises(TokenInvalid, match="key id"):  # the refetch fails: still only an invalid token
        await j.verifier.verify(sign(rsa_keys[1], "r2"))
    assert j.source.fetches == 2 and j.server.hits >= 2  # (aiohttp retries a dropped GET once)
    assert (await j.verifier.verify(sign(rsa_keys[0], "r1"))).role is Role.PLAY
    j.clock.advance(TTL)  # stale: the background refresh fails too
    assert (await j.verifier.verify(sign(rsa_keys[0], "r1"))).role is Role.PLAY
    assert await j.source.refresh() is False
    assert j.source.keys == held
    assert (await j.verifier.verify(sign(rsa_keys[0], "r1"))).role is Role.PLAY


async def test_a_failing_jwks_is_not_hammered_by_stale_refreshes(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.mode = "status500"
    j.clock.advance(TTL + 1)
    for _ in range(5):  # a player's requests, each after the previous background refresh has failed
        await j.verifier.verify(sign(rsa_keys[0], "r1"))
        await settle()
    assert j.server.hits == 2  # one background attempt per min_refetch, not one per request
    j.clock.advance(MIN_REFETCH + 1)
    await j.verifier.verify(sign(rsa_keys[0], "r1"))
    await settle()
    assert j.server.hits == 3


async def test_a_stale_keyset_refreshes_in_the_background(start_jwks: StartJwks,
                                                         rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.serve(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2"))
    j.server.gate = asyncio.Event()  # the key server hangs until the test lets it answer
    j.clock.advance(TTL + 1)
    grant = await asyncio.wait_for(j.verifier.verify(sign(rsa_keys[0], "r1")), 0.5)  # not blocked
    assert grant.role is Role.PLAY
    await settle()
    assert j.server.hits == 2  # the refresh is on its way
    j.server.gate.set()
    assert await j.source.refresh() is True  # the in-flight refresh, not a new one
    assert (await j.verifier.verify(sign(rsa_keys[1], "r2"))).role is Role.PLAY
    assert j.server.hits == 2


async def test_a_stale_keyset_refreshes_even_when_every_request_hits_the_cache(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    token = sign(rsa_keys[0], "r1")
    await j.verifier.verify(token)
    j.clock.advance(TTL + 1)
    await j.verifier.verify(token)
    await settle()
    assert j.server.hits == 2


async def test_a_removed_key_invalidates_the_cached_grants_of_its_tokens(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2"))
    kept, revoked = sign(rsa_keys[0], "r1"), sign(rsa_keys[1], "r2")
    await j.verifier.verify(kept)
    await j.verifier.verify(revoked)  # both cached
    j.server.serve(jwk(rsa_keys[0], "r1"))  # the issuer drops r2 (compromised)
    j.clock.advance(TTL + 1)
    await j.verifier.verify(kept)  # starts the background refresh
    assert await j.source.refresh() is True  # the new keyset is seen
    with pytest.raises(TokenInvalid, match="key id"):
        await j.verifier.verify(revoked)
    assert (await j.verifier.verify(kept)).role is Role.PLAY


async def test_a_key_removed_and_seen_through_a_refetch_also_invalidates(
        start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2"))
    revoked = sign(rsa_keys[1], "r2")
    await j.verifier.verify(revoked)
    j.server.serve(jwk(rsa_keys[0], "r1"), jwk(rsa_keys[2], "r3"))  # r2 out, r3 in
    j.clock.advance(MIN_REFETCH + 1)
    await j.verifier.verify(sign(rsa_keys[2], "r3"))  # an unknown kid: the refetch sees the new set
    with pytest.raises(TokenInvalid):
        await j.verifier.verify(revoked)


@pytest.fixture(scope="session")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (skipped on purpose)


def test_parse_jwks_skips_keys_it_must_not_use(rsa_keys: list[rsa.RSAPrivateKey], rsa_1024: rsa.RSAPrivateKey,
                                               ec_keys: list[ec.EllipticCurvePrivateKey]) -> None:
    entries = [
        jwk(rsa_keys[0], "good-rsa"),
        jwk(ec_keys[0], "good-ec"),
        jwk(rsa_keys[0], "no-alg", alg=None),
        jwk(rsa_keys[1], "enc", use="enc"),
        {"kty": "oct", "kid": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "alg": "HS256"},
        jwk(rsa_1024, "small"),
        jwk(rsa_keys[1], "rs512", alg="RS512"),
        jwk(rsa_keys[1], "none", alg="none"),
        jwk(ec_keys[1], "es-as-rs", alg="RS256"),
        jwk(rsa_keys[1], "okp", kty="OKP"),
        {"kid": "no-kty"},
        "junk",
        jwk(rsa_keys[1], 7),
    ]
    keys = parse_jwks(json.dumps({"keys": entries}).encode(), JWKS_ALGORITHMS)
    assert [(k.kid, k.family, k.algorithm) for k in keys] == [
        ("good-rsa", "RSA", "RS256"), ("good-ec", "EC", "ES256"), ("no-alg", "RSA", None), (None, "RSA", "RS256")]
    assert all(isinstance(k, VerifyKey) for k in keys)


@pytest.mark.parametrize("body", [b'{"keys": []}', b"{}", b"null", b'{"keys": [{"kty": "oct", "k": "AA"}]}'])
def test_parse_jwks_without_a_usable_key_is_an_error(body: bytes) -> None:
    with pytest.raises(KeySourceError):
        parse_jwks(body, JWKS_ALGORITHMS)


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")  # signing with the weak key on purpose
async def test_skipped_jwks_keys_verify_nothing(start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey],
                                                rsa_1024: rsa.RSAPrivateKey) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"), jwk(rsa_1024, "small"), jwk(rsa_keys[1], "enc", use="enc"),
                               jwk(rsa_keys[2], "rs512", alg="RS512"))
    for key, kid in ((rsa_1024, "small"), (rsa_keys[1], "enc"), (rsa_keys[2], "rs512")):
        with pytest.raises(TokenInvalid):
            await j.verifier.verify(sign(key, kid))
    with pytest.raises(TokenInvalid):
        await j.verifier.verify(sign(rsa_1024, None))


@pytest.mark.parametrize("mode", ["ok", "chunked"])
async def test_a_jwks_over_1_mib_is_refused(start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey],
                                            mode: str) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.mode = mode
    j.server.body = _padded([jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2")], MAX_JWKS_BYTES + 1)
    j.clock.advance(MIN_REFETCH + 1)
    with pytest.raises(TokenInvalid, match="key id"):
        await j.verifier.verify(sign(rsa_keys[1], "r2"))
    assert j.server.hits == 2
    assert [k.kid for k in j.source.keys] == ["r1"]


@pytest.mark.parametrize("mode", ["ok", "chunked"])
async def test_a_jwks_just_under_1_mib_is_read_whole(start_jwks: StartJwks, rsa_keys: list[rsa.RSAPrivateKey],
                                                     mode: str) -> None:
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    j.server.mode = mode
    j.server.body = _padded([jwk(rsa_keys[0], "r1"), jwk(rsa_keys[1], "r2")], MAX_JWKS_BYTES)
    j.clock.advance(MIN_REFETCH + 1)
    assert (await j.verifier.verify(sign(rsa_keys[1], "r2"))).role is Role.PLAY


async def test_the_jwks_is_parsed_off_the_event_loop(start_jwks: StartJwks, monkeypatch: pytest.MonkeyPatch,
                                                     rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    threads: list[threading.Thread] = []
    original = auth.parse_jwks

    def recording(body: bytes, algorithms: Iterable[str]) -> list[VerifyKey]:
        threads.append(threading.current_thread())
        return original(body, algorithms)

    monkeypatch.setattr(auth, "parse_jwks", recording)
    j: Jwks = await start_jwks(jwk(rsa_keys[0], "r1"))
    assert len(threads) == 1
    assert threads[0] is not threading.current_thread()  # the test runs on the event loop's thread
    assert [k.kid for k in j.source.keys] == ["r1"]


# -- tokens as the seeds make them -----------------------------------------------------------------------


async def test_ant_media_tokens_verify_without_iat_or_jti() -> None:
    exp = int(time.time()) + 60
    token = jwt.encode({"type": "play", "streamId": "s1", "exp": exp}, SECRET, algorithm="HS256")
    assert await verifier(hs_settings((None, SECRET))).verify(token) == Grant(Role.PLAY, frozenset({"s1"}),
                                                                             expires_at=exp)


ADMIN_KEYS = hs_settings((None, S0), require_iat=True, max_lifetime=300)


async def test_opentok_admin_tokens_verify_only_under_admin_keys() -> None:
    now = int(time.time())
    token = jwt.encode({"ist": "project", "iss": "123", "iat": now, "exp": now + 180, "jti": "x"}, S0,
                       algorithm="HS256")
    assert (await verifier(ADMIN_KEYS, admin=True).verify(token)).role is Role.ADMIN
    with pytest.raises(TokenInvalid, match="type"):
        await verifier(ADMIN_KEYS).verify(token)


async def test_admin_keys_require_iat() -> None:
    token = jwt.encode({"type": "admin", "exp": int(time.time()) + 60}, S0, algorithm="HS256")
    with pytest.raises(TokenInvalid, match="iat"):
        await verifier(ADMIN_KEYS, admin=True).verify(token)
