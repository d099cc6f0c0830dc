"""Token propagation into playlists: every URI meant for the origin gets exactly one token, nothing else moves."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import m3u8
import pytest

from hls_server.core.rewrite import (
    MAX_HOST_VARIANTS,
    TOKEN_PARAM,
    PlaylistTemplate,
    compile_playlist,
    propagate_token,
)
from transcode.toolchain import find_toolchain

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2aWV3ZXIiLCJzdHJlYW0iOiJkZW1vIn0.c2lnbmF0dXJlLV8"
HOST = "media.example.com"
FFMPEG_TIMEOUT_SECONDS = 120

MASTER = """\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/session.key",IV=0x00000000000000000000000000000001
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json"
#EXT-X-CONTENT-STEERING:SERVER-URI="/steering?video=demo",PATHWAY-ID="CDN-A"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, stereo",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=5350000,AVERAGE-BANDWIDTH=5000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"
1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2996000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"
720p/index.m3u8?profile=main
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=180000,RESOLUTION=1280x720,CODECS="avc1.64001f",URI="720p/iframes.m3u8"
"""

MASTER_EXPECTED = """\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/session.key?token=TKN",IV=0x00000000000000000000000000000001
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json?token=TKN"
#EXT-X-CONTENT-STEERING:SERVER-URI="/steering?video=demo&token=TKN",PATHWAY-ID="CDN-A"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, stereo",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8?token=TKN"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=5350000,AVERAGE-BANDWIDTH=5000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"
1080p/index.m3u8?token=TKN
#EXT-X-STREAM-INF:BANDWIDTH=2996000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"
720p/index.m3u8?profile=main&token=TKN
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=180000,RESOLUTION=1280x720,CODECS="avc1.64001f",URI="720p/iframes.m3u8?token=TKN"
"""

MEDIA = """\
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"
#EXT-X-KEY:METHOD=AES-128,URI="/keys/demo.key",IV=0x0000000000000000000000000000000A
#EXTINF:4.000000,
#EXT-X-BYTERANGE:75232@720
main.mp4
#EXTINF:4.000000,a title, with a comma and URI="not-a-uri"
#EXT-X-BYTERANGE:82112
main.mp4
#EXT-X-KEY:METHOD=NONE
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:08.000Z
#EXTINF:3.2,
ad/seg_00000.ts?campaign=spring
# a comment that says URI="x"

#EXT-X-ENDLIST
"""

MEDIA_EXPECTED = """\
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4?token=TKN",BYTERANGE="720@0"
#EXT-X-KEY:METHOD=AES-128,URI="/keys/demo.key?token=TKN",IV=0x0000000000000000000000000000000A
#EXTINF:4.000000,
#EXT-X-BYTERANGE:75232@720
main.mp4?token=TKN
#EXTINF:4.000000,a title, with a comma and URI="not-a-uri"
#EXT-X-BYTERANGE:82112
main.mp4?token=TKN
#EXT-X-KEY:METHOD=NONE
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:08.000Z
#EXTINF:3.2,
ad/seg_00000.ts?campaign=spring&token=TKN
# a comment that says URI="x"

