"""Benchmark: the origin's share of live latency, for the live ladder on this machine.

One live encoder (``hlsgate publish lavfi:``: the ladder in one ffmpeg, 2 s segments, ``EXT-X-PROGRAM-DATE-TIME``)
runs twice, one run after the other with the same ladder, size and preset:

* ``disk``: ``hlsgate publish --media-root DIR``, the same ffmpeg writing its files straight into a folder, which
  this script polls: the baseline, what the encoder alone costs;
* ``hlsgate``: ``hlsgate publish --server URL``, the same ffmpeg pushing over HTTP PUT into the origin's ingest
  with a publish token, and a viewer polling the origin's playlist with a play token.

For every segment a poll sees listed for the first time, the latency is the wall clock at that moment minus the
segment's ``PROGRAM-DATE-TIME`` plus its duration (when its last frame was due): what the encoder's buffering, the
upload and the origin add before a player can know of it. The origin's share is the difference of the medians.
The encoder is pinned to one CPU, the origin and this poller to the other; the CPU each used is printed.

    .venv/bin/python bench/live_latency.py                       # 40 s per side
    .venv/bin/python bench/live_latency.py --ladder 720p,480p,360p --size 1280x720
    .venv/bin/python bench/live_latency.py --quick               # smoke: 12 s per side, a tiny ladder

The exit status is non-zero when a tool is missing, a side does not start, or no segment was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import jwt

# bench/: run as a script, bench/ is on sys.path
from origin_throughput import (
    HOST,
    BenchError,
    Server,
    free_ports,
    hlsgate_env,
    log_tail,
    pinning,
    say,
    start,
    tree_cpu_seconds,
    wait_ready,
)
from processes import interrupt_on_sigterm, stop

STREAM = "latency"
DEFAULT_SECONDS = 40.0
DEFAULT_LADDER = "480p,360p,240p"
DEFAULT_SIZE = "854x480"
DEFAULT_PRESET = "veryfast"
WARMUP_SECONDS = 6.0  # the first segments carry the encoder's start-up
POLL_SECONDS = 0.005
TARGET_SECONDS = 1.0
SECRET_BYTES = 48
TOKEN_TTL_SECONDS = 3600
_PDT = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)$")
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)")


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    encoder_cpu: float | None = None
    server_cpu: float | None = None
    seconds: float = 0.0

    def median(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    def p99(self) -> float | None:
        if len(self.latencies) < 2:
            return self.median()
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


def due_times(playlist: str) -> dict[str, float]:
    """segment URI -> when its last frame was due (PROGRAM-DATE-TIME + EXTINF), unix seconds."""
    due: dict[str, float] = {}
    pdt: float | None = None
    duration: float | None = None
    for line in playlist.splitlines():
        line = line.strip()
        if m := _PDT.match(line):
            pdt = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        elif m := _EXTINF.match(line):
            duration = float(m.group(1))
        elif line and not line.startswith("#"):
            if pdt is not None and duration is not None:
                due[line.split("?", 1)[0]] = pdt + duration
            pdt, duration = None, None
    return due


async def poll(read: Callable[[], Any], seconds: float) -> list[float]:
    """Poll a playlist until ``seconds`` have passed; the latency of every segment first seen after warm-up."""
    seen: set[str] = set()
    latencies: list[float] = []
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        text = await read()
        now = time.time()
        if text:
            for uri, due in due_times(text).items():
                if uri in seen:
                    continue
                seen.add(uri)
                if time.monotonic() - began > WARMUP_SECONDS:
                    latencies.append(now - due)
        await asyncio.sleep(POLL_SECONDS)
    return latencies


def publish_argv(args: argparse.Namespace, pin: Sequence[str], where: Sequence[str]) -> list[str]:
    return [*pin, args.hlsgate, "publish", "lavfi:", "--stream", STREAM, *where, "--size", args.size,
            "--ladder", args.ladder, "--preset", args.preset, "--quiet"]


def first_rendition(args: argparse.Namespace) -> str:
    ladder: str = args.ladder
    return ladder.split(",")[0]


async def run_disk(args: argparse.Namespace, work: Path, encoder_pin: Sequence[str]) -> Sample:
    root = work / "disk"
    root.mkdir()
    publisher = start("publish-disk", publish_argv(args, encoder_pin, ["--media-root", str(root)]),
                      work / "publish-disk.log", hlsgate_env("unused-" + "x" * 40))
    playlist = root / STREAM / first_rendition(args) / "index.m3u8"

    async def read() -> str | None:
        try:
            return playlist.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return await measure(args, publisher, None, read)


async def run_origin(args: argparse.Namespace, work: Path, encoder_pin: Sequence[str],
                     server_pin: Sequence[str]) -> Sample:
    media = work / "origin-media"
    media.mkdir()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    (port,) = free_ports(1)
    server = start("hlsgate", [*server_pin, args.hlsgate, "serve", "--media-root", str(media), "--host", HOST,
                               "--port", str(port), "--no-access-log"], work / "hlsgate.log", hlsgate_env(secret))
    try:
        wait_ready(server, port)
        publisher = start("publish-origin",
                          publish_argv(args, encoder_pin, ["--server", f"http://{HOST}:{port}"]),
                          work / "publish-origin.log", hlsgate_env(secret))
        token = jwt.encode({"type": "play", "streamId": STREAM, "exp": int(time.time()) + TOKEN_TTL_SECONDS},
                           secret, algorithm="HS256")
        url = f"http://{HOST}:{port}/hls/{STREAM}/{first_rendition(args)}/index.m3u8?token={token}"
        async with aiohttp.ClientSession() as session:

            async def read() -> str | None:
                async with session.get(url) as reply:
                    return await reply.text() if reply.status == 200 else None

            return await measure(args, publisher, server, read)
    finally:
        stop(server.proc)


async def measure(args: argparse.Namespace, publisher: Server, server: Server | None,
                  read: Callable[[], Any]) -> Sample:
    sample = Sample()
    try:
        encoder_before = tree_cpu_seconds(publisher.proc.pid)
        server_before = tree_cpu_seconds(server.proc.pid) if server else None
        began = time.monotonic()
        sample.latencies = await poll(read, args.seconds)
        sample.seconds = time.monotonic() - began
        encoder_after = tree_cpu_seconds(publisher.proc.pid)
        if encoder_before is not None and encoder_after is not None:
            sample.encoder_cpu = (encoder_after - encoder_before) / sample.seconds
        if server is not None and server_before is not None:
            server_after = tree_cpu_seconds(server.proc.pid)
            if server_after is not None:
                sample.server_cpu = (server_after - server_before) / sample.seconds
        if publisher.proc.poll() is not None:
            raise BenchError(f"{publisher.name} exited with status {publisher.proc.returncode}:\n"
                             f"{log_tail(publisher.log)}")
    finally:
        stop(publisher.proc)
    if not sample.latencies:
        raise BenchError(f"{publisher.name}: no segment was seen listed in {args.seconds:g} s:\n"
                         f"{log_tail(publisher.log)}")
    return sample


def seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def describe(name: str, sample: Sample) -> str:
    cpu = f"encoder {sample.encoder_cpu:.2f}" if sample.encoder_cpu is not None else "encoder ?"
    if sample.server_cpu is not None:
        cpu += f", origin {sample.server_cpu:.2f}"
    return (f"  {name:8} median {seconds_text(sample.median()):>8}  p99 {seconds_text(sample.p99()):>8}  "
            f"segments {len(sample.latencies):3}  cpu: {cpu} of a core")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="polling time per side")
    p.add_argument("--ladder", default=DEFAULT_LADDER, help="the rungs (default %(default)s)")
    p.add_argument("--size", default=DEFAULT_SIZE, help="the test source's size (default %(default)s)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="x264 preset (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="smoke run: 12 s per side, 240p only, ultrafast")
    p.add_argument("--hlsgate", default=str(Path(sys.executable).with_name("hlsgate")), help="the hlsgate command")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.ladder, args.size, args.preset = 12.0, "240p", "426x240", "ultrafast"
    if args.seconds <= WARMUP_SECONDS:
        p.error(f"--seconds must be more than the {WARMUP_SECONDS:g} s warm-up")
    return args


async def run(args: argparse.Namespace, work: Path) -> int:
    encoder_pin, server_pin, _ = pinning()
    if server_pin:
        os.sched_setaffinity(0, {int(server_pin[-1])})
    pin_text = (f"the encoder on CPU {encoder_pin[-1]}, the origin and the poller on CPU {server_pin[-1]}"
                if encoder_pin else "not pinned (fewer than 2 CPUs or no taskset)")
    say(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {pin_text}")
    say(f"encoder: hlsgate publish lavfi: --size {args.size} --ladder {args.ladder} --preset {args.preset} "
        f"(2 s segments); {args.seconds:g} s per side, the first {WARMUP_SECONDS:g} s not counted; "
        f"polled every {POLL_SECONDS * 1000:g} ms")
    say("latency: wall clock when a poll first lists a segment - (its PROGRAM-DATE-TIME + its duration)")
    disk = await run_disk(args, work, encoder_pin)
    say(describe("disk", disk))
    origin = await run_origin(args, work, encoder_pin, server_pin)
    say(describe("hlsgate", origin))
    base, ours = disk.median(), origin.median()
    assert base is not None and ours is not None
    say(f"ratio median hlsgate/disk {ours / base:.2f}; the origin's share (difference of medians) "
        f"{(ours - base) * 1000:.0f} ms")
    verdict = "PASS" if ours < TARGET_SECONDS else "MISS"
    say(f"target: hlsgate median under {TARGET_SECONDS:g} s: {verdict}")
    bound = max(("encoder", disk.encoder_cpu or 0), ("origin", origin.server_cpu or 0), key=lambda kv: kv[1])
    say(f"cpu-bound: {bound[0] if bound[1] >= 0.85 else 'neither side'} "
        f"(encoder {disk.encoder_cpu or 0:.2f}/{origin.encoder_cpu or 0:.2f}, origin {origin.server_cpu or 0:.2f})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    try:
        with tempfile.TemporaryDirectory(prefix="hlsgate-latency-bench-") as tmp:
            return asyncio.run(run(args, Path(tmp)))
    except BenchError as err:
        print(f"live_latency: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
