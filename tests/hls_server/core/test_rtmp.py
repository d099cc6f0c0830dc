"""core/rtmp.py: nginx-rtmp's callback bodies read strictly (where the token is, what is refused), and which RTMP
session holds a stream."""

from __future__ import annotations

import pytest

from hls_server.core.auth.credentials import Credentials
from hls_server.core.errors import BadRequest, TokenConflict, TokenMissing
from hls_server.core.rtmp import PUBLISH, PUBLISH_DONE, Callers, RtmpCall, RtmpSessions, parse_callback

from ..rtmp import nginx_form

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdHJlYW1JZCI6InMxIn0.c2lnbmF0dXJl"
OTHER = "eyJhbGciOiJIUzI1NiJ9.eyJzdHJlYW1JZCI6InMyIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(("form", "tokens"), [
    (nginx_form(args=f"token={JWT}"), (JWT,)),  # OBS: stream key s1?token=JWT
    (nginx_form(tcurl=f"rtmp://host/live?token={JWT}"), (JWT,)),  # server rtmp://host/live?token=JWT
    (nginx_form(args=f"token={JWT}", tcurl=f"rtmp://host:1935/live?token={JWT}"), (JWT, JWT)),  # both, the same
    (nginx_form(args=f"a=1&token={JWT}&b="), (JWT,)),  # other arguments are the client's business
    (nginx_form(args=f"token={JWT}&token={OTHER}"), (JWT, OTHER)),
    (nginx_form(args=f"token={OTHER}", tcurl=f"rtmp://host/live?x=1&token={JWT}"), (OTHER, JWT)),
    (nginx_form(), ()),
    (nginx_form(args="token="), ("",)),
])
def test_the_tokens_are_the_stream_keys_and_the_tcurls(form: bytes, tokens: tuple[str, ...]) -> None:
    call = parse_callback(form, PUBLISH)
    assert call == RtmpCall(PUBLISH, "s1", "7", Credentials(query=tokens))


def test_one_token_wherever_it_is_and_two_different_ones_conflict() -> None:
    assert parse_callback(nginx_form(args=f"token={JWT}"), PUBLISH).credentials.present().token == JWT
    same = nginx_form(args=f"token={JWT}", tcurl=f"rtmp://host/live?token={JWT}")
    assert parse_callback(same, PUBLISH).credentials.present().token == JWT
    for form in (nginx_form(args=f"token={JWT}", tcurl=f"rtmp://host/live?token={OTHER}"),
                 nginx_form(args=f"token={JWT}&token={OTHER}")):
        with pytest.raises(TokenConflict):
            parse_callback(form, PUBLISH).credentials.present()
    for form in (nginx_form(), nginx_form(args="token=&x=1")):
        with pytest.raises(TokenMissing):
            parse_callback(form, PUBLISH).credentials.present()


def test_odd_bytes_reach_the_gate_as_a_token_not_as_an_error() -> None:
    """Whatever bytes a client puts in its stream key are a token to refuse (401 at the gate), never a crash."""
    for args in (b"token=\xff\xfe\x00", b"token=%ff%00%0d%0a", b"token=\xe2\x80\xae" + JWT.encode(),
                 b"\x80=\x81&token=" + JWT.encode()):
        form = nginx_form() + b"&" + args
        call = parse_callback(form, PUBLISH)
        assert call.stream == "s1"
        assert len(call.credentials.query) == 1


@pytest.mark.parametrize("form", [
    nginx_form(args="name=s2"),  # the client may not rename its stream after nginx wrote the name
    nginx_form(args="call=publish"),
    nginx_form(args="addr=127.0.0.1"),
    nginx_form(args="clientid=1"),
    nginx_form(args=f"tcurl=rtmp://host/live?token={JWT}"),
    nginx_form(name="s1/x"),
    nginx_form(name=""),
    nginx_form(name="a" * 65),
    nginx_form(name="s\u00e91"),
    nginx_form(name="s1\n"),
    nginx_form(call="play"),
    nginx_form(call="publish_done"),
    b"",
    b"\xff\xfe",
    nginx_form(tcurl="rtmp://[::1/live"),
    nginx_form(args="&".join(f"x{i}=1" for i in range(64))),
])
def test_what_is_not_nginxs_publish_call_is_a_bad_request(form: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_callback(form, PUBLISH)


def test_publish_done_is_its_own_call() -> None:
    done = parse_callback(nginx_form(call="publish_done", args=f"token={JWT}", clientid="12"), PUBLISH_DONE)
    assert (done.call, done.stream, done.session) == (PUBLISH_DONE, "s1", "12")
    with pytest.raises(BadRequest):
        parse_callback(nginx_form(call="publish"), PUBLISH_DONE)


def test_the_first_session_holds_a_stream_until_its_own_done() -> None:
    sessions = RtmpSessions()
    first, second = ("127.0.0.1", "13"), ("127.0.0.1", "15")
    sessions.claim("s1", first)
    sessions.claim("s1", second)  # a duplicate that nginx then drops ("Already publishing")
    assert not sessions.release("s1", second)  # its done ends nothing
    assert not sessions.release("s1", ("10.0.0.2", "13"))  # the same clientid from another nginx is another session
    assert sessions.release("s1", first)
    assert not sessions.release("s1", first)
    sessions.claim("s1", second)  # free again: the next session holds it
    assert sessions.release("s1", second)


@pytest.mark.parametrize(("peer", "allowed"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True), ("10.0.0.5", True),
    ("10.1.200.3", True), ("10.0.0.6", False), ("192.168.0.1", False), ("::2", False), ("fe80::1%eth0", False),
    ("", False), ("localhost", False), ("not an address", False), (None, False),
])
def test_callers(peer: str | None, allowed: bool) -> None:
    callers = Callers.of(["127.0.0.0/8", "::1", "10.0.0.5", "10.1.0.0/16"])
    assert callers.allow(peer) is allowed
    assert not Callers.of([]).allow(peer)
