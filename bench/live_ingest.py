"""Benchmark: live ingest on loopback, hlsgate's ``/ingest`` against nginx's WebDAV ``PUT`` doing the same writes.

Publishers replay pre-encoded segments of a 3-rendition ladder (2 s each, CBR at the default ladder's bitrates)
at real-time pace, as ffmpeg's HLS muxer does with ``-method PUT -http_persistent 1``: for each rendition, PUT the
segment (chunked, no length), PUT the media playlist that lists it (a sliding window), DELETE the segment that
left the window, all on one persistent connection per publisher. Their phases are spread over a segment.

**Ingest to listed**: from the moment the last byte of a segment is handed to the socket to the answer of the
first viewer playlist request that lists it. For every segment of each publisher's first rendition a viewer
starts polling that rendition's playlist (every ``--poll-ms``, with a play token on hlsgate) when the last byte
goes out. **Capacity**: publishers are stepped up (``--publishers 10,25,50,...``) and the largest count whose
median stays under ``--target-ms`` is reported for each side.

Both sides run in the same run, one after the other at each step, with the same publishers: hlsgate (publish
tokens checked on every write, media validated, atomic writes, live state) and nginx (``dav_methods PUT DELETE``,
``create_full_put_path``: temporary file and rename, no check at all). The server is pinned to one CPU and this
load generator to the other; the CPU each used over the step is printed, and the side near 1.0 of a core is the
one that was CPU-bound (a publisher falling behind its schedule is counted as ``late``).

    .venv/bin/python bench/live_ingest.py                          # steps 10,25,50,75,100, 20 s each
    .venv/bin/python bench/live_ingest.py --publishers 50 --seconds 60
    .venv/bin/python bench/live_ingest.py --quick                  # smoke: 2 publishers, 5 s

The exit status is non-zero when a tool is missing, a server does not start, or a write fails (non-2xx).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import jwt

# bench/: run as a script, bench/ is on sys.path
from origin_throughput import (
    HOST,
    BenchError,
    Server,
    find_tool,
    free_ports,
    hlsgate_env,
    pinning,
    say,
    start,
    tree_cpu_seconds,
    wait_ready,
)
from processes import interrupt_on_sigterm, stop

SEGMENT_SECONDS = 2.0
WINDOW = 6  # segments a media playlist lists (ffmpeg's -hls_list_size)
PREPARED_SEGMENTS = 5  # distinct segments per rendition, replayed in a loop
# (name, video bits/s, width x height): the default ladder's bitrates; the picture is small, CBR pads it to size.
RENDITIONS = (("1080p", 5_000_000), ("720p", 2_800_000), ("480p", 1_400_000))
AUDIO_BITRATE = 128_000
CHUNK_BYTES = 64 * 1024  # what one write of ffmpeg's HTTP protocol hands over, about
DEFAULT_STEPS = (10, 25, 50, 75, 100)
DEFAULT_SECONDS = 20.0
DEFAULT_POLL_MS = 2.0
DEFAULT_TARGET_MS = 50.0
POLL_GIVE_UP_SECONDS = 5.0
TOKEN_TTL_SECONDS = 3600
SECRET_BYTES = 48
FFMPEG_TIMEOUT_SECONDS = 300.0

NGINX_CONF = """\
# Written by bench/live_ingest.py: nginx's WebDAV PUT/DELETE into the folder it serves, one worker.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {prefix}/body;
    client_max_body_size 64m;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen {host}:{port} reuseport;
        location = /healthz {{ return 200 "ok"; }}
        location /ingest/ {{
            alias {www}/;
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
        location /hls/ {{ alias {www}/; }}
    }}
}}
"""


@dataclass
class Side:
    name: str
    port: int
    server: Server
    publish_token: dict[str, str] = field(default_factory=dict)  # stream -> token (hlsgate only)
    play_token: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    writes: int = 0
    late: int = 0  # segments a publisher started after their slot: the load generator fell behind
    lost: int = 0  # segments no poll saw listed within POLL_GIVE_UP_SECONDS
    server_cpu: float | None = None
    client_cpu: float = 0.0
    seconds: float = 0.0

    def median(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    def p99(self) -> float | None:
        if len(self.latencies_ms) < 2:
            return self.median()
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[98]


# --- media --------------------------------------------------------------------------------------

def prepare_segments(ffmpeg: str, work: Path) -> list[list[bytes]]:
    """PREPARED_SEGMENTS MPEG-TS segments per rendition, 2 s each, at the rendition's bitrate (CBR fills them)."""
    out = work / "prepared"
    out.mkdir()
    seconds = PREPARED_SEGMENTS * SEGMENT_SECONDS
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=30:duration={seconds:g}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds:g}"]
    for name, bits in RENDITIONS:
        (out / name).mkdir()
        argv += ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                 "-x264-params", "nal-hrd=cbr:force-cfr=1", "-b:v", str(bits), "-minrate", str(bits),
                 "-maxrate", str(bits), "-bufsize", str(bits // 2), "-g", "60", "-keyint_min", "60",
                 "-sc_threshold", "0", "-c:a", "aac", "-b:a", str(AUDIO_BITRATE),
                 "-f", "hls", "-hls_time", f"{SEGMENT_SECONDS:g}", "-hls_playlist_type", "vod",
                 "-hls_segment_filename", str(out / name / "seg_%05d.ts"), str(out / name / "index.m3u8")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise BenchError(f"ffmpeg could not prepare the segments:\n{done.stderr.strip()[-2000:]}")
    ladder = []
    for name, _ in RENDITIONS:
        files = sorted((out / name).glob("seg_*.ts"))[:PREPARED_SEGMENTS]
        if len(files) < PREPARED_SEGMENTS:
            raise BenchError(f"ffmpeg wrote {len(files)} segments for {name}, not {PREPARED_SEGMENTS}")
        ladder.append([f.read_bytes() for f in files])
    return ladder


def media_playlist(first: int, last: int) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{round(SEGMENT_SECONDS)}",
             f"#EXT-X-MEDIA-SEQUENCE:{first}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for seq in range(first, last + 1):
        lines += [f"#EXTINF:{SEGMENT_SECONDS:.6f},", segment_name(seq)]
    return ("\n".join(lines) + "\n").encode()


def master_playlist() -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for name, bits in RENDITIONS:
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={bits + AUDIO_BITRATE},CODECS=\"avc1.42c00d,mp4a.40.2\"",
                  f"{name}/index.m3u8"]
    return ("\n".join(lines) + "\n").encode()


