"""SECURITY.md, token level and the REST API: every way a token can be wrong, over real HTTP.

Each case asserts the exact answer: status, JSON ``error`` code, the RFC 6750 challenge on a 401 (and none on
a 403), ``Cache-Control: no-store`` on the error, and that no part of the token comes back in the body or a
header. Tokens are forged by hand where pyjwt would refuse to make them (``alg: none``, NaN claims, an HMAC
keyed with an RSA public key). An autouse guard (:func:`never_500`) fails any test in which the origin
answered 5xx or logged an error (its own test is in ``test_guards.py``).

The JWKS refetch limits, single flight and outage behaviour live in ``core/auth/test_keys.py``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from hls_server.core.errors import ConfigError
from hls_server.core.settings import MIN_HMAC_SECRET_BYTES
from hls_server.web.app import create_app

from ..conftest import (
    ADMIN_SECRET,
    OTHER_SECRET,
    OTHER_STREAM,
    SECRET,
    STREAM,
    Origin,
    StartOrigin,
    make_admin_token,
    make_token,
    settings_for,
)
from ..http import api, expect_error, expect_json, expect_media, fetch, put_group, put_room, send

SEGMENT = f"/hls/{STREAM}/360p/seg_00000.ts"
MASTER = f"/hls/{STREAM}/master.m3u8"


# -- forging tokens by hand --------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(part: Mapping[str, Any] | str) -> str:
    """A header or payload segment; a str is used as the raw JSON text (so NaN, 1e400, duplicates are possible)."""
    raw = part if isinstance(part, str) else json.dumps(part, separators=(",", ":"))
    return b64url(raw.encode())


def forge(header: Mapping[str, Any] | str, payload: Mapping[str, Any] | str, *,
          key: bytes | None = SECRET.encode(), digest: str = "sha256") -> str:
    """A JWS with an HMAC signature over exactly these segments (``key=None``: an empty signature)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{b64url(signature)}"


def play_claims(**override: Any) -> dict[str, Any]:
    """A valid play token's claims for STREAM; an override of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {"type": "play", "streamId": STREAM, "iat": now, "exp": now + 3600}
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def raw_claims(**raw: str | None) -> str:
    """A payload as raw JSON text: defaults of a valid play token, each override given as JSON source."""
    now = int(time.time())
    fields: dict[str, str | None] = {"type": '"play"', "streamId": f'"{STREAM}"', "iat": str(now),
                                     "exp": str(now + 3600)}
    fields.update(raw)
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items() if v is not None) + "}"


def flip_signature_bit(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


HS256 = {"alg": "HS256", "typ": "JWT"}


@functools.cache
def rsa_key(label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """RSA keys made once per run: ``legit`` is configured on the origin, ``attacker`` never is."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def rs256(label: str, headers: Mapping[str, Any] | None = None, algorithm: str = "RS256", **claims: Any) -> str:
    return jwt.encode(play_claims(**claims), rsa_key(label), algorithm=algorithm,
                      headers=dict(headers) if headers else None)


