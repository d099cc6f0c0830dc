"""Micro-benchmark: putting a viewer's token into a playlist, per request, against what others do.

Contenders, on the same in-memory playlists (a VOD media playlist of fMP4 segments with EXT-X-MAP, 4 s
each, and a master playlist with an audio rendition and 4 variants), all with the same JWT-shaped token:

* ``render``           ``PlaylistTemplate.render(token)``: what hlsgate does per request once the playlist's
                       template is cached (one per file version);
* ``compile+render``   ``compile_playlist(text).render(token)``: what a cache miss costs;
* ``m3u8-roundtrip``   ``m3u8.loads(text)``, the token appended to every URI of the model, ``dumps()``: what
                       a typical project does (and it rewrites the other lines too);
* ``regex``            one ``re.sub`` over URI lines and one over ``URI="..."`` per request (no query,
                       fragment or existing-token handling, so it does less than hlsgate).

Each timing is the best of ``--repeat`` runs of ``timeit`` (each run ~0.2 s of calls, GC off while
timing, as timeit does). Before timing, every contender's output is parsed back with m3u8 and
must name the same URIs, each with the token exactly once: a contender that did different work is an error.

    .venv/bin/python bench/rewrite_micro.py                          # 1800 segments (2 h), best of 5
    .venv/bin/python bench/rewrite_micro.py --segments 20 --repeat 1 # smoke

The exit status is 0 unless a contender's output differs; the figures are informative, there is no target.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from urllib.parse import parse_qs, quote, urlsplit

import m3u8

from hls_server.core.rewrite import TOKEN_PARAM, compile_playlist

DEFAULT_SEGMENTS = 1800
"""Two hours at 4 s per segment."""
DEFAULT_REPEAT = 5
RUN_SECONDS = 0.2
"""How long one timed run of a contender lasts (the count of calls in it is calibrated first)."""
MAX_SEGMENTS = 100_000
SEGMENT_SECONDS = 4.0
VARIANTS = (  # name, width, height, bandwidth, codecs
    ("1080p", 1920, 1080, 5_350_000, "avc1.640028,mp4a.40.2"),
    ("720p", 1280, 720, 2_996_000, "avc1.64001f,mp4a.40.2"),
    ("480p", 854, 480, 1_498_000, "avc1.64001e,mp4a.40.2"),
    ("360p", 640, 360, 856_000, "avc1.64001e,mp4a.40.2"),
)
SIGNATURE_BYTES = 64
"""An ES256 signature's length, so the token is as long as a real one."""

RENDER = "render"
COMPILE_RENDER = "compile+render"
M3U8_ROUNDTRIP = "m3u8-roundtrip"
REGEX = "regex"
BASELINES = (M3U8_ROUNDTRIP, REGEX)


class BenchError(Exception):
    """A contender's output does not name the same URIs, each with the token once, as the others'."""


@dataclass(frozen=True)
class Timing:
    seconds: float
    """Best time of one call."""
    number: int
    """Calls per timed run."""


# --- the inputs ------------------------------------------------------------------------------------------

def media_playlist(segments: int) -> str:
    """A VOD fMP4 media playlist as hlsgate's transcoder writes them."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS:.0f}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
             '#EXT-X-MAP:URI="init.mp4"']
    for number in range(segments):
        lines += [f"#EXTINF:{SEGMENT_SECONDS:.6f},", f"seg_{number:05d}.m4s"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def master_playlist() -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS",
             '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,'
             'CHANNELS="2",URI="audio/index.m3u8"']
    for name, width, height, bandwidth, codecs in VARIANTS:
        lines += [f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},CODECS="{codecs}",'
                  f'FRAME-RATE=30.000,AUDIO="aud"', f"{name}/index.m3u8"]
    return "\n".join([*lines, ""])


def jwt_shaped_token() -> str:
    """Header, claims and signature as base64url, like a real ES256 viewer token (never verified here)."""
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    header = json.dumps({"alg": "ES256", "typ": "JWT", "kid": "2026-01"}).encode()
    claims = json.dumps({"sub": "viewer-1234", "stream": "demo", "act": ["play"], "iat": 1767225600,
                         "exp": 1767229200}).encode()
    return ".".join([part(header), part(claims), part(bytes(range(SIGNATURE_BYTES)))])


# --- the baselines --------------------------------------------------------------------------------------

def m3u8_roundtrip(text: str, token: str) -> str:
    """Parse into m3u8's model, append the token to every URI it holds, serialise again."""
    playlist = m3u8.loads(text)
    suffix = f"?{TOKEN_PARAM}={quote(token, safe='')}"
    seen: set[int] = set()
    for item in [*playlist.segments, *(s.init_section for s in playlist.segments), *playlist.keys,
                 *playlist.playlists, *playlist.iframe_playlists, *playlist.media]:
        if item is not None and item.uri and id(item) not in seen:
            seen.add(id(item))
            item.uri += suffix
    dumped: str = playlist.dumps()
    return dumped