def segment_name(seq: int) -> str:
    return f"seg_{seq:05d}.ts"


# --- the load -----------------------------------------------------------------------------------

async def chunks(body: bytes, sent: list[float]) -> AsyncIterator[bytes]:
    """The body in ffmpeg-sized writes, no length (chunked); records when the last byte was handed over."""
    for offset in range(0, len(body), CHUNK_BYTES):
        yield body[offset:offset + CHUNK_BYTES]
    sent.append(time.perf_counter())


async def write(session: aiohttp.ClientSession, method: str, url: str, result: StepResult,
                headers: dict[str, str], data: object = None) -> None:
    async with session.request(method, url, data=data, headers=headers) as reply:
        await reply.read()
        result.writes += 1
        if reply.status >= 300 and not (method == "DELETE" and reply.status == 404):
            result.errors.append(f"{method} {url.split('?')[0]} -> {reply.status}")


async def watch(viewers: aiohttp.ClientSession, url: str, name: bytes, sent_at: float, poll: float,
                result: StepResult) -> None:
    """Poll a media playlist from ``sent_at`` until it lists ``name``; the latency of the answer that does."""
    deadline = sent_at + POLL_GIVE_UP_SECONDS
    while time.perf_counter() < deadline:
        async with viewers.get(url) as reply:
            body = await reply.read()
            if reply.status == 200 and name in body:
                result.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
                return
        await asyncio.sleep(poll)
    result.lost += 1


async def publisher(side: Side, stream: str, ladder: list[list[bytes]], phase: float, until: float, poll: float,
                    viewers: aiohttp.ClientSession, result: StepResult, watches: set[asyncio.Task[None]]) -> None:
    base = f"http://{HOST}:{side.port}"
    headers = {"Authorization": f"Bearer {side.publish_token[stream]}"} if side.publish_token else {}
    view_query = f"?token={side.play_token[stream]}" if side.play_token else ""
    connector = aiohttp.TCPConnector(limit=1)  # ffmpeg's -http_persistent 1: one connection, kept alive
    async with aiohttp.ClientSession(connector=connector) as session:
        await write(session, "PUT", f"{base}/ingest/{stream}/master.m3u8", result, headers, master_playlist())
        slot = time.perf_counter() + phase
        seq = 0
        while slot < until:
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                result.late += 1
            for r, (rendition, _) in enumerate(RENDITIONS):
                sent: list[float] = []
                body = ladder[r][seq % PREPARED_SEGMENTS]
                await write(session, "PUT", f"{base}/ingest/{stream}/{rendition}/{segment_name(seq)}", result,
                            headers, chunks(body, sent))
                if r == 0 and sent:
                    task = asyncio.create_task(watch(viewers, f"{base}/hls/{stream}/{rendition}/index.m3u8"
                                                     f"{view_query}", segment_name(seq).encode(), sent[0], poll,
                                                     result))
                    watches.add(task)
                    task.add_done_callback(watches.discard)
                playlist = media_playlist(max(0, seq - WINDOW + 1), seq)
                await write(session, "PUT", f"{base}/ingest/{stream}/{rendition}/index.m3u8", result, headers,
                            chunks(playlist, []))
                if seq >= WINDOW:
                    await write(session, "DELETE", f"{base}/ingest/{stream}/{rendition}/"
                                f"{segment_name(seq - WINDOW)}", result, headers)
            seq += 1
            slot += SEGMENT_SECONDS