def rsa_signed(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """Whatever the header says, an RS256 signature by the legit key over these exact segments."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = rsa_key("legit").sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def public_jwk(label: str, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(label).public_key(), as_dict=True)
    assert isinstance(jwk, dict)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def attacker_jwk(kid: str = "attacker") -> dict[str, Any]:
    return public_jwk("attacker", kid)


def attacker_x5c() -> list[str]:
    key = rsa_key("attacker")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.example")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


@pytest.fixture
def legit_pem(tmp_path: Path) -> Path:
    """The origin's RSA public key (kid ``legit``, from the file name)."""
    path = tmp_path / "legit.pem"
    path.write_bytes(public_pem(rsa_key("legit")))
    return path


@pytest.fixture
async def rsa_origin(start_origin: StartOrigin, legit_pem: Path) -> Origin:
    """HS256 with SECRET, plus RS256/ES256 with the legit PEM: the set-up where key confusion could happen."""
    started: Origin = await start_origin(**{"auth.public_keys": [str(legit_pem)]})
    return started


# -- token level: forged, broken, or outside the allowlist -------------------------------------------------------

Factory = Callable[[], str]
ATTACKER_SECRET = b"attacker-chosen-secret-0123456789-abcdef"

FORGED: list[Any] = [
    *[pytest.param(lambda alg=alg, tail=tail: forge({"alg": alg, "typ": "JWT"}, play_claims(), key=None)[:tail],
                   id=f"alg-{alg}{'-no-dot' if tail else '-empty-signature'}")
      for alg in ("none", "None", "NONE", "nOnE") for tail in (None, -1)],
    pytest.param(lambda: forge({"alg": "none"}, play_claims()), id="alg-none-with-an-hmac-signature"),
    pytest.param(lambda: forge({"alg": ""}, play_claims()), id="alg-empty"),
    pytest.param(lambda: forge({"alg": ["HS256"]}, play_claims()), id="alg-a-list"),
    pytest.param(lambda: forge({"alg": "hs256"}, play_claims()), id="alg-lower-case-hs256"),
    pytest.param(lambda: forge({"typ": "JWT"}, play_claims()), id="alg-missing"),
    pytest.param(lambda: make_token().rsplit(".", 1)[0] + ".", id="signature-stripped"),
    pytest.param(lambda: make_token().rsplit(".", 1)[0], id="signature-segment-missing"),
    pytest.param(lambda: flip_signature_bit(make_token()), id="signature-bit-flipped"),
    pytest.param(lambda: make_token(OTHER_SECRET), id="signed-with-another-secret"),
    pytest.param(lambda: make_token(ADMIN_SECRET), id="signed-with-the-admin-secret"),
    pytest.param(lambda: make_token(algorithm="HS384"), id="HS384-right-secret-not-allowed"),
    pytest.param(lambda: make_token(algorithm="HS512"), id="HS512-right-secret-not-allowed"),
    pytest.param(lambda: rs256("legit"), id="RS256-when-only-HS256-is-allowed"),
    pytest.param(lambda: forge(HS256, play_claims(), key=SECRET.encode(), digest="sha384"), id="HS256-header-HS384-mac"),
    pytest.param(lambda: forge(HS256, play_claims(), key=SECRET.encode()[:-1]), id="secret-minus-one-byte"),
    pytest.param(lambda: forge({**HS256, "jwk": {"kty": "oct", "k": b64url(ATTACKER_SECRET)}}, play_claims(),
                               key=ATTACKER_SECRET), id="header-jwk-oct-attacker-secret"),
    pytest.param(lambda: forge({**HS256, "crit": ["exp"]}, play_claims()), id="crit-header"),
    pytest.param(lambda: forge({**HS256, "crit": []}, play_claims()), id="crit-header-empty"),
    pytest.param(lambda: forge({**HS256, "b64": False, "crit": ["b64"]}, play_claims()), id="crit-b64-false"),
    pytest.param(lambda: forge({**HS256, "b64": False}, play_claims()), id="b64-false-without-crit"),
    pytest.param(lambda: forge('["HS256"]', play_claims()), id="header-a-json-list"),
    pytest.param(lambda: forge("not json", play_claims()), id="header-not-json"),
    pytest.param(lambda: forge(HS256, '["play"]'), id="payload-a-json-list"),
    pytest.param(lambda: forge(HS256, "not json"), id="payload-not-json"),
    pytest.param(lambda: forge(HS256, '"eyJ"'), id="payload-a-json-string"),
    pytest.param(lambda: "not-a-jwt-at-all", id="not-a-jwt"),
    pytest.param(lambda: "a.b.c.d.e", id="five-segments-jwe-shape"),
    pytest.param(lambda: "...", id="only-dots"),
    pytest.param(lambda: make_token() + ".extra", id="trailing-segment"),
    pytest.param(lambda: make_token().replace(".", "..", 1), id="doubled-dot"),
]


@pytest.mark.parametrize("via", ["query", "header"])
@pytest.mark.parametrize("factory", FORGED)
async def test_forged_or_disallowed_token_is_401(origin: Origin, factory: Factory, via: str) -> None:
    token = factory()
    expect_error(await send(origin, SEGMENT, token, via), 401, "token_invalid", token)


async def test_a_good_token_plays_with_both_carriers(origin: Origin) -> None:
    """The positive control of the table above: the same request with a correct token is a 200."""
    token = make_token()
    for via in ("query", "header"):
        expect_media(await send(origin, SEGMENT, token, via), "video/mp2t")
    hand_made = forge(HS256, play_claims())
    expect_media(await send(origin, SEGMENT, hand_made, "query"), "video/mp2t")


# -- the kid is a dictionary key, nothing else ---------------------------------------------------------------------

ODD_KIDS: list[Any] = [
    pytest.param("../../etc/passwd", id="path-traversal"),
    pytest.param("/dev/null", id="absolute-path"),
    pytest.param("' OR '1'='1' --", id="sql-ish"),
    pytest.param("k" * 2000, id="very-long"),
    pytest.param("", id="empty-string"),
    pytest.param("\u0000", id="nul"),
    pytest.param("legit", id="the-rsa-key-id"),  # an HMAC token naming the PEM key: no cross-family lookup
    pytest.param(123, id="number"),
    pytest.param(["a"], id="list"),
    pytest.param({"a": 1}, id="object"),
    pytest.param(True, id="bool"),
]


@pytest.mark.parametrize("kid", ODD_KIDS)
async def test_odd_kid_is_an_unknown_key(rsa_origin: Origin, kid: object) -> None:
    """Signed with the right secret: only the kid is odd. The key has no kid, so any kid is unknown (401)."""
    token = forge({**HS256, "kid": kid}, play_claims())
    expect_error(await send(rsa_origin, SEGMENT, token, "query"), 401, "token_invalid", token)


# -- RSA keys: allowlist, family and key confusion ---------------------------------------------------------------


async def test_rs256_with_the_configured_key_plays(rsa_origin: Origin) -> None:
    """Control for the confusion cases: the PEM is loaded and RS256 is accepted with it."""
    expect_media(await send(rsa_origin, SEGMENT, rs256("legit"), "query"), "video/mp2t")
    expect_media(await send(rsa_origin, SEGMENT, make_token(), "header"), "video/mp2t")


RSA_CASES: list[Any] = [
    pytest.param(lambda pem: forge(HS256, play_claims(), key=pem), id="hs256-keyed-with-the-rsa-public-pem"),
    pytest.param(lambda pem: forge({**HS256, "kid": "legit"}, play_claims(), key=pem), id="hs256-pem-key-with-kid"),
    pytest.param(lambda pem: forge(HS256, play_claims(), key=pem.strip()), id="hs256-pem-key-stripped"),
    pytest.param(lambda pem: forge({"alg": "RS256"}, play_claims()), id="rs256-header-hmac-signature"),
    pytest.param(lambda pem: rsa_signed(HS256, play_claims()), id="hs256-header-rsa-signature"),
    pytest.param(lambda pem: rs256("legit", algorithm="PS256"), id="ps256-right-key-not-allowed"),
    pytest.param(lambda pem: rs256("legit", algorithm="RS512"), id="rs512-right-key-not-allowed"),
    pytest.param(lambda pem: rs256("attacker"), id="rs256-attacker-key"),
    pytest.param(lambda pem: rs256("attacker", {"kid": "legit"}), id="rs256-attacker-key-legit-kid"),
]


@pytest.mark.parametrize("factory", RSA_CASES)
async def test_rsa_confusion_is_401(rsa_origin: Origin, factory: Callable[[bytes], str]) -> None:
    token = factory(public_pem(rsa_key("legit")))  # the PEM bytes the origin reads, byte for byte
    expect_error(await send(rsa_origin, SEGMENT, token, "query"), 401, "token_invalid", token)


# -- header key material is never trusted nor fetched -------------------------------------------------------------


@dataclass
class KeyServer:
    """A loopback HTTP server that serves the attacker's JWKS and certificate and records every hit."""

    server: TestServer
    hits: list[str]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


async def _key_server(body: Callable[[], Any]) -> KeyServer:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.json_response(body())

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return KeyServer(server, hits)


@pytest.fixture
async def attacker_server() -> AsyncIterator[KeyServer]:
    served = await _key_server(lambda: {"keys": [attacker_jwk()]})
    yield served
    await served.server.close()


HEADER_KEY_CASES: list[Any] = [
    pytest.param(lambda s: {"jku": s.url("/jwks.json"), "kid": "attacker"}, id="jku-with-kid"),
    pytest.param(lambda s: {"jku": s.url("/jwks.json")}, id="jku-without-kid"),
    pytest.param(lambda s: {"x5u": s.url("/cert.pem"), "kid": "attacker"}, id="x5u"),
    pytest.param(lambda s: {"jwk": attacker_jwk()}, id="jwk-embedded"),
    pytest.param(lambda s: {"jwk": attacker_jwk("legit"), "kid": "legit"}, id="jwk-embedded-legit-kid"),
    pytest.param(lambda s: {"x5c": attacker_x5c()}, id="x5c-self-signed"),
    pytest.param(lambda s: {"x5c": attacker_x5c(), "x5u": s.url("/x5u"), "jku": s.url("/jku"),
                            "jwk": attacker_jwk(), "kid": "attacker"}, id="all-at-once"),
]


@pytest.mark.parametrize("header", HEADER_KEY_CASES)
async def test_header_key_material_is_never_used_nor_fetched(rsa_origin: Origin, attacker_server: KeyServer,
                                                              header: Callable[[KeyServer], dict[str, Any]]) -> None:
    token = rs256("attacker", header(attacker_server))
    for via in ("query", "header"):
        expect_error(await send(rsa_origin, SEGMENT, token, via), 401, "token_invalid", token)
    await asyncio.sleep(0.2)  # room for a background fetch, were there one
    assert attacker_server.hits == []


async def test_jku_is_not_fetched_with_a_configured_jwks(start_origin: StartOrigin,
                                                         attacker_server: KeyServer) -> None:
    """With a JWKS URL configured, an unknown kid may refetch *that* URL, never the token's jku."""
    legit = await _key_server(lambda: {"keys": [public_jwk("legit", "legit")]})
    try:
        jwks_origin = await start_origin(**{"auth.jwks_url": legit.url("/.well-known/jwks.json")})
        expect_media(await send(jwks_origin, SEGMENT, rs256("legit", {"kid": "legit"}), "query"), "video/mp2t")
        token = rs256("attacker", {"jku": attacker_server.url("/jwks.json"), "kid": "attacker"})
        expect_error(await send(jwks_origin, SEGMENT, token, "query"), 401, "token_invalid", token)
        await asyncio.sleep(0.2)
    finally:
        await legit.server.close()
    assert attacker_server.hits == []
    assert legit.hits, "the configured JWKS was used (the control)"


# -- time claims -----------------------------------------------------------------------------------------------


def _ago(seconds: int) -> int:
    return int(time.time()) - seconds


TIME_CASES: list[Any] = [
    pytest.param(lambda: make_token(exp=_ago(3600)), "token_expired", id="expired-an-hour-ago"),
    pytest.param(lambda: make_token(exp=_ago(40), iat=_ago(100)), "token_expired", id="expired-40s-ago-beyond-leeway"),
    pytest.param(lambda: make_token(nbf=_ago(-3600)), "token_not_yet_valid", id="nbf-in-an-hour"),
    pytest.param(lambda: make_token(nbf=_ago(-40)), "token_not_yet_valid", id="nbf-in-40s-beyond-leeway"),
    pytest.param(lambda: make_token(iat=_ago(-3600)), "token_not_yet_valid", id="iat-in-an-hour"),
    pytest.param(lambda: make_token(omit=("exp",)), "token_invalid", id="exp-missing"),
]


@pytest.mark.parametrize(("factory", "code"), TIME_CASES)
async def test_time_window_is_enforced(origin: Origin, factory: Factory, code: str) -> None:
    token = factory()
    expect_error(await send(origin, SEGMENT, token, "query"), 401, code, token)


async def test_default_leeway_is_30_seconds(origin: Origin) -> None:
    """A token expired 10 s ago (or valid from 10 s on) still plays: clocks drift."""
    expect_media(await send(origin, SEGMENT, make_token(exp=_ago(10), iat=_ago(100)), "query"), "video/mp2t")
    expect_media(await send(origin, SEGMENT, make_token(nbf=_ago(-10)), "query"), "video/mp2t")
    expect_media(await send(origin, SEGMENT, make_token(iat=_ago(-10)), "query"), "video/mp2t")


async def test_leeway_is_configurable(start_origin: StartOrigin) -> None:
    strict = await start_origin(**{"auth.leeway": 0})
    token = make_token(exp=_ago(10), iat=_ago(100))
    expect_error(await send(strict, SEGMENT, token, "query"), 401, "token_expired", token)


async def test_exp_is_optional_only_by_explicit_opt_out(start_origin: StartOrigin) -> None:
    relaxed = await start_origin(**{"auth.require_exp": False})
    expect_media(await send(relaxed, SEGMENT, make_token(omit=("exp",)), "query"), "video/mp2t")
    token = make_token(exp=_ago(3600))
    expect_error(await send(relaxed, SEGMENT, token, "query"), 401, "token_expired", token)


MALFORMED_TIMES: list[tuple[str, str]] = [
    ("string", '"soon"'),
    ("empty-string", '""'),
    ("numeric-string-past", '"1"'),
    ("numeric-string-future", '"9999999999"'),
    ("true", "true"),
    ("false", "false"),
    ("null", "null"),
    ("list", "[1]"),
    ("object", '{"t":1}'),
    ("huge-int", "1" + "0" * 400),
    ("huge-negative-int", "-1" + "0" * 400),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("minus-Infinity", "-Infinity"),
    ("1e400", "1e400"),
]


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [pytest.param(v, id=name) for name, v in MALFORMED_TIMES])
async def test_time_claim_that_is_not_a_json_number_is_malformed(origin: Origin, claim: str, value: str) -> None:
    """Correctly signed, but the time claim is not a finite JSON number: token_invalid, never a 500, never a
    token_expired for ``true`` (pyjwt reads it as 1) or a token_not_yet_valid for ``"9999999999"``."""
    token = forge(HS256, raw_claims(**{claim: value}))
    expect_error(await send(origin, SEGMENT, token, "query"), 401, "token_invalid", token)