_URI_LINE = re.compile(r"^[^#\s][^\r\n]*", re.MULTILINE)
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def regex_rewrite(text: str, token: str) -> str:
    """The one-liner kind: append ``?token=`` (or ``&token=``) to URI lines and ``URI="..."`` values."""
    value = quote(token, safe="")

    def add(uri: str) -> str:
        return f"{uri}{'&' if '?' in uri else '?'}{TOKEN_PARAM}={value}"

    text = _URI_LINE.sub(lambda match: add(match[0]), text)
    return _URI_ATTRIBUTE.sub(lambda match: f'URI="{add(match[1])}"', text)


# --- checking and timing --------------------------------------------------------------------------------

def uris_of(text: str) -> list[str]:
    playlist = m3u8.loads(text)
    init = [playlist.segments[0].init_section] if playlist.segments else []
    return [item.uri for item in [*playlist.segments, *init, *playlist.playlists, *playlist.media] if item.uri]


def check_same_work(outputs: dict[str, str], token: str) -> int:
    """The number of URIs every contender gave the token to; raises BenchError if they differ."""
    expected: list[str] | None = None
    for key, text in outputs.items():
        uris = uris_of(text)
        wrong = [uri for uri in uris if parse_qs(urlsplit(uri).query).get(TOKEN_PARAM) != [token]]
        if wrong or not uris:
            raise BenchError(f"{key}: {len(wrong)} of {len(uris)} URIs lack the token exactly once: {wrong[:3]}")
        if expected is None:
            expected = uris
        elif uris != expected:
            raise BenchError(f"{key} names other URIs than {next(iter(outputs))}: {uris[:3]} vs {expected[:3]}")
    return len(expected or [])


def best_time(call: Callable[[], object], repeat: int) -> Timing:
    """The best time of one call: ``number`` calls per run, chosen so that a run lasts about RUN_SECONDS."""
    timer = timeit.Timer(call)
    number, elapsed = 1, timer.timeit(1)
    while elapsed < RUN_SECONDS / 10:
        number *= 10
        elapsed = timer.timeit(number)
    number = max(1, round(number * RUN_SECONDS / elapsed))
    return Timing(min(timer.repeat(repeat=repeat, number=number)) / number, number)


def shown(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def bench_playlist(label: str, text: str, token: str, repeat: int) -> None:
    template = compile_playlist(text)
    contenders: dict[str, Callable[[], object]] = {
        RENDER: lambda: template.render(token),
        COMPILE_RENDER: lambda: compile_playlist(text).render(token),
        M3U8_ROUNDTRIP: lambda: m3u8_roundtrip(text, token),
        REGEX: lambda: regex_rewrite(text, token),
    }
    outputs = {key: call() for key, call in contenders.items()}
    count = check_same_work({key: out.decode("utf-8") if isinstance(out, bytes) else str(out)
                             for key, out in outputs.items()}, token)
    print(f"{label}: {len(text.encode()):,} bytes, {count} URIs, each contender's output checked", flush=True)
    timings = {key: best_time(call, repeat) for key, call in contenders.items()}
    for key, timing in timings.items():
        print(f"  {label:<6} {key:<15} {shown(timing.seconds)}   (best of {repeat} x {timing.number})", flush=True)
    for ours in (RENDER, COMPILE_RENDER):
        for baseline in BASELINES:
            ratio = timings[ours].seconds / timings[baseline].seconds
            verdict = f"{1 / ratio:,.1f}x faster" if ratio < 1 else f"{ratio:,.1f}x slower"
            print(f"ratio {label} {ours}/{baseline}: {ratio:.4f}   ({verdict})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--segments", type=int, default=DEFAULT_SEGMENTS,
                   help=f"segments in the media playlist (default {DEFAULT_SEGMENTS}: 2 h at 4 s)")
    p.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                   help=f"timed runs per contender, the best counts (default {DEFAULT_REPEAT})")
    args = p.parse_args(argv)
    if not 1 <= args.segments <= MAX_SEGMENTS:
        p.error(f"--segments must be between 1 and {MAX_SEGMENTS}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    token = jwt_shaped_token()
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
          f"m3u8 {version('m3u8')}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"token: {len(token)} characters, JWT-shaped", flush=True)
    try:
        bench_playlist("media", media_playlist(args.segments), token, args.repeat)
        bench_playlist("master", master_playlist(), token, args.repeat)
    except BenchError as err:
        print(f"rewrite_micro: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nrewrite_micro: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
