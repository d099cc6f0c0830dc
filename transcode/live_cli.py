"""``hlsgate publish``: a live source, transcoded into the ladder, pushed to the origin's ingest or a media root."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qs

from hls_server.core.names import is_id

from .command import DEFAULT_CODEC, DEFAULT_PRESET, VIDEO_CODECS, EncodeOptions
from .errors import FFmpegFailed, TranscodeError
from .ladder import DEFAULT_LADDER, RUNG_TABLE, Rung, load_ladder, plan_renditions
from .live import (
    DEFAULT_LIST_SIZE,
    DEFAULT_LIVE_SEGMENT_SECONDS,
    IngestOutput,
    LiveOptions,
    LiveOutput,
    LiveSource,
    LocalOutput,
    parse_size,
    parse_source,
    redact,
)
from .live_run import LivePublisher, LiveStatus, ReconnectPolicy, describe_status, probe_live
from .toolchain import locate_toolchain, with_version

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
STATUS_LOG_INTERVAL_SECONDS = 10.0
TOKEN_ENV = "HLSGATE_PUBLISH_TOKEN"  # noqa: S105 (the name of a variable, not a secret)

MintPublishToken = Callable[[argparse.Namespace, Mapping[str, str], str], str]
"""(arguments, environment, stream) -> a publish token for the stream, signed with the configured secret; raises
TranscodeError with the reason when none can be minted. The origin's CLI provides it (the transcoder signs
nothing itself)."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], mint: MintPublishToken) -> None:
    p = subparsers.add_parser(
        "publish", help="transcode a live source into the ladder and push it to the origin (or a media root)",
        description="Read SRC live (a file at its own pace, lavfi:GRAPH or lavfi: for a test source, or any ffmpeg "
                    "input: rtmp://, srt://, a device with --input-format), encode the ladder in one ffmpeg, and "
                    "PUT it to SERVER/ingest/STREAM/ with a publish token, or write it into MEDIA_ROOT/STREAM. "
                    "Ctrl-C or SIGTERM ends the stream cleanly (final playlists with EXT-X-ENDLIST).")
    p.add_argument("source", metavar="SRC", help="file, lavfi:[GRAPH], or an ffmpeg input URL")
    p.add_argument("--stream", required=True, metavar="ID", help="stream id (the URL part and folder name)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", metavar="URL", help="origin base URL, e.g. http://127.0.0.1:8080")
    where.add_argument("--media-root", metavar="DIR", help="write into DIR/STREAM beside a server instead")
    p.add_argument("--token", metavar="JWT",
                   help=f"publish token (else --rtmp-args' token, else {TOKEN_ENV}, else one minted from the "
                        "configured secret: HLSGATE_JWT_SECRET or --config)")
    p.add_argument("--no-token", action="store_true", help="send no token (an origin with publish auth off)")
    p.add_argument("--rtmp-args", metavar="QUERY", default=None,
                   help="the RTMP client's query string as nginx-rtmp's $args gives it (token=JWT&...): "
                        "its token is the publish token; use the --rtmp-args=$args form")
    p.add_argument("--config", metavar="FILE.toml", help="settings file to mint a token from (HLSGATE_CONFIG)")
    p.add_argument("--loop", action="store_true", help="loop a file source forever")
    p.add_argument("--input-format", metavar="FMT", help="ffmpeg input format (-f) for a device: v4l2, alsa, ...")
    p.add_argument("--size", metavar="WxH", help="size of the lavfi: test source (default 1280x720)")
    p.add_argument("--ladder", metavar="RUNGS|FILE.toml",
                   help=f"rungs from {', '.join(RUNG_TABLE)} (default {','.join(DEFAULT_LADDER)}; never upscaled), "
                        "or a TOML ladder file")
    p.add_argument("--segment-seconds", type=float, default=DEFAULT_LIVE_SEGMENT_SECONDS, metavar="S",
                   help=f"segment duration (default {DEFAULT_LIVE_SEGMENT_SECONDS:g})")
    window = p.add_mutually_exclusive_group()
    window.add_argument("--list-size", type=int, default=DEFAULT_LIST_SIZE, metavar="N",
                        help=f"segments in each live playlist (default {DEFAULT_LIST_SIZE})")
    window.add_argument("--dvr", type=float, metavar="SECONDS", help="keep this many seconds in the playlists")
    p.add_argument("--format", choices=("ts", "fmp4"), default="ts", help="segment container (default ts)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"encoder preset (default {DEFAULT_PRESET})")
    p.add_argument("--codec", choices=tuple(VIDEO_CODECS), default=DEFAULT_CODEC, help="video codec")
    p.add_argument("--reconnect-for", type=float, default=ReconnectPolicy.window, metavar="SECONDS",
                   help=f"give up after this long without reaching the server (default {ReconnectPolicy.window:g})")
    p.add_argument("--ffmpeg", metavar="PATH", help="ffmpeg binary (else HLSGATE_FFMPEG, PATH, bundled)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(handler=lambda args, env: run_publish(args, env, mint))


def token_from_rtmp_args(query: str) -> str | None:
    """``token=JWT&other=x`` (nginx-rtmp's ``$args``) -> ``JWT``; None when the query holds no token."""
    values = parse_qs(query.lstrip("?"), keep_blank_values=False).get("token")
    return values[0] if values else None


def resolve_output(args: argparse.Namespace, env: Mapping[str, str], mint: MintPublishToken) -> LiveOutput:
    if not is_id(args.stream):
        raise TranscodeError(f"stream id {args.stream!r} is not valid: use 1-64 of A-Z a-z 0-9 _ -")
    if args.media_root is not None:
        return LocalOutput(Path(args.media_root) / args.stream)
    token: str | None
    if args.no_token:
        token = None
    else:
        token = (args.token
                 or (token_from_rtmp_args(args.rtmp_args) if args.rtmp_args else None)
                 or env.get(TOKEN_ENV)
                 or mint(args, env, args.stream))  # minted once per run: every restart keeps its jti
    return IngestOutput(args.server, args.stream, token)


def run_publish(args: argparse.Namespace, env: Mapping[str, str], mint: MintPublishToken) -> int:
    secrets: list[str] = [s for s in (args.token, env.get(TOKEN_ENV)) if s]
    try:
        options = LiveOptions(EncodeOptions(segment_seconds=args.segment_seconds, segment_format=args.format,
                                            preset=args.preset, codec=args.codec),
                              list_size=args.list_size, dvr_seconds=args.dvr)
        size = parse_size(args.size) if args.size else None
        source = parse_source(args.source, loop=args.loop, input_format=args.input_format, size=size)
        rungs = load_ladder(args.ladder)
        output = resolve_output(args, env, mint)
        if isinstance(output, IngestOutput) and output.token:
            secrets.append(output.token)
        return asyncio.run(_publish(args, env, source, rungs, options, output))
    except FFmpegFailed as err:
        print(f"hlsgate publish: error: {redact(str(err), secrets)}", file=sys.stderr)
        if err.stderr_tail:
            print("ffmpeg's last words:", file=sys.stderr)
            for line in err.stderr_tail.splitlines():
                print(f"  | {redact(line, secrets)}", file=sys.stderr)
        return EXIT_FAILURE
    except TranscodeError as err:
        print(f"hlsgate publish: error: {redact(str(err), secrets)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # before the publish began (probing, the first check): nothing was published
        print("\nhlsgate publish: interrupted before the stream started", file=sys.stderr)
        return EXIT_INTERRUPTED


async def _publish(args: argparse.Namespace, env: Mapping[str, str], source: LiveSource, ladder: tuple[Rung, ...],
                   options: LiveOptions, output: LiveOutput) -> int:
    toolchain = await with_version(locate_toolchain(args.ffmpeg or env.get("HLSGATE_FFMPEG") or None))
    info = await probe_live(source, toolchain)
    renditions = plan_renditions(info, ladder)
    status = None if args.quiet else StatusLine(sys.stderr, output.stream)
    publisher = LivePublisher(toolchain, source, info, renditions, options, output,
                              on_status=status, on_notice=None if status is None else status.notice,
                              policy=ReconnectPolicy(window=args.reconnect_for))
    if not args.quiet:
        where = output.base if isinstance(output, IngestOutput) else str(output.directory)
        names = ", ".join(f"{r.name} {r.width}x{r.height}" if r.has_video else r.name for r in renditions)
        print(f"hlsgate publish: {output.stream} -> {where}/master.m3u8 ({names}); Ctrl-C ends the stream",
              file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        restarts = await publisher.run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if status is not None:
            status.close()
    if not args.quiet:
        how = "stopped" if stop.is_set() else "the source ended"
        print(f"hlsgate publish: {output.stream} ended ({how}; {restarts} restart(s)); "
              "the playlists end with EXT-X-ENDLIST", file=sys.stderr, flush=True)
    return 0


class StatusLine:
    """The running status on stderr: rewritten in place on a terminal, one line every 10 s otherwise."""

    def __init__(self, stream: TextIO, label: str, prefix: str = "hlsgate publish") -> None:
        self.stream = stream
        self.label = label
        self.prefix = prefix
        self.tty = stream.isatty()
        self._last = time.monotonic()  # the first line after 10 s: at 0 s there is nothing to tell yet
        self._drawn = False

    def __call__(self, status: LiveStatus) -> None:
        text = describe_status(self.label, status)
        if self.tty:
            self.stream.write(f"\r\x1b[2K{text}")
            self.stream.flush()
            self._drawn = True
            return
        now = time.monotonic()
        if now - self._last >= STATUS_LOG_INTERVAL_SECONDS:
            self._last = now
            print(text, file=self.stream, flush=True)

    def notice(self, text: str) -> None:
        self._end_line()
        print(f"{self.prefix}: {text}", file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False

    def close(self) -> None:
        self._end_line()