# -- type and scope --------------------------------------------------------------------------------------------

CLAIM_CASES: list[Any] = [
    # type
    pytest.param({"type": None}, 401, "token_invalid", id="type-missing"),
    pytest.param({"type": "viewer"}, 401, "token_invalid", id="type-unknown"),
    pytest.param({"type": "PLAY"}, 401, "token_invalid", id="type-upper-case"),
    pytest.param({"type": ["play"]}, 401, "token_invalid", id="type-a-list"),
    pytest.param({"type": 1}, 401, "token_invalid", id="type-a-number"),
    # A correctly signed viewer-secret token of type admin is a valid token that does not grant playback (403):
    # admin tokens are checked by the admin verifier (another secret), and an admin grant never plays.
    pytest.param({"type": "admin"}, 401, "token_invalid", id="type-admin-for-playback"),
    # scope: another stream, or case / prefix / suffix tricks on a canonical id (403: valid, not this stream)
    pytest.param({"streamId": OTHER_STREAM}, 403, "forbidden", id="another-stream"),
    pytest.param({"streamId": "S1"}, 403, "forbidden", id="scope-upper-case"),
    pytest.param({"streamId": "s"}, 403, "forbidden", id="scope-prefix"),
    pytest.param({"streamId": "s1x"}, 403, "forbidden", id="scope-extension"),
    pytest.param({"streamId": "s1-"}, 403, "forbidden", id="scope-trailing-dash"),
    # scope values that are not canonical ids at all: the claim itself is malformed (401, token_invalid)
    pytest.param({"streamId": "s1 "}, 401, "token_invalid", id="scope-trailing-space"),
    pytest.param({"streamId": "s%31"}, 401, "token_invalid", id="scope-percent-encoded"),
    pytest.param({"streamId": "s1/"}, 401, "token_invalid", id="scope-trailing-slash"),
    pytest.param({"streamId": "../s1"}, 401, "token_invalid", id="scope-dot-dot"),
    pytest.param({"streamId": "s1\u0000"}, 401, "token_invalid", id="scope-nul"),
    pytest.param({"streamId": "\uff53\uff11"}, 401, "token_invalid", id="scope-fullwidth"),
    pytest.param({"streamId": "*"}, 401, "token_invalid", id="scope-wildcard"),
    pytest.param({"streamId": ""}, 401, "token_invalid", id="scope-empty"),
    pytest.param({"streamId": ["s1"]}, 401, "token_invalid", id="scope-a-list"),
    pytest.param({"streamId": 1}, 401, "token_invalid", id="scope-a-number"),
    pytest.param({"streamId": "s" * 65}, 401, "token_invalid", id="scope-65-chars"),
    pytest.param({"streamId": None}, 401, "token_invalid", id="scope-missing"),
    pytest.param({"streamId": None, "group": "no-such-group"}, 403, "forbidden", id="group-that-does-not-exist"),
    pytest.param({"jti": 42}, 401, "token_invalid", id="jti-not-a-string"),
]


