"""The Verifier: HMAC secrets and kid rotation, the grant cache, PEM public keys, and tokens as the seeds make
them. The JWKS source is in ``test_keys.py``; end-to-end attacks over HTTP live in ``web/test_security_tokens.py``,
these tests pin the units those attacks go through.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hls_server.core.auth.minting import Minter
from hls_server.core.errors import ConfigError, TokenInvalid, TokenTooLarge
from hls_server.core.grants import Grant, Role
from hls_server.core.settings import HmacSecret, KeySettings, load_settings

from ...conftest import OTHER_SECRET, SECRET, STREAM, make_token
from .conftest import BASE, JWKS_ALGORITHMS, MAX_TOKEN_BYTES, FakeClock, unique, verifier

S1 = secrets.token_urlsafe(40)
S2 = secrets.token_urlsafe(40)
S0 = secrets.token_urlsafe(40)


def hs_settings(*pairs: tuple[str | None, str], **kwargs: Any) -> KeySettings:
    return KeySettings(secrets=tuple(HmacSecret(kid, value.encode()) for kid, value in pairs),
                       algorithms=("HS256",), **kwargs)


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