async def run_step(side: Side, streams: Sequence[str], ladder: list[list[bytes]], seconds: float,
                   poll: float) -> StepResult:
    result = StepResult()
    watches: set[asyncio.Task[None]] = set()
    cpu_before = tree_cpu_seconds(side.server.proc.pid)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client_before = usage.ru_utime + usage.ru_stime
    began = time.perf_counter()
    until = began + seconds
    viewers = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        await asyncio.gather(*(publisher(side, stream, ladder, SEGMENT_SECONDS * i / len(streams), until, poll,
                                         viewers, result, watches) for i, stream in enumerate(streams)))
        if watches:
            await asyncio.gather(*watches)
    finally:
        await viewers.close()
    result.seconds = time.perf_counter() - began
    cpu_after = tree_cpu_seconds(side.server.proc.pid)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = (cpu_after - cpu_before) / result.seconds
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu = (usage.ru_utime + usage.ru_stime - client_before) / result.seconds
    return result


# --- the servers --------------------------------------------------------------------------------

def start_hlsgate(hlsgate: Sequence[str], pin: Sequence[str], media: Path, port: int, secret: str,
                  log: Path, *, fsync: bool) -> Server:
    argv = [*pin, *hlsgate, "serve", "--media-root", str(media), "--host", HOST, "--port", str(port),
            "--no-access-log"]
    env = hlsgate_env(secret)
    env["HLSGATE_INGEST_FSYNC"] = "true" if fsync else "false"
    return start("hlsgate", argv, log, env)


def start_nginx(nginx: str, pin: Sequence[str], prefix: Path, www: Path, port: int) -> Server:
    prefix.mkdir()
    (prefix / "body").mkdir()
    www.mkdir()
    # nginx started as root writes as its worker user: let it write the folder it serves.
    for path in (prefix, prefix / "body", www):
        path.chmod(0o777)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, www=www, host=HOST, port=port), encoding="utf-8")
    base = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")]
    done = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise BenchError(f"nginx rejected the generated configuration {conf}:\n{done.stderr.strip()}")
    return start("nginx", [*pin, *base, "-g", "daemon off;"], prefix / "stdout.log")


def tokens(secret: str, streams: Sequence[str], kind: str) -> dict[str, str]:
    expires = int(time.time()) + TOKEN_TTL_SECONDS
    return {s: jwt.encode({"type": kind, "streamId": s, "exp": expires, "jti": uuid.uuid4().hex}, secret,
                          algorithm="HS256") for s in streams}


# --- the report ---------------------------------------------------------------------------------

def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def describe(name: str, result: StepResult) -> str:
    server = "?" if result.server_cpu is None else f"{result.server_cpu:.2f}"
    samples = len(result.latencies_ms)
    return (f"  {name:8} median {ms(result.median()):>9}  p99 {ms(result.p99()):>9}  samples {samples:4}"
            f"  lost {result.lost}  late {result.late}  writes {result.writes / result.seconds:6.1f}/s"
            f"  cpu: server {server}, load generator {result.client_cpu:.2f} of a core")