@pytest.mark.parametrize(("claims", "status", "code"), CLAIM_CASES)
async def test_type_and_scope_claims(origin: Origin, claims: dict[str, Any], status: int, code: str) -> None:
    token = forge(HS256, play_claims(**claims))
    for path in (SEGMENT, MASTER):
        expect_error(await send(origin, path, token, "query"), status, code, token)


@pytest.mark.parametrize("path", ["/hls/S1/master.m3u8", "/hls/s1x/master.m3u8", "/hls/s/360p/seg_00000.ts",
                                  f"/hls/{OTHER_STREAM}/360p/seg_00000.ts"])
async def test_scope_is_compared_exactly_on_the_url_side(origin: Origin, path: str) -> None:
    """A token for s1 opens no look-alike stream in the URL (auth answers before the filesystem: 403, not 404)."""
    token = make_token()
    expect_error(await send(origin, path, token, "query"), 403, "forbidden", token)


async def test_publish_token_plays_its_stream(origin: Origin) -> None:
    token = make_token(type="publish")
    expect_media(await send(origin, SEGMENT, token, "query"), "video/mp2t")
    other = make_token(type="publish", streamId=OTHER_STREAM)
    expect_error(await send(origin, SEGMENT, other, "query"), 403, "forbidden", other)


@pytest.mark.parametrize("claim", ["group", "roomId"])
async def test_group_and_room_tokens_follow_the_stored_group(origin: Origin, claim: str) -> None:
    """A group (or a roomId naming a stored plain group) opens exactly the streams the server stores for it, live."""
    await put_group(origin, "with-s1", [STREAM, OTHER_STREAM])
    await put_group(origin, "without-s1", [OTHER_STREAM])
    member = forge(HS256, play_claims(streamId=None, **{claim: "with-s1"}))
    outsider = forge(HS256, play_claims(streamId=None, **{claim: "without-s1"}))
    expect_media(await send(origin, SEGMENT, member, "query"), "video/mp2t")
    expect_media(await send(origin, MASTER, member, "header"), "application/vnd.apple.mpegurl")
    expect_error(await send(origin, SEGMENT, outsider, "query"), 403, "forbidden", outsider)
    expect_media(await send(origin, f"/hls/{OTHER_STREAM}/360p/seg_00000.ts", outsider, "query"), "video/mp2t")
    await put_group(origin, "with-s1", [OTHER_STREAM])  # s1 leaves the group: the cached grant no longer opens it
    expect_error(await send(origin, SEGMENT, member, "query"), 403, "forbidden", member)


