"""The JWKS source (``keys.py``) against a real JWKS server on loopback: keys loaded at start, refetch limits and
single flight, outages, removed keys, what ``parse_jwks`` skips, size limits, parsing off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from hls_server.core.auth import keys as auth
from hls_server.core.auth.keys import MAX_JWKS_BYTES, JwksSource, VerifyKey, parse_jwks
from hls_server.core.auth.verifier import Verifier
from hls_server.core.errors import KeySourceError, TokenInvalid
from hls_server.core.grants import Role
from hls_server.core.settings import KeySettings

from ...conftest import STREAM
from .conftest import JWKS_ALGORITHMS, FakeClock, unique, verifier

MIN_REFETCH = 30.0
TTL = 300.0


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