def bound(result: StepResult) -> str:
    server = result.server_cpu or 0.0
    if max(server, result.client_cpu) < 0.85:
        return "neither side CPU-bound"
    return "the server was CPU-bound" if server >= result.client_cpu else "the load generator was CPU-bound"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    p.add_argument("--publishers", default=",".join(map(str, DEFAULT_STEPS)),
                   help="publisher counts to step through, comma-separated (default %(default)s)")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="length of each step")
    p.add_argument("--poll-ms", type=float, default=DEFAULT_POLL_MS, help="a viewer's playlist polling interval")
    p.add_argument("--target-ms", type=float, default=DEFAULT_TARGET_MS, help="the ingest-to-listed median target")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 publishers for 5 s")
    p.add_argument("--fsync", action="store_true", help="hlsgate with ingest.fsync on (nginx never fsyncs)")
    p.add_argument("--only", choices=("hlsgate", "nginx"), help="run one side alone (no ratio)")
    p.add_argument("--hlsgate", default=str(Path(sys.executable).with_name("hlsgate")), help="the hlsgate command")
    p.add_argument("--nginx", help="the nginx binary (default: found on PATH or in /usr/sbin)")
    p.add_argument("--ffmpeg", help="the ffmpeg binary")
    args = p.parse_args(argv)
    if args.quick:
        args.publishers, args.seconds = "2", 5.0
    try:
        args.steps = [int(n) for n in args.publishers.split(",")]
    except ValueError:
        p.error("--publishers takes whole numbers separated by commas")
    if any(n < 1 for n in args.steps):
        p.error("--publishers must be 1 or more")
    return args


async def measure(args: argparse.Namespace, work: Path) -> int:
    ffmpeg = find_tool("ffmpeg", args.ffmpeg)
    nginx = find_tool("nginx", args.nginx)
    client_pin, server_pin, pin_text = pinning()
    if client_pin:
        os.sched_setaffinity(0, {int(client_pin[-1])})
    ladder = prepare_segments(ffmpeg, work)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    hls_port, nginx_port = free_ports(2)
    media = work / "hlsgate-media"
    media.mkdir()
    servers = [start_hlsgate([args.hlsgate], server_pin, media, hls_port, secret, work / "hlsgate.log",
                             fsync=args.fsync),
               start_nginx(nginx, server_pin, work / "nginx", work / "nginx-www", nginx_port)]
    try:
        for server, port in zip(servers, (hls_port, nginx_port), strict=True):
            wait_ready(server, port)
        sides = [side for side in (Side("hlsgate", hls_port, servers[0]), Side("nginx", nginx_port, servers[1]))
                 if args.only in (None, side.name)]
        say(f"hlsgate: ingest.fsync {'on' if args.fsync else 'off'}; nginx: no fsync (its dav module never does)")
        say(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {pin_text}")
        say(f"load: {len(RENDITIONS)} renditions per publisher ({', '.join(n for n, _ in RENDITIONS)}), "
            f"{SEGMENT_SECONDS:g} s segments of {sum(len(s[0]) for s in ladder) / 1e6:.2f} MB together, "
            f"a window of {WINDOW}; a viewer polls every {args.poll_ms:g} ms; {args.seconds:g} s per step")
        say("ingest to listed: last byte of a segment sent -> a viewer's playlist answer listing it")
        capacity: dict[str, int] = {}
        failed = False
        for count in args.steps:
            say(f"{count} publishers:")
            medians: dict[str, float | None] = {}
            for side in sides:
                streams = [f"s{count}p{i:03d}" for i in range(count)]
                if side.name == "hlsgate":
                    side.publish_token = tokens(secret, streams, "publish")
                    side.play_token = tokens(secret, streams, "play")
                result = await run_step(side, streams, ladder, args.seconds, args.poll_ms / 1000)
                say(describe(side.name, result) + f"; {bound(result)}")
                if result.errors:
                    failed = True
                    say(f"    {len(result.errors)} failed writes, first: {result.errors[0]}")
                medians[side.name] = result.median()
                median = result.median()
                if median is not None and median < args.target_ms and not result.errors and not result.lost:
                    capacity[side.name] = max(capacity.get(side.name, 0), count)
            if medians.get("hlsgate") and medians.get("nginx"):
                say(f"  ratio median hlsgate/nginx {medians['hlsgate'] / medians['nginx']:.2f}")  # type: ignore[operator]
        for side in sides:
            found = capacity.get(side.name)
            say(f"capacity {side.name}: " + (f"{found} publishers with the median under {args.target_ms:g} ms"
                                              if found else f"no step kept the median under {args.target_ms:g} ms"))
        return 1 if failed else 0
    finally:
        for server in servers:
            stop(server.proc)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    try:
        with tempfile.TemporaryDirectory(prefix="hlsgate-live-bench-") as tmp:
            work = Path(tmp)
            work.chmod(0o755)
            return asyncio.run(measure(args, work))
    except BenchError as err:
        print(f"live_ingest: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