ROOM_LOOKALIKES = {"a": 200, "a-x": 200, "a-x-y": 200, "a-": 403, "ab-x": 403, "A-x": 403, "a-b": 403,
                   "a-b-x": 403, "g-x": 403, "ax": 403}
"""Streams on disk, asked with room a's token (rooms a and a-b stored, g a plain group): only room a's play."""


@pytest.mark.parametrize("claims", [{"streamId": "a", "type": "publish"}, {"streamId": None, "roomId": "a"},
                                    {"streamId": None, "group": "a"}], ids=["seed-streamId", "roomId", "group"])
async def test_a_room_token_opens_the_room_and_nothing_that_looks_like_it(origin: Origin, media_root: Path,
                                                                          claims: dict[str, Any]) -> None:
    """SECURITY.md: scope checks compare ids exactly. The {room}- rule is room scope's, and room a's token does not
    reach room a-b's streams (a-b-x) nor room a-b itself, a longer id (ab-x), another case (A-x) or a plain group."""
    for name in ROOM_LOOKALIKES:
        shutil.copytree(media_root / STREAM, media_root / name)
    await put_room(origin, "a", [])
    await put_room(origin, "a-b", [])
    await put_group(origin, "g", ["g-x"])
    token = forge(HS256, play_claims(**claims))
    for name, status in ROOM_LOOKALIKES.items():
        reply = await send(origin, f"/hls/{name}/360p/seg_00000.ts", token, "query")
        if status == 200:
            expect_media(reply, "video/mp2t")
        else:
            expect_error(reply, 403, "forbidden", token, says=("{room}-{participant}",))
    expect_error(await send(origin, SEGMENT, token, "header"), 403, "forbidden", token)