#EXT-X-ENDLIST
"""

LOW_LATENCY = """\
#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24.0,PART-HOLD-BACK=3.0
#EXT-X-PART-INF:PART-TARGET=1.0
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
seg266.m4s
#EXT-X-PART:DURATION=1.0,URI="seg267.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=1.0,URI="seg267.1.m4s?_HLS_msn=267"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg267.2.m4s"
#EXT-X-RENDITION-REPORT:URI="../720p/index.m3u8",LAST-MSN=267,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="https://media.example.com/hls/demo/480p/index.m3u8",LAST-MSN=267,LAST-PART=1
"""

LOW_LATENCY_EXPECTED = """\
#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24.0,PART-HOLD-BACK=3.0
#EXT-X-PART-INF:PART-TARGET=1.0
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4?token=TKN"
#EXTINF:4.0,
seg266.m4s?token=TKN
#EXT-X-PART:DURATION=1.0,URI="seg267.0.m4s?token=TKN",INDEPENDENT=YES
#EXT-X-PART:DURATION=1.0,URI="seg267.1.m4s?_HLS_msn=267&token=TKN"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg267.2.m4s?token=TKN"
#EXT-X-RENDITION-REPORT:URI="../720p/index.m3u8?token=TKN",LAST-MSN=267,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="https://media.example.com/hls/demo/480p/index.m3u8?token=TKN",LAST-MSN=267,LAST-PART=1
"""

PLAYLISTS = {"master": MASTER, "media": MEDIA, "low-latency": LOW_LATENCY}

HOSTILE_TOKENS = [
    "a\n#EXT-X-ENDLIST\nb",
    "a\r\n#EXT-X-KEY:METHOD=NONE\r\n",
    '",URI="https://evil.example/x',
    "a,b=c,URI=d",
    "has spaces and\ttabs",
    "#fragment?and=query&token=again",
    "%0A%22 already-encoded",
    "\u2028unicode\u0085line\x00breaks\ufeff",
    "'single' `back` <angle> \\back\\",
]


def query_tokens(uri: str) -> list[str]:
    return parse_qs(urlsplit(uri).query, keep_blank_values=True).get(TOKEN_PARAM, [])


# --- whole playlists -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    (MASTER, MASTER_EXPECTED),
    (MEDIA, MEDIA_EXPECTED),
    (LOW_LATENCY, LOW_LATENCY_EXPECTED),
], ids=["master", "media", "low-latency"])
def test_every_uri_gets_the_token_and_nothing_else_changes(source: str, expected: str) -> None:
    assert propagate_token(source, "TKN", host=HOST) == expected


def test_master_parses_with_every_uri_carrying_one_token() -> None:
    parsed = m3u8.loads(propagate_token(MASTER, JWT))
    uris = [p.uri for p in parsed.playlists] + [p.uri for p in parsed.iframe_playlists]
    uris += [m.uri for m in parsed.media if m.uri] + [k.uri for k in parsed.session_keys]
    assert len(uris) == 5
    assert all(query_tokens(uri) == [JWT] for uri in uris), uris


def test_media_parses_with_every_uri_carrying_one_token() -> None:
    parsed = m3u8.loads(propagate_token(MEDIA, JWT))
    uris = [s.uri for s in parsed.segments] + [parsed.segments[0].init_section.uri]
    uris += [k.uri for k in parsed.keys if k and k.uri]
    assert len(uris) == 3 + 1 + 1
    assert all(query_tokens(uri) == [JWT] for uri in uris), uris
    assert [k.method for k in parsed.keys if k] == ["AES-128", "NONE"]


def test_low_latency_parses_with_every_uri_carrying_one_token() -> None:
    parsed = m3u8.loads(propagate_token(LOW_LATENCY, JWT, host=HOST))
    uris = [s.uri for s in parsed.segments if s.uri] + [p.uri for s in parsed.segments for p in s.parts]
    uris += [parsed.segments[0].init_section.uri, parsed.preload_hint.uri]
    uris += [r.uri for r in parsed.rendition_reports]
    assert len(uris) == 1 + 2 + 2 + 2
    assert all(query_tokens(uri) == [JWT] for uri in uris), uris


# --- one URI, in a URI line and in a URI attribute ------------------------------------------------------

URI_CASES: list[tuple[str, str | None, str]] = [
    # relative and path-absolute: always
    ("seg.ts", None, "seg.ts?token=TKN"),
    ("../audio/seg 1.ts", None, "../audio/seg 1.ts?token=TKN"),
    ("/hls/demo/720p/seg_00001.ts", HOST, "/hls/demo/720p/seg_00001.ts?token=TKN"),
    ("\\hls\\seg.ts", None, "\\hls\\seg.ts?token=TKN"),
    # queries and fragments
    ("seg.ts?a=1", None, "seg.ts?a=1&token=TKN"),
    ("seg.ts?a=1&b=2#t=3", None, "seg.ts?a=1&b=2&token=TKN#t=3"),
    ("seg.ts#t=3", None, "seg.ts?token=TKN#t=3"),
    ("seg.ts#frag?x=1", None, "seg.ts?token=TKN#frag?x=1"),
    ("seg.ts?", None, "seg.ts?token=TKN"),
    ("seg.ts?a=1&", None, "seg.ts?a=1&token=TKN"),
    ("seg.ts?mytoken=1&token_id=2", None, "seg.ts?mytoken=1&token_id=2&token=TKN"),
    # an existing token is replaced in place, never doubled
    ("seg.ts?token=old", None, "seg.ts?token=TKN"),
    ("seg.ts?a=1&token=old&b=2#f", None, "seg.ts?a=1&token=TKN&b=2#f"),
    ("seg.ts?token=x&a=1&token=y&b=2", None, "seg.ts?token=TKN&a=1&b=2"),
    ("seg.ts?token", None, "seg.ts?token=TKN"),
    ("seg.ts?tok%65n=old&a=1", None, "seg.ts?token=TKN&a=1"),
    # absolute, same host: with the token
    ("https://media.example.com/hls/seg.ts", HOST, "https://media.example.com/hls/seg.ts?token=TKN"),
    ("HTTPS://Media.Example.COM:443/seg.ts", HOST, "HTTPS://Media.Example.COM:443/seg.ts?token=TKN"),
    ("https://media.example.com/seg.ts", "MEDIA.example.com:443", "https://media.example.com/seg.ts?token=TKN"),
    ("https://media.example.com:8443/seg.ts", "media.example.com:8443",
     "https://media.example.com:8443/seg.ts?token=TKN"),
    ("https://media.example.com?x=1", HOST, "https://media.example.com?x=1&token=TKN"),
    ("https://media.example.com#f", HOST, "https://media.example.com?token=TKN#f"),
    ("https://[::1]:8443/seg.ts", "[::1]:8443", "https://[::1]:8443/seg.ts?token=TKN"),
    ("//media.example.com/seg.ts", HOST, "//media.example.com/seg.ts?token=TKN"),
    ("//media.example.com:8443/seg.ts", "media.example.com:8443", "//media.example.com:8443/seg.ts?token=TKN"),
    # absolute, anything else: untouched
    ("https://media.example.com/seg.ts", None, "https://media.example.com/seg.ts"),
    ("https://cdn.other.example/seg.ts?token=theirs", HOST, "https://cdn.other.example/seg.ts?token=theirs"),
    ("https://media.example.com:80/seg.ts", HOST, "https://media.example.com:80/seg.ts"),
    ("http://media.example.com/seg.ts", "media.example.com:443", "http://media.example.com/seg.ts"),
    ("http://media.example.com:80/seg.ts", HOST, "http://media.example.com:80/seg.ts"),  # an https request
    ("https://media.example.com:8443/seg.ts", HOST, "https://media.example.com:8443/seg.ts"),
    ("https://media.example.com/seg.ts", "media.example.com:8443", "https://media.example.com/seg.ts"),
    ("https://media.example.com.evil.example/seg.ts", HOST, "https://media.example.com.evil.example/seg.ts"),
    ("https://media.example.com@evil.example/seg.ts", HOST, "https://media.example.com@evil.example/seg.ts"),
    ("https://user@media.example.com/seg.ts", HOST, "https://user@media.example.com/seg.ts"),
    ("https://evil.example\\@media.example.com/seg.ts", HOST, "https://evil.example\\@media.example.com/seg.ts"),
    ("https://media.example.com\\@evil.example/seg.ts", HOST, "https://media.example.com\\@evil.example/seg.ts"),
    ("https://media.example.com:99999/seg.ts", "media.example.com:99999", "https://media.example.com:99999/seg.ts"),
    ("https://media.example.com:/seg.ts", HOST, "https://media.example.com:/seg.ts"),
    ("https://%6Dedia.example.com/seg.ts", HOST, "https://%6Dedia.example.com/seg.ts"),
    ("//media.example.com:443/seg.ts", HOST, "//media.example.com:443/seg.ts"),
    ("//cdn.other.example/seg.ts", HOST, "//cdn.other.example/seg.ts"),
    ("\\\\cdn.other.example/seg.ts", HOST, "\\\\cdn.other.example/seg.ts"),
    ("/\\cdn.other.example/seg.ts", HOST, "/\\cdn.other.example/seg.ts"),
    ("///cdn.other.example/seg.ts", HOST, "///cdn.other.example/seg.ts"),
    ("https:cdn.other.example/seg.ts", HOST, "https:cdn.other.example/seg.ts"),
    ("https:///cdn.other.example/seg.ts", HOST, "https:///cdn.other.example/seg.ts"),
    ("/\t/cdn.other.example/seg.ts", HOST, "/\t/cdn.other.example/seg.ts"),
    ("ftp://media.example.com/seg.ts", HOST, "ftp://media.example.com/seg.ts"),
    ("skd://key-id-1234", HOST, "skd://key-id-1234"),
    ("data:text/plain;base64,SGVsbG8=", HOST, "data:text/plain;base64,SGVsbG8="),
]


@pytest.mark.parametrize(("uri", "host", "expected"), URI_CASES)
def test_uri_line(uri: str, host: str | None, expected: str) -> None:
    source = f"#EXTM3U\n#EXTINF:4,\n{uri}\n"
    assert propagate_token(source, "TKN", host=host) == f"#EXTM3U\n#EXTINF:4,\n{expected}\n"


@pytest.mark.parametrize(("uri", "host", "expected"), URI_CASES)
def test_uri_attribute(uri: str, host: str | None, expected: str) -> None:
    source = f'#EXTM3U\n#EXT-X-MAP:URI="{uri}",BYTERANGE="720@0"\n'
    assert propagate_token(source, "TKN", host=host) == f'#EXTM3U\n#EXT-X-MAP:URI="{expected}",BYTERANGE="720@0"\n'


AMBIGUOUS_AUTHORITIES = [
    # userinfo, and backslashes anywhere before the path (WHATWG reads "\\" as "/", curl and ffmpeg do not)
    "https://media.example.com\\@evil.example/seg.ts",
    "//media.example.com\\@evil.example/seg.ts",
    "\\\\media.example.com\\@evil.example/seg.ts",
    "https://media.example.com\\seg.ts",
    "https://media.example.com:443\\@evil.example/seg.ts",
    "https://media.example.com@evil.example/seg.ts",
    "https://@media.example.com/seg.ts",
    "https://media.example.com:443@evil.example/seg.ts",
    "https://media.example.com%40evil.example/seg.ts",
    # percent-encoded host bytes, %2F, non-ASCII look-alikes
    "https://media%2Eexample.com/seg.ts",
    "https://media.example.com%2F@evil.example/seg.ts",
    "https://media.example.com%2Fseg.ts",
    "https://m\u0435dia.example.com/seg.ts",
    "https://media.example.\u212aom/seg.ts",
    "https://media\u3002example.com/seg.ts",
    # blanks and controls wherever they are
    "https://media.example.com /seg.ts",
    "https:// media.example.com/seg.ts",
    "https://media.example.com\t/seg.ts",
    "https://media.example.com/se\tg.ts",
    "https://media.\x00example.com/seg.ts",
    "https://media.example.com\x0b/seg.ts",
    "\u00a0//media.example.com/seg.ts",
    "\ufeff//media.example.com/seg.ts",
    "//media.example.com\u2028/seg.ts",
    "//media.example.com/seg\x85.ts",
    # host names that are not plain: trailing or double dots, edge hyphens, underscores
    "https://media.example.com./seg.ts",
    "https://media.example.com.:443/seg.ts",
    "https://media..example.com/seg.ts",
    "https://.media.example.com/seg.ts",
    "https://-media.example.com/seg.ts",
    "https://media-.example.com/seg.ts",
    "https://media_1.example.com/seg.ts",
    # ports: out of range, leading zeros, zero, empty, signs
    "https://media.example.com:0443/seg.ts",
    "https://media.example.com:00443/seg.ts",
    "https://media.example.com:0/seg.ts",
    "https://media.example.com:65536/seg.ts",
    "https://media.example.com:/seg.ts",
    "https://media.example.com:+443/seg.ts",
    "https://media.example.com:443:443/seg.ts",
]
AMBIGUOUS_NUMERIC_HOSTS = [
    # number-like host names: WHATWG parsers read them as IPv4 addresses, other parsers as names
    ("https://127.1:8443/seg.ts", "127.1:8443"),
    ("https://0x7f.0.0.1:8443/seg.ts", "0x7f.0.0.1:8443"),
    ("https://0177.0.0.1:8443/seg.ts", "0177.0.0.1:8443"),
    ("https://127.000.0.1:8443/seg.ts", "127.000.0.1:8443"),
    ("https://2130706433:8443/seg.ts", "2130706433:8443"),
    ("https://256.0.0.1:8443/seg.ts", "256.0.0.1:8443"),
    ("https://1.2.3.4.5:8443/seg.ts", "1.2.3.4.5:8443"),
    ("https://example.0x1/seg.ts", "example.0x1"),
    ("https://example.123/seg.ts", "example.123"),
    # IPv6: zone ids, bad literals, IPv4 in brackets
    ("https://[fe80::1%25eth0]:8443/seg.ts", "[fe80::1%25eth0]:8443"),
    ("https://[fe80::1%eth0]:8443/seg.ts", "[fe80::1%eth0]:8443"),
    ("https://[::1::2]:8443/seg.ts", "[::1::2]:8443"),
    ("https://[1.2.3.4]:8443/seg.ts", "[1.2.3.4]:8443"),
    ("https://[:::1]/seg.ts", "[:::1]"),
    ("https://[::ffff:01.2.3.4]/seg.ts", "[::ffff:01.2.3.4]"),
]
PLAIN_AUTHORITIES = [
    # near misses that are plain: the token goes in
    ("https://media.example.com/a\\b/seg.ts", HOST),
    ("https://media.example.com/@evil.example/seg.ts", HOST),
    ("https://media.example.com/seg.ts?next=https://evil.example/@x", HOST),
    ("https://media.example.com?x=\\@evil.example", HOST),
    ("https://media.example.com#\\@evil.example", HOST),
    ("https://media.example.com/seg%20one.ts", HOST),
    ("https://media.example.com/s\u00e9g.ts", HOST),
    ("https://media-1.example.com/seg.ts", "media-1.example.com"),
    ("https://xn--mdia-dpa.example.com/seg.ts", "xn--mdia-dpa.example.com"),
    ("https://MEDIA.Example.com:65535/seg.ts", "media.example.com:65535"),
    ("https://media.example.com:1/seg.ts", "media.example.com:1"),
    ("https://127.0.0.1:8443/seg.ts", "127.0.0.1:8443"),
    ("https://0.0.0.0:8443/seg.ts", "0.0.0.0:8443"),
    ("https://255.255.255.255/seg.ts", "255.255.255.255"),
    ("https://1.2.3.example/seg.ts", "1.2.3.example"),
    ("https://example.0xyz/seg.ts", "example.0xyz"),
    ("https://[::1]/seg.ts", "[::1]"),
    ("https://[2001:DB8::1]:8443/seg.ts", "[2001:db8::1]:8443"),
    ("https://[::ffff:1.2.3.4]/seg.ts", "[::ffff:1.2.3.4]"),
    ("//127.0.0.1:8080/seg.ts", "127.0.0.1:8080"),
    ("\\\\media.example.com/seg.ts", HOST),
    ("/\\media.example.com/seg.ts", HOST),
]


@pytest.mark.parametrize("uri", AMBIGUOUS_AUTHORITIES, ids=lambda uri: repr(uri))
@pytest.mark.parametrize("host", [HOST, "media.example.com:443", "evil.example", "as written"])
def test_an_ambiguous_authority_never_gets_the_token(uri: str, host: str) -> None:
    if host == "as written":  # a Host header spelled like the URI's authority, odd characters and all
        host = re.split(r"[/?#]", uri.split("//", 1)[1] if "//" in uri else uri[2:], maxsplit=1)[0].lower()
    assert_untouched(uri, host)


@pytest.mark.parametrize(("uri", "host"), AMBIGUOUS_NUMERIC_HOSTS, ids=lambda value: repr(value))
def test_an_ambiguous_numeric_host_never_gets_the_token(uri: str, host: str) -> None:
    assert_untouched(uri, host)


@pytest.mark.parametrize(("uri", "host"), PLAIN_AUTHORITIES, ids=lambda value: repr(value))
def test_a_plain_authority_gets_the_token(uri: str, host: str) -> None:
    rendered = propagate_token(f"#EXTM3U\n{uri}\n", "TKN", host=host).splitlines()[1]
    assert query_tokens(rendered) == ["TKN"], rendered
    assert rendered.replace("?token=TKN", "", 1).replace("&token=TKN", "", 1) == uri


def assert_untouched(uri: str, host: str) -> None:
    """Neither as a URI line nor as a URI attribute does ``uri`` get a token, for a request to ``host``."""
    for source in (f"#EXTM3U\n#EXTINF:4,\n{uri}\n", f'#EXTM3U\n#EXT-X-MAP:URI="{uri}"\n'):
        assert propagate_token(source, "TKN", host=host) == source, repr(source)


SCHEME_CASES: list[tuple[str, str, str, bool]] = [
    # uri, host, the request's scheme, whether the token goes in
    ("http://media.example.com/seg.ts", HOST, "https", False),
    ("http://media.example.com/seg.ts", HOST, "HTTPS", False),
    ("HTTP://media.example.com/seg.ts", HOST, "https", False),
    ("http://media.example.com:80/seg.ts", HOST, "https", False),
    ("http://media.example.com:8080/seg.ts", "media.example.com:8080", "https", False),
    ("//media.example.com/seg.ts", HOST, "https", True),
    ("https://media.example.com/seg.ts", HOST, "https", True),
    ("https://media.example.com/seg.ts", HOST, "http", True),
    ("https://media.example.com:8443/seg.ts", "media.example.com:8443", "http", True),
    ("http://media.example.com/seg.ts", HOST, "http", True),
    ("http://media.example.com/seg.ts", HOST, "HTTP", True),
    ("http://media.example.com:80/seg.ts", HOST, "http", True),
    ("http://media.example.com/seg.ts", "media.example.com:80", "http", True),
    ("http://media.example.com:8080/seg.ts", "media.example.com:8080", "http", True),
    ("//media.example.com/seg.ts", HOST, "http", True),
    ("//media.example.com:8080/seg.ts", "media.example.com:8080", "http", True),
    # anything but http and https is the strict side
    ("http://media.example.com/seg.ts", HOST, "", False),
    ("http://media.example.com/seg.ts", HOST, "ws", False),
    ("http://media.example.com/seg.ts", HOST, "http ", False),
    ("https://media.example.com/seg.ts", HOST, "gopher", True),
    # relative URIs stay on the scheme the playlist came over
    ("seg.ts", HOST, "https", True),
    ("/hls/seg.ts", HOST, "http", True),
]


@pytest.mark.parametrize(("uri", "host", "scheme", "tokened"), SCHEME_CASES, ids=lambda value: repr(value))
def test_a_token_never_goes_to_a_weaker_scheme(uri: str, host: str, scheme: str, tokened: bool) -> None:
    for source in (f"#EXTM3U\n#EXTINF:4,\n{uri}\n", f'#EXTM3U\n#EXT-X-MAP:URI="{uri}"\n'):
        rendered = compile_playlist(source).render("TKN", host, scheme).decode()
        assert ("token=TKN" in rendered) is tokened, rendered
        assert rendered.replace("?token=TKN", "") == source


def test_the_default_scheme_is_https() -> None:
    source = "#EXTM3U\nhttp://media.example.com/a.ts\nhttps://media.example.com/b.ts\n"
    expected = "#EXTM3U\nhttp://media.example.com/a.ts\nhttps://media.example.com/b.ts?token=TKN\n"
    assert compile_playlist(source).render("TKN", HOST).decode() == expected
    assert propagate_token(source, "TKN", HOST) == expected


def test_one_template_renders_each_scheme_and_host_apart() -> None:
    source = "#EXTM3U\nhttp://media.example.com/a.ts\nhttps://media.example.com/b.ts\nrel.ts\n"
    template = compile_playlist(source)
    over_https = "#EXTM3U\nhttp://media.example.com/a.ts\nhttps://media.example.com/b.ts?token=T\nrel.ts?token=T\n"
    over_http = "#EXTM3U\nhttp://media.example.com/a.ts?token=T\nhttps://media.example.com/b.ts?token=T\nrel.ts?token=T\n"
    elsewhere = "#EXTM3U\nhttp://media.example.com/a.ts\nhttps://media.example.com/b.ts\nrel.ts?token=T\n"
    for _ in range(2):
        assert template.render("T", HOST, "https").decode() == over_https
        assert template.render("T", HOST, "http").decode() == over_http
        assert template.render("T", "other.example", "http").decode() == elsewhere
        assert template.render("T", None, "http").decode() == elsewhere
    variants = template.host_chunks[HOST]
    assert variants.https != variants.http
    https_only = compile_playlist("#EXTM3U\nhttps://media.example.com/b.ts\n").host_chunks[HOST]
    assert https_only.https is https_only.http  # one object when the schemes do not differ


@pytest.mark.parametrize(("line", "expected"), [
    # the attribute named URI, wherever it sits, in any #EXT tag
    ('#EXT-X-KEY:URI="k",METHOD=AES-128', '#EXT-X-KEY:URI="k?token=TKN",METHOD=AES-128'),
    ('#EXT-X-FUTURE-TAG:A=1,URI="x.json"', '#EXT-X-FUTURE-TAG:A=1,URI="x.json?token=TKN"'),
    ('#EXT-X-MAP: URI = "init.mp4" ,', '#EXT-X-MAP: URI = "init.mp4?token=TKN" ,'),
    # a quoted string's commas and "URI=" text are not attributes
    ('#EXT-X-MEDIA:NAME="a,URI=b.m3u8",URI="c.m3u8"', '#EXT-X-MEDIA:NAME="a,URI=b.m3u8",URI="c.m3u8?token=TKN"'),
    # names that merely end in URI, and SERVER-URI outside content steering
    ('#EXT-X-FUTURE-TAG:ID="ad",X-ASSET-URI="ad.m3u8"', '#EXT-X-FUTURE-TAG:ID="ad",X-ASSET-URI="ad.m3u8"'),
    ('#EXT-X-FUTURE-TAG:SERVER-URI="s",URI="u"', '#EXT-X-FUTURE-TAG:SERVER-URI="s",URI="u?token=TKN"'),
    ('#EXT-X-CONTENT-STEERING:SERVER-URI="s",URI="u"',
     '#EXT-X-CONTENT-STEERING:SERVER-URI="s?token=TKN",URI="u?token=TKN"'),
    # no URI, an empty one (an unquoted one: see test_lenient_attribute_lists)
    ("#EXT-X-KEY:METHOD=NONE", "#EXT-X-KEY:METHOD=NONE"),
    ('#EXT-X-MAP:URI=""', '#EXT-X-MAP:URI=""'),
    ('#EXT-X-MAP:URI="  "', '#EXT-X-MAP:URI="  "'),
    # not an attribute list: left alone (its URIs fail closed at the origin, never leak)
    ('#EXTINF:4,URI="x.ts"', '#EXTINF:4,URI="x.ts"'),
    ('#EXT-X-MAP:URI="a"b,C=1', '#EXT-X-MAP:URI="a"b,C=1'),
    ('#EXT-X-MAP:URI="unterminated', '#EXT-X-MAP:URI="unterminated'),
    ('#EXT-X-MAP:uri="lower.mp4"', '#EXT-X-MAP:uri="lower.mp4"'),
    ('#EXT-X-MAP URI="no-colon"', '#EXT-X-MAP URI="no-colon"'),
    # comments are not tags
    ('#EXTRA-COMMENT URI="x"', '#EXTRA-COMMENT URI="x"'),
    ('# URI="x"', '# URI="x"'),
])
def test_tag_line(line: str, expected: str) -> None:
    assert propagate_token(f"#EXTM3U\n{line}\n", "TKN") == f"#EXTM3U\n{expected}\n"


@pytest.mark.parametrize(("line", "expected"), [
    # a line whose first non-blank character is "#" is a tag or a comment, never a URI line
    ("  #EXT-X-START:TIME-OFFSET=0", "  #EXT-X-START:TIME-OFFSET=0"),
    ("\t#EXT-X-DISCONTINUITY", "\t#EXT-X-DISCONTINUITY"),
    ("   # an indented comment", "   # an indented comment"),
    (" \t #", " \t #"),
    # an indented tag's URI attributes get the token like any tag's, its indentation stays
    ('  #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"',
     '  #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8?token=TKN"'),
    ('\t#EXT-X-MAP:URI="init.mp4"', '\t#EXT-X-MAP:URI="init.mp4?token=TKN"'),
    ('  #EXT-X-KEY:METHOD=AES-128,URI="https://cdn.other.example/k"',
     '  #EXT-X-KEY:METHOD=AES-128,URI="https://cdn.other.example/k"'),
    ('  #EXTINF:4,URI="x.ts"', '  #EXTINF:4,URI="x.ts"'),
    ('  # URI="x"', '  # URI="x"'),
    # near misses: still URI lines, still with the token
    ("  seg.ts", "  seg.ts?token=TKN"),
    ("  seg.ts#EXT-X-ENDLIST", "  seg.ts?token=TKN#EXT-X-ENDLIST"),
    ("seg#1.ts", "seg?token=TKN#1.ts"),
    ("\t../audio/seg.ts", "\t../audio/seg.ts?token=TKN"),
], ids=lambda value: repr(value)[:40])
def test_indented_lines(line: str, expected: str) -> None:
    assert propagate_token(f"#EXTM3U\n{line}\n", "TKN") == f"#EXTM3U\n{expected}\n"
    assert propagate_token(f"#EXTM3U\r\n{line}\r\n", "TKN") == f"#EXTM3U\r\n{expected}\r\n"


def test_an_indented_playlist_parses_with_every_uri_carrying_one_token() -> None:
    source = "#EXTM3U\n" + "".join(f"  {line}\n" for line in MEDIA.splitlines()[1:])
    parsed = m3u8.loads(propagate_token(source, JWT))
    assert [s.duration for s in parsed.segments] == [4.0, 4.0, 3.2]
    uris = [s.uri for s in parsed.segments] + [parsed.segments[0].init_section.uri]
    uris += [k.uri for k in parsed.keys if k and k.uri]
    assert len(uris) == 5 and all(query_tokens(uri) == [JWT] for uri in uris), uris


@pytest.mark.parametrize(("line", "expected"), [
    # names players accept although RFC 8216 would not: underscores, lower case, dots
    ('#EXT-X-I-FRAME-STREAM-INF:AVERAGE_BANDWIDTH=180000,BANDWIDTH=200000,URI="720p/iframes.m3u8"',
     '#EXT-X-I-FRAME-STREAM-INF:AVERAGE_BANDWIDTH=180000,BANDWIDTH=200000,URI="720p/iframes.m3u8?token=TKN"'),
    ('#EXT-X-MEDIA:TYPE=AUDIO,group-id="aud",NAME="en",URI="audio/en.m3u8"',
     '#EXT-X-MEDIA:TYPE=AUDIO,group-id="aud",NAME="en",URI="audio/en.m3u8?token=TKN"'),
    ('#EXT-X-MAP:X_COM.EXAMPLE=1,URI="init.mp4"', '#EXT-X-MAP:X_COM.EXAMPLE=1,URI="init.mp4?token=TKN"'),
    # unquoted URI values: hls.js and ffmpeg request them
    ("#EXT-X-MAP:URI=init.mp4", "#EXT-X-MAP:URI=init.mp4?token=TKN"),
    ('#EXT-X-MAP:URI=init.mp4,BYTERANGE="720@0"', '#EXT-X-MAP:URI=init.mp4?token=TKN,BYTERANGE="720@0"'),
    ("#EXT-X-MAP:URI= init.mp4 \t", "#EXT-X-MAP:URI= init.mp4?token=TKN \t"),
    ("#EXT-X-MAP:URI=seg.mp4?a=b", "#EXT-X-MAP:URI=seg.mp4?a=b&token=TKN"),
    # blanks, tabs and a trailing comma around attributes
    ('#EXT-X-MAP:\tURI="init.mp4",\tBYTERANGE="720@0",', '#EXT-X-MAP:\tURI="init.mp4?token=TKN",\tBYTERANGE="720@0",'),
    # quoted values every reader reads alike, whatever they hold
    ('#EXT-X-MAP:URI="x y=//evil.example/p"', '#EXT-X-MAP:URI="x y=//evil.example/p?token=TKN"'),
    ('#EXT-X-MAP:URI="\\hls\\init.mp4"', '#EXT-X-MAP:URI="\\hls\\init.mp4?token=TKN"'),
    ('#EXT-X-MEDIA:NAME="x\\",URI="c.m3u8"', '#EXT-X-MEDIA:NAME="x\\",URI="c.m3u8?token=TKN"'),
    ('#EXT-X-SESSION-DATA:DATA-ID="com.example#1",URI="d.json"',
     '#EXT-X-SESSION-DATA:DATA-ID="com.example#1",URI="d.json?token=TKN"'),
    # still not attribute lists, or not the URI attribute
    ('#EXT-X-MAP:uri="lower.mp4"', '#EXT-X-MAP:uri="lower.mp4"'),
    ('#EXT-X-MAP:URI=a"b.mp4', '#EXT-X-MAP:URI=a"b.mp4'),
    ('#EXT-X-MAP:A B=1,URI="x"', '#EXT-X-MAP:A B=1,URI="x"'),
    ('#EXT-X-MAP:=1,URI="x"', '#EXT-X-MAP:=1,URI="x"'),
    ('#EXT-X-MAP:URI="x",,A=1', '#EXT-X-MAP:URI="x",,A=1'),
    ('#EXT-X-MAP:URI', '#EXT-X-MAP:URI'),
    ("#EXT-X-MAP:URI=", "#EXT-X-MAP:URI="),
], ids=lambda value: repr(value)[:60])
def test_lenient_attribute_lists(line: str, expected: str) -> None:
    assert propagate_token(f"#EXTM3U\n{line}\n", "TKN", host=HOST) == f"#EXTM3U\n{expected}\n"


def test_a_lenient_variant_parses_with_its_token() -> None:
    source = ("#EXTM3U\n"
              '#EXT-X-I-FRAME-STREAM-INF:AVERAGE_BANDWIDTH=180000,BANDWIDTH=200000,URI="720p/iframes.m3u8"\n'
              '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",AUTO_SELECT=YES,URI="audio/en.m3u8"\n')
    parsed = m3u8.loads(propagate_token(source, JWT))
    assert [query_tokens(p.uri) for p in [*parsed.iframe_playlists, *parsed.media]] == [[JWT], [JWT]]


READERS_DISAGREE = [
    # hls.js: a quoted value ends only at a quote followed by a comma or the end, so a blank before the
    # comma makes it run on to a later quote, and the rest of the line is read out of step
    '#EXT-X-MEDIA:TYPE=AUDIO,A="p" ,B="q" ,URI=",URI=https://evil.example/a?"',
    '#EXT-X-MEDIA:URI="https://evil.example/?" ,URI="seg.m3u8"',
    '#EXT-X-MEDIA:URI="https://media.example.com/?" ,URI="seg.m3u8"',
    # hls.js: after "= " a value is unquoted and ends at the first comma, even inside the quotes
    '#EXT-X-MEDIA:TYPE=AUDIO,URI= "a,URI=https://evil.example/x?"',
    # ffmpeg: a backslash escapes the next character of a quoted string, the quote included
    '#EXT-X-MAP:A="x\\",URI=",URI=https://evil.example/a?"',
    '#EXT-X-MAP:URI="\\h\\t\\t\\p\\s://evil.example/x"',
    '#EXT-X-MAP:URI="\\/\\/evil.example/x"',
    # ffmpeg: an unquoted value ends at a blank
    "#EXT-X-MAP:URI=x y=//evil.example/p",
    "#EXT-X-MAP:URI=a\tb=https://evil.example/p",
    # hls.js finds multivariant tags anywhere, even inside another tag's quoted value
    '#EXT-X-SESSION-DATA:DATA-ID="#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=a,DEFAULT=YES,NAME=",URI=",URI=https://evil.example/a?"',
    '#EXT-X-SESSION-DATA:DATA-ID="x",VALUE="#EXT-X-I-FRAME-STREAM-INF:URI=",URI="a.json"',
    # characters readers end lines or values at differently
    '#EXT-X-MAP:URI="init.mp4",NAME="a\u2028b"',
    '#EXT-X-MAP:URI="init.mp4",NAME="a\x0cb"',
    '#EXT-X-MAP:URI="init.mp4",NAME="a\x00b"',
    '#EXT-X-MAP:URI="init.mp4"\u00a0',
    '#EXT-X-MAP:URI="init.mp4",NAME="\ufeff"',
]


@pytest.mark.parametrize("line", READERS_DISAGREE, ids=lambda value: repr(value)[:60])
@pytest.mark.parametrize("host", [None, HOST])
def test_no_token_where_readers_disagree(line: str, host: str | None) -> None:
    source = f"#EXTM3U\n{line}\n"
    assert propagate_token(source, "TKN", host=host) == source


INTERSTITIALS = [
    # X-ASSET-URI and X-ASSET-LIST of EXT-X-DATERANGE, with the host and scheme rules of any URI
    ('#EXT-X-DATERANGE:ID="ad1",CLASS="com.apple.hls.interstitial",START-DATE="2026-01-01T00:00:08Z",'
     'X-ASSET-URI="ads/ad1.m3u8",X-RESUME-OFFSET=0',
     '#EXT-X-DATERANGE:ID="ad1",CLASS="com.apple.hls.interstitial",START-DATE="2026-01-01T00:00:08Z",'
     'X-ASSET-URI="ads/ad1.m3u8?token=TKN",X-RESUME-OFFSET=0'),
    ('#EXT-X-DATERANGE:ID="ad2",CLASS="com.apple.hls.interstitial",X-ASSET-LIST="/ads/list.json?break=2"',
     '#EXT-X-DATERANGE:ID="ad2",CLASS="com.apple.hls.interstitial",X-ASSET-LIST="/ads/list.json?break=2&token=TKN"'),
    ('  #EXT-X-DATERANGE:ID="ad3",X-ASSET-URI="https://media.example.com/ads/3.m3u8"',
     '  #EXT-X-DATERANGE:ID="ad3",X-ASSET-URI="https://media.example.com/ads/3.m3u8?token=TKN"'),
    ('#EXT-X-DATERANGE:ID="ad4",X-ASSET-URI=ads/4.m3u8', '#EXT-X-DATERANGE:ID="ad4",X-ASSET-URI=ads/4.m3u8?token=TKN'),
    ('#EXT-X-DATERANGE:ID="ad5",X-ASSET-URI="a.m3u8",X-ASSET-LIST="l.json"',
     '#EXT-X-DATERANGE:ID="ad5",X-ASSET-URI="a.m3u8?token=TKN",X-ASSET-LIST="l.json?token=TKN"'),
    # other hosts, weaker schemes, ambiguous authorities: untouched
    ('#EXT-X-DATERANGE:ID="ad6",X-ASSET-URI="https://ads.other.example/6.m3u8"',
     '#EXT-X-DATERANGE:ID="ad6",X-ASSET-URI="https://ads.other.example/6.m3u8"'),
    ('#EXT-X-DATERANGE:ID="ad7",X-ASSET-LIST="http://media.example.com/list.json"',
     '#EXT-X-DATERANGE:ID="ad7",X-ASSET-LIST="http://media.example.com/list.json"'),
    ('#EXT-X-DATERANGE:ID="ad8",X-ASSET-URI="https://media.example.com\\@evil.example/8.m3u8"',
     '#EXT-X-DATERANGE:ID="ad8",X-ASSET-URI="https://media.example.com\\@evil.example/8.m3u8"'),
    # only those attributes of that tag
    ('#EXT-X-DATERANGE:ID="ad9",X-COM-EXAMPLE-URI="x.json",X-ASSET-URIS="y.m3u8",x-asset-uri="z.m3u8"',
     '#EXT-X-DATERANGE:ID="ad9",X-COM-EXAMPLE-URI="x.json",X-ASSET-URIS="y.m3u8",x-asset-uri="z.m3u8"'),
    ('#EXT-X-MAP:URI="init.mp4",X-ASSET-LIST="l.json"', '#EXT-X-MAP:URI="init.mp4?token=TKN",X-ASSET-LIST="l.json"'),
    ('#EXT-X-SESSION-DATA:DATA-ID="x",X-ASSET-URI="a.m3u8"', '#EXT-X-SESSION-DATA:DATA-ID="x",X-ASSET-URI="a.m3u8"'),
    ('#EXT-X-DATERANGE-X:ID="x",X-ASSET-URI="a.m3u8"', '#EXT-X-DATERANGE-X:ID="x",X-ASSET-URI="a.m3u8"'),
    ('#EXT-X-DATERANGE:ID="x",SCTE35-OUT=0xFC30,DURATION=15', '#EXT-X-DATERANGE:ID="x",SCTE35-OUT=0xFC30,DURATION=15'),
]


@pytest.mark.parametrize(("line", "expected"), INTERSTITIALS, ids=lambda value: repr(value)[:60])
def test_interstitial_assets(line: str, expected: str) -> None:
    assert propagate_token(f"#EXTM3U\n{line}\n", "TKN", host=HOST) == f"#EXTM3U\n{expected}\n"


def test_interstitial_assets_render_per_host_and_scheme() -> None:
    line = '#EXT-X-DATERANGE:ID="a",X-ASSET-URI="https://media.example.com/a.m3u8",X-ASSET-LIST="http://media.example.com/l"'
    template = compile_playlist(f"#EXTM3U\n{line}\n")
    assert template.render("T", HOST, "https").decode().count("token=T") == 1
    assert template.render("T", HOST, "http").decode().count("token=T") == 2
    assert "token" not in template.render("T", "other.example").decode()


@pytest.mark.parametrize(("uri", "tokened"), [
    # a variable reference is substituted by hls.js and ExoPlayer: the URI requested is not this text
    ("{$base}/seg.ts", False),
    ("seg_{$n}.ts", False),
    ("/hls/{$stream}/seg.ts", False),
    ("https://media.example.com/{$path}/seg.ts", False),
    ("seg.ts?cdn={$cdn}", False),
    ("seg.ts#{$x}", False),
    # near misses
    ("seg{1}.ts", True),
    ("{seg}.ts", True),
    ("seg$1.ts", True),
    ("seg{ $x}.ts", True),
    ("seg$.ts?a={b}", True),
], ids=lambda value: repr(value))
def test_a_variable_reference_gets_no_token(uri: str, tokened: bool) -> None:
    define = '#EXT-X-DEFINE:NAME="base",VALUE="https://evil.example"\n'
    for line in (uri, f'#EXT-X-MAP:URI="{uri}"'):
        rendered = propagate_token(f"#EXTM3U\n{define}{line}\n", "TKN", host=HOST)
        assert ("token=TKN" in rendered) is tokened, rendered


@pytest.mark.parametrize("define", [
    '#EXT-X-DEFINE:QUERYPARAM="token"',
    '#EXT-X-DEFINE:QUERYPARAM = " token "',
    "#EXT-X-DEFINE:QUERYPARAM=token",
    '  #EXT-X-DEFINE:QUERYPARAM="token"',
    '#EXT-X-DEFINE:QUERYPARAM="{$name}"',
    '#EXT-X-SESSION-DATA:DATA-ID="#EXT-X-DEFINE:QUERYPARAM="token"',
])
def test_a_playlist_that_reads_the_token_from_its_url_is_refused(define: str) -> None:
    with pytest.raises(ValueError, match="QUERYPARAM"):
        compile_playlist(f'#EXTM3U\n{define}\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://evil.example/{{$token}}/v.m3u8\n')


@pytest.mark.parametrize("define", [
    '#EXT-X-DEFINE:QUERYPARAM="session"',
    '#EXT-X-DEFINE:QUERYPARAM="tokens"',
    '#EXT-X-DEFINE:QUERYPARAM="my-token"',
    '#EXT-X-DEFINE:NAME="token",VALUE="x"',
    '#EXT-X-DEFINE:IMPORT="base"',
])
def test_other_variable_definitions_are_fine(define: str) -> None:
    source = f"#EXTM3U\n{define}\n#EXTINF:4,\nseg.ts\n"
    assert propagate_token(source, "TKN") == source.replace("seg.ts", "seg.ts?token=TKN")


def test_canonical_lists_need_no_reader_check() -> None:
    """The shortcut that skips the reader models for canonical lists never skips a line they would refuse."""
    from hls_server.core import rewrite  # the private parts behind the shortcut

    rng = random.Random(4216)  # noqa: S311 - a seeded, repeatable test input, not a secret
    pieces = ["URI=", "NAME=", '"', ",", "=", "a", "https://", "//", "media.example.com", "evil.example", "?", "#",
              "@", ":443", "/", "%2F", "{$", "'", ";", "seg.ts", " ", "\\", "\t"]  # the last ones are not canonical
    canonical = 0
    for _ in range(20000):
        attributes = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        line = f"#EXT-X-MAP:{attributes}"
        start = len("#EXT-X-MAP:")
        if not rewrite._CANONICAL_LIST.fullmatch(line, start):
            continue
        found = rewrite._parse_attributes(line, start) or []
        places = [place for name, begin, end in found if name == "URI"
                  if (place := rewrite._place(line, begin, end)) is not None]
        if places:
            canonical += 1
            assert rewrite._readers_agree(line, start, places), line
    assert canonical > 100


# --- bytes that must not move ----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("#EXTM3U\r\n#EXTINF:4,\r\na.ts\r\n", "#EXTM3U\r\n#EXTINF:4,\r\na.ts?token=TKN\r\n"),
    ('#EXTM3U\r\n#EXT-X-MAP:URI="i.mp4"\r\n', '#EXTM3U\r\n#EXT-X-MAP:URI="i.mp4?token=TKN"\r\n'),
    ("#EXTM3U\na.ts", "#EXTM3U\na.ts?token=TKN"),
    ("#EXTM3U\r\na.ts", "#EXTM3U\r\na.ts?token=TKN"),
    ("#EXTM3U\na.ts\r", "#EXTM3U\na.ts?token=TKN\r"),
    ("#EXTM3U\n\n\n  \na.ts\n\n", "#EXTM3U\n\n\n  \na.ts?token=TKN\n\n"),
    ("#EXTM3U\n  a.ts \t\n", "#EXTM3U\n  a.ts?token=TKN \t\n"),
    ("\ufeff#EXTM3U\na.ts\n", "\ufeff#EXTM3U\na.ts?token=TKN\n"),
    ("\ufeff#EXTM3U\r\na.ts", "\ufeff#EXTM3U\r\na.ts?token=TKN"),
    ("#EXTM3U \nb\u00e9b\u00e9.ts\n", "#EXTM3U \nb\u00e9b\u00e9.ts?token=TKN\n"),
    ("#EXTM3U", "#EXTM3U"),
    ("#EXTM3U\n", "#EXTM3U\n"),
], ids=["crlf", "crlf-attribute", "no-final-newline", "crlf-no-final-newline", "final-cr", "blank-lines",
        "spaces-around-uri", "bom", "bom-crlf", "utf-8", "header-only", "header-newline"])
def test_line_ends_bom_and_blank_lines_are_kept(source: str, expected: str) -> None:
    assert propagate_token(source, "TKN") == expected
    assert compile_playlist(source).render("TKN") == expected.encode("utf-8")


# --- tokens --------------------------------------------------------------------------------------------

def test_a_jwt_goes_in_as_is() -> None:
    assert propagate_token("#EXTM3U\na.ts\n", JWT) == f"#EXTM3U\na.ts?token={JWT}\n"


@pytest.mark.parametrize("token", HOSTILE_TOKENS)
@pytest.mark.parametrize("name", PLAYLISTS)
def test_a_hostile_token_cannot_add_a_line_or_break_an_attribute(name: str, token: str) -> None:
    source = PLAYLISTS[name]
    out = propagate_token(source, token, host=HOST)
    reference = propagate_token(source, "TKN", host=HOST)
    assert out.count("\n") == source.count("\n") and "\r" not in out
    encoded = re.findall(r"token=([^&#\"\s]*)", out)
    assert len(encoded) == reference.count("token=TKN")
    assert all(re.fullmatch(r"[A-Za-z0-9_.~%-]+", value) for value in encoded), encoded
    # Each encoded value stands exactly where TKN stands; putting TKN back gives the reference text.
    assert re.sub(r"token=[^&#\"\s]*", "token=TKN", out) == reference
    tags = [line for line in out.splitlines() if line.startswith("#EXT-X-")]
    uris = [line for line in out.splitlines() if line[:1] not in ("#", "")]
    uris += [uri for line in tags for uri in re.findall(r'URI="([^"]*)"', line)]
    assert len(uris) == len(encoded)
    for uri in uris:
        assert query_tokens(uri) == [token], uri


def test_every_token_reaches_the_query_intact() -> None:
    rng = random.Random(8216)  # noqa: S311 - a seeded, repeatable test input, not a secret
    alphabet = "aZ09-_.~ \t\r\n#?&=,;:/\\\"'%+@[]{}<>\u00e9\u2028\x00\x7f\ufeff"
    template = compile_playlist(MEDIA)
    for _ in range(300):
        token = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        out = template.render(token).decode("utf-8")
        assert out.count("\n") == MEDIA.count("\n"), repr(token)
        parsed = m3u8.loads(out)
        assert [query_tokens(s.uri) for s in parsed.segments] == [[token]] * 3, repr(token)
        assert query_tokens(parsed.segments[0].init_section.uri) == [token], repr(token)


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="empty token"):
        compile_playlist(MEDIA).render("")
    with pytest.raises(ValueError, match="empty token"):
        propagate_token(MEDIA, "")


@pytest.mark.parametrize("host", [None, HOST])
@pytest.mark.parametrize("token", ["TKN", JWT, *HOSTILE_TOKENS])
@pytest.mark.parametrize("name", PLAYLISTS)
def test_rendering_is_idempotent(name: str, token: str, host: str | None) -> None:
    once = propagate_token(PLAYLISTS[name], token, host=host)
    assert propagate_token(once, token, host=host) == once


def test_a_new_token_replaces_the_previous_one() -> None:
    once = propagate_token(LOW_LATENCY, "first", host=HOST)
    assert propagate_token(once, "TKN", host=HOST) == LOW_LATENCY_EXPECTED


def test_one_template_renders_independent_tokens_and_hosts() -> None:
    template = compile_playlist(LOW_LATENCY)
    first = template.render("alice", host=HOST)
    second = template.render("bob", host=None)
    third = template.render("alice", host=HOST)
    assert first == third
    assert first.decode() == LOW_LATENCY_EXPECTED.replace("TKN", "alice")
    assert second.decode() == LOW_LATENCY_EXPECTED.replace("TKN", "bob").replace(
        "480p/index.m3u8?token=bob", "480p/index.m3u8")
    assert b"alice" not in second and b"bob" not in first


def test_many_hosts_beyond_the_precomputed_ones_render_correctly() -> None:
    hosts = [f"h{i:02d}.example.com" for i in range(MAX_HOST_VARIANTS * 2)]
    source = "#EXTM3U\n" + "".join(f"https://{h}/seg.ts\nhttp://{h}/clear.ts\n" for h in hosts) + "rel.ts\n"
    template = compile_playlist(source)
    assert len(template.hosts) > len(template.host_chunks)
    for host in [*hosts, "elsewhere.example.com", None]:
        for scheme in ("https", "http"):
            out = template.render("TKN", host=host, scheme=scheme).decode()
            tokened = [line for line in out.splitlines() if "token=TKN" in line]
            named = [f"https://{host}/seg.ts?token=TKN"] if host in hosts else []
            named += [f"http://{host}/clear.ts?token=TKN"] if host in hosts and scheme == "http" else []
            assert tokened == [*named, "rel.ts?token=TKN"]


def test_template_is_small_to_print_and_immutable() -> None:
    template = compile_playlist(MEDIA)
    assert repr(template) == "PlaylistTemplate(5 token slots, 0 absolute hosts)"
    with pytest.raises(AttributeError):
        template.chunks = ()  # type: ignore[misc]
    assert isinstance(template, PlaylistTemplate)
    assert template == compile_playlist(MEDIA)


# --- not a playlist ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "",
    "\n",
    "\ufeff",
    "<html><body>404</body></html>",
    "#EXTM3U8\nseg.ts\n",
    "#EXT-X-VERSION:3\n#EXTM3U\n",
    " #EXTM3U\n",
    "\ufeff\ufeff#EXTM3U\n",
    "#extm3u\n",
    '{"token": "x"}',
    # what may come before the header is blank and comment lines, nothing else
    "# a comment\n",
    "\n\n",
    "# c\n#EXT-X-VERSION:3\n#EXTM3U\n",
    "#EXTRA comment-like tag\n#EXTM3U\n",
    "a.ts\n#EXTM3U\n",
    "<html>\n#EXTM3U\n",
    "# c\n  #EXTM3U\n",
    "\n\ufeff#EXTM3U\n",
    "\x0b\n#EXTM3U\n",
    "\u00a0\n#EXTM3U\n",
    "# c\r#EXTM3U\n",
])
def test_not_a_playlist(text: str) -> None:
    with pytest.raises(ValueError, match=r"not an HLS playlist: the first line must be #EXTM3U"):
        compile_playlist(text)


@pytest.mark.parametrize(("source", "expected"), [
    ("\n#EXTM3U\na.ts\n", "#EXTM3U\na.ts?token=TKN\n"),
    ("\r\n\r\n#EXTM3U\r\na.ts\r\n", "#EXTM3U\r\na.ts?token=TKN\r\n"),
    ("# written by hand\n#EXTM3U\n#EXTINF:4,\na.ts\n", "#EXTM3U\n#EXTINF:4,\na.ts?token=TKN\n"),
    ("  \n\t# indented comment\n#\n#EXTM3U \na.ts", "#EXTM3U \na.ts?token=TKN"),
    ("\ufeff\n#EXTM3U\na.ts\n", "#EXTM3U\na.ts?token=TKN\n"),
    ("# b\u00e9b\u00e9 \u2028 #EXT-X-KEY:URI=\"k\"\n#EXTM3U\n", "#EXTM3U\n"),
    ("\n#EXTM3U", "#EXTM3U"),
], ids=["blank-line", "crlf", "comment", "blanks-and-comments", "bom", "odd-comment", "header-only"])
def test_blank_and_comment_lines_before_the_header_are_left_out(source: str, expected: str) -> None:
    template = compile_playlist(source)
    assert template.render("TKN").decode() == expected
    assert source.encode()[template.start:] == expected.replace("?token=TKN", "").encode()
    assert template.render(JWT).startswith(b"#EXTM3U")  # what hls.js and ffmpeg need


def test_a_playlist_that_starts_with_its_header_starts_at_zero() -> None:
    for source in (MEDIA, "\ufeff#EXTM3U\na.ts\n", "#EXTM3U"):
        assert compile_playlist(source).start == 0


# --- playlists as ffmpeg writes them -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return find_toolchain().ffmpeg


@pytest.mark.slow
@pytest.mark.parametrize("segment_type", ["mpegts", "fmp4"])
def test_ffmpeg_playlists(ffmpeg: str, tmp_path: Path, segment_type: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240:rate=25", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "25", "-hls_time", "1", "-hls_segment_type", segment_type, "-hls_playlist_type", "vod",
                    "-f", "hls", str(out / "index.m3u8")], check=True, timeout=FFMPEG_TIMEOUT_SECONDS)
    source = (out / "index.m3u8").read_text(encoding="utf-8")
    before = m3u8.loads(source)
    assert len(before.segments) >= 4

    rendered = compile_playlist(source).render(JWT, host=HOST).decode("utf-8")
    after = m3u8.loads(rendered)
    assert [urlsplit(s.uri).path for s in after.segments] == [s.uri for s in before.segments]
    assert all(query_tokens(s.uri) == [JWT] for s in after.segments)
    if segment_type == "fmp4":
        assert after.segments[0].init_section.uri == f"{before.segments[0].init_section.uri}?token={JWT}"
    assert [s.duration for s in after.segments] == [s.duration for s in before.segments]
    assert after.is_endlist and after.target_duration == before.target_duration
    untouched = [line for line in rendered.splitlines() if TOKEN_PARAM not in line]
    assert untouched == [line for line in source.splitlines() if line.startswith("#") and "URI=" not in line]
    for segment in after.segments:
        assert (out / urlsplit(segment.uri).path).is_file()