async def test_a_plain_group_or_stream_token_gives_no_participant_streams(origin: Origin, media_root: Path) -> None:
    shutil.copytree(media_root / STREAM, media_root / "g-x")
    shutil.copytree(media_root / STREAM, media_root / f"{STREAM}-x")
    await put_group(origin, "g", [STREAM])
    for token, name in ((forge(HS256, play_claims(streamId=None, group="g")), "g-x"),
                        (forge(HS256, play_claims(type="publish")), f"{STREAM}-x"),
                        (forge(HS256, play_claims(streamId="g", type="publish")), "g-x")):
        expect_error(await send(origin, f"/hls/{name}/360p/seg_00000.ts", token, "query"), 403, "forbidden", token,
                     says=("playback of this stream",))


# -- which token: carriers, conflicts, size -----------------------------------------------------------------------


@pytest.mark.parametrize("form", ["Bearer {t}", "bearer {t}", "BEARER {t}", "Bearer  {t}", "{t}"])
async def test_authorization_forms_accepted(origin: Origin, form: str) -> None:
    expect_media(await fetch(origin, SEGMENT, auth=form.format(t=make_token())), "video/mp2t")


@pytest.mark.parametrize(("form", "code"), [
    pytest.param("Basic czE6cGFzc3dvcmQtcGFzc3dvcmQ=", "token_invalid", id="basic"),
    pytest.param("Digest username=\"s1\", response=\"0123456789abcdef\"", "token_invalid", id="digest"),
    pytest.param("Token {t}", "token_invalid", id="token-scheme"),
    pytest.param("JWT {t}", "token_invalid", id="jwt-scheme"),
    pytest.param("Bearer", "token_missing", id="bearer-without-token"),  # no token carried: missing
    pytest.param("Bearer {t} {t}", "token_invalid", id="bearer-two-values"),
    pytest.param("", "token_missing", id="empty-header"),
])
async def test_authorization_forms_refused(origin: Origin, form: str, code: str) -> None:
    token = make_token()
    expect_error(await fetch(origin, SEGMENT, auth=form.format(t=token)), 401, code, token)


async def test_no_token_is_401_token_missing(origin: Origin) -> None:
    for path in (SEGMENT, MASTER):
        expect_error(await fetch(origin, path), 401, "token_missing")
        expect_error(await fetch(origin, path, token=""), 401, "token_missing")


async def test_two_different_tokens_conflict_deterministically(origin: Origin) -> None:
    """Which one would win is the ambiguity an attacker looks for: both orders, every carrier pair, 401."""
    good = make_token(jti="a")
    also_good = make_token(jti="b")
    expired = make_token(exp=_ago(3600))
    garbage = "not-a-jwt-but-long-enough"
    pairs = [(good, also_good), (also_good, good), (good, expired), (expired, good), (good, garbage),
             (garbage, good)]
    for first, second in pairs:
        expect_error(await fetch(origin, SEGMENT, token=[first, second]), 401, "token_conflict", first, second)
        expect_error(await fetch(origin, SEGMENT, token=first, auth=f"Bearer {second}"), 401, "token_conflict",
                     first, second)
        expect_error(await fetch(origin, SEGMENT, token=first, auth=second), 401, "token_conflict", first, second)


async def test_the_same_token_twice_is_one_token(origin: Origin) -> None:
    token = make_token()
    expect_media(await fetch(origin, SEGMENT, token=token, auth=f"Bearer {token}"), "video/mp2t")
    expect_media(await fetch(origin, SEGMENT, token=[token, token]), "video/mp2t")
    expect_media(await fetch(origin, SEGMENT, token=[token, ""]), "video/mp2t")


def padded_token(length: int) -> str:
    """A correctly signed play token of about ``length`` characters (padded with a ``pad`` claim)."""
    base = len(make_token(pad=""))
    token = make_token(pad="x" * max(0, (length - base) * 3 // 4))
    assert abs(len(token) - length) < 8
    return token


@pytest.mark.parametrize("via", ["query", "header"])
async def test_token_size_cap(origin: Origin, via: str) -> None:
    """Over 4 KiB is refused before decoding: a non-JWT that long is token_too_large, not token_invalid."""
    expect_media(await send(origin, SEGMENT, padded_token(4000), via), "video/mp2t")
    for token in (padded_token(4200), "A" * 5000, "eyJ" + "A" * 5000 + ".e30."):
        expect_error(await send(origin, SEGMENT, token, via), 401, "token_too_large", token)


# -- keys and settings that refuse to start ------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "flags", "match"), [
    pytest.param({"HLSGATE_JWT_SECRET": "x" * (MIN_HMAC_SECRET_BYTES - 1)}, {}, "31 bytes", id="viewer-secret-31-bytes"),
    pytest.param({"HLSGATE_JWT_SECRET": "x"}, {}, "1 bytes", id="viewer-secret-1-byte"),
    pytest.param({"HLSGATE_ADMIN_SECRET": "y" * (MIN_HMAC_SECRET_BYTES - 1)}, {}, "^admin: .*31 bytes",
                 id="admin-secret-31-bytes"),
    pytest.param({"HLSGATE_JWT_SECRETS": f"k1={SECRET},k2=short"}, {}, "kid 'k2' is 5 bytes",
                 id="one-of-several-secrets-short"),
    pytest.param({"HLSGATE_ADMIN_SECRET": SECRET}, {}, "must differ", id="admin-secret-equals-viewer-secret"),
    pytest.param({}, {"auth.algorithms": ["none"]}, "'none' is not allowed", id="algorithm-none"),
    pytest.param({}, {"auth.algorithms": ["HS256", "NONE"]}, "'NONE' is not allowed", id="algorithm-NONE-listed"),
    pytest.param({}, {"auth.algorithms": ["RS256"]}, "no public key", id="rs256-without-a-public-key"),
])
def test_weak_or_unsafe_key_settings_refuse_to_start(media_root: Path, env: dict[str, str], flags: dict[str, Any],
                                                     match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        settings_for(media_root, env=env, **flags)
    for secret in (SECRET, ADMIN_SECRET):
        assert secret not in str(caught.value)


def test_a_32_byte_secret_is_enough(media_root: Path) -> None:
    settings = settings_for(media_root, env={"HLSGATE_JWT_SECRET": "x" * MIN_HMAC_SECRET_BYTES})
    assert settings.viewer.secrets[0].secret == b"x" * MIN_HMAC_SECRET_BYTES


@pytest.mark.parametrize(("bits", "refused"), [(1024, True), (2047, True), (2048, False)])
def test_rsa_keys_under_2048_bits_are_refused(media_root: Path, tmp_path: Path, bits: int, refused: bool) -> None:
    pem = tmp_path / f"k{bits}.pem"
    pem.write_bytes(public_pem(rsa_key(f"size-{bits}", bits)))
    flags: dict[str, Any] = {"auth.public_keys": [str(pem)]}
    settings = settings_for(media_root, tmp_path / "state", **flags)
    if refused:
        with pytest.raises(ConfigError, match=f"{bits} bits"):
            create_app(settings)
    else:
        create_app(settings)


# -- audience, issuer, lifetime ---------------------------------------------------------------------------------

AUD = "hlsgate-test-audience"
ISS = "https://issuer.hlsgate.test"


@pytest.mark.parametrize(("claims", "expected"), [
    pytest.param({"aud": AUD, "iss": ISS}, 200, id="both-right"),
    pytest.param({"aud": ["other", AUD], "iss": ISS}, 200, id="aud-list-containing-ours"),
    pytest.param({"iss": ISS}, 401, id="aud-missing"),
    pytest.param({"aud": "other", "iss": ISS}, 401, id="aud-wrong"),
    pytest.param({"aud": AUD.upper(), "iss": ISS}, 401, id="aud-case-changed"),
    pytest.param({"aud": ["other"], "iss": ISS}, 401, id="aud-list-without-ours"),
    pytest.param({"aud": 1, "iss": ISS}, 401, id="aud-a-number"),
    pytest.param({"aud": AUD}, 401, id="iss-missing"),
    pytest.param({"aud": AUD, "iss": ISS + "/"}, 401, id="iss-trailing-slash"),
    pytest.param({"aud": AUD, "iss": ["x"]}, 401, id="iss-a-list"),
])
async def test_audience_and_issuer_when_configured(start_origin: StartOrigin, claims: dict[str, Any],
                                                   expected: int) -> None:
    strict = await start_origin(**{"auth.audience": AUD, "auth.issuer": ISS})
    token = forge(HS256, play_claims(**claims))
    reply = await send(strict, SEGMENT, token, "query")
    if expected == 200:
        expect_media(reply, "video/mp2t")
    else:
        expect_error(reply, 401, "token_invalid", token)


async def test_maximum_lifetime(start_origin: StartOrigin) -> None:
    capped = await start_origin(**{"auth.max_lifetime": 600})
    expect_media(await send(capped, SEGMENT, make_token(exp=int(time.time()) + 590), "query"), "video/mp2t")
    for token in (make_token(), make_token(omit=("iat",), exp=int(time.time()) + 60),
                  make_token(iat=_ago(3000), exp=_ago(-600))):
        expect_error(await send(capped, SEGMENT, token, "query"), 401, "token_invalid", token)


# -- play, publish and admin are not interchangeable (the REST API) -----------------------------------------------



def api_routes() -> list[tuple[str, str, Any]]:
    """Every admin route, in an order that succeeds with an admin token (PUT before GET and DELETE)."""
    expire = int(time.time()) + 600
    return [
        ("POST", "/api/v1/tokens", {"stream": STREAM}),
        ("GET", f"/rest/v2/broadcasts/{STREAM}/jwt-token?type=play&expireDate={expire}", None),
        ("GET", "/api/v1/groups", None),
        ("PUT", "/api/v1/groups/g1", {"streams": [STREAM]}),
        ("GET", "/api/v1/groups/g1", None),
        ("DELETE", "/api/v1/groups/g1", None),
        ("GET", "/api/v1/streams", None),
    ]

API_CREDENTIALS: list[Any] = [
    pytest.param(lambda: None, None, 401, "token_missing", id="no-token"),
    pytest.param(lambda: make_admin_token(), "query", 401, "token_missing", id="admin-token-in-the-query"),
    pytest.param(lambda: make_token(), "bearer", 401, "token_invalid", id="play-token"),
    pytest.param(lambda: make_token(type="publish"), "bearer", 401, "token_invalid", id="publish-token"),
    pytest.param(lambda: make_token(type="admin"), "bearer", 401, "token_invalid", id="admin-type-viewer-secret"),
    pytest.param(lambda: make_token(ADMIN_SECRET, exp=_ago(-120)), "bearer", 401, "token_invalid",
                 id="play-type-admin-secret"),
    pytest.param(lambda: make_admin_token(ttl=301), "bearer", 401, "token_invalid", id="admin-lifetime-301s"),
    pytest.param(lambda: make_admin_token(ttl=3600), "bearer", 401, "token_invalid", id="admin-lifetime-1h"),
    pytest.param(lambda: jwt.encode({"type": "admin", "exp": int(time.time()) + 60}, ADMIN_SECRET,
                                    algorithm="HS256"), "bearer", 401, "token_invalid", id="admin-without-iat"),
    pytest.param(lambda: make_admin_token(iat=_ago(400), exp=_ago(100)), "bearer", 401, "token_expired",
                 id="admin-expired"),
    pytest.param(lambda: forge({"alg": "none"}, {"type": "admin", "iat": _ago(0), "exp": _ago(-60)}, key=None),
                 "bearer", 401, "token_invalid", id="admin-alg-none"),
    pytest.param(lambda: make_admin_token().rsplit(".", 1)[0] + ".", "bearer", 401, "token_invalid",
                 id="admin-signature-stripped"),
    pytest.param(lambda: "Basic YWRtaW46YWRtaW4=", "raw", 401, "token_invalid", id="basic-auth"),
]


@pytest.mark.parametrize(("factory", "carrier", "status", "code"), API_CREDENTIALS)
async def test_api_refuses_anything_but_an_admin_token(origin: Origin, factory: Callable[[], str | None],
                                                       carrier: str | None, status: int, code: str) -> None:
    credential = factory()
    for method, path, body in api_routes():
        kwargs: dict[str, Any] = {"method": method, "json": body}
        if carrier == "bearer":
            kwargs["auth"] = f"Bearer {credential}"
        elif carrier == "raw":
            kwargs["auth"] = credential
        elif carrier == "query":
            kwargs["token"] = credential
        reply = await fetch(origin, path, **kwargs)
        expect_error(reply, status, code, *([credential] if credential else []))
    assert expect_json(await api(origin, "GET", "/api/v1/groups")) == {"groups": {}, "rooms": []}, \
        "a refused request changed nothing"


async def test_api_accepts_an_admin_token_and_mints_scoped_tokens(origin: Origin) -> None:
    """The control for the table above, and a minted play token is a viewer token, not an admin one."""
    admin = f"Bearer {make_admin_token(ttl=300)}"
    expected = {"POST": 201, "PUT": 200, "DELETE": 204, "GET": 200}
    for method, path, body in api_routes():
        reply = await fetch(origin, path, method=method, json=body, auth=admin)
        assert reply.status == expected[method], (method, path, reply.text)
        assert reply.headers["Cache-Control"] == "no-store"
    minted = (await fetch(origin, "/api/v1/tokens", method="POST", json={"stream": STREAM}, auth=admin)).json()
    play = minted["token"]
    expect_media(await send(origin, SEGMENT, play, "query"), "video/mp2t")
    expect_error(await send(origin, f"/hls/{OTHER_STREAM}/360p/seg_00000.ts", play, "query"), 403, "forbidden", play)
    expect_error(await fetch(origin, "/api/v1/tokens", method="POST", json={"stream": STREAM},
                             auth=f"Bearer {play}"), 401, "token_invalid", play)


@pytest.mark.parametrize("via", ["query", "header"])
async def test_admin_token_is_not_a_viewer_token(origin: Origin, via: str) -> None:
    """Signed with the admin secret, which the viewer verifier does not hold: 401 on media."""
    token = make_admin_token()
    for path in (SEGMENT, MASTER):
        expect_error(await send(origin, path, token, via), 401, "token_invalid", token)


async def test_api_is_off_without_an_admin_secret(start_origin: StartOrigin, media_root: Path,
                                                  tmp_path: Path) -> None:
    settings = settings_for(media_root, tmp_path / "state2", env={"HLSGATE_ADMIN_SECRET": ""})
    assert not settings.admin.configured
    no_admin = await start_origin(settings)
    token = make_admin_token()
    expect_error(await fetch(no_admin, "/api/v1/tokens", method="POST", json={"stream": STREAM},
                             auth=f"Bearer {token}"), 503, "not_configured", token)
