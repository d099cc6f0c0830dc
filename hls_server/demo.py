"""``hlsgate demo``: transcode a generated clip, serve it on loopback with a fresh secret, print a playable URL."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transcode import cli as transcode_cli
from transcode.command import DEFAULT_SEGMENT_SECONDS, EncodeOptions
from transcode.errors import TranscodeError
from transcode.ladder import Rendition, Rung, load_ladder, plan_renditions
from transcode.live import (
    DEFAULT_LIVE_SEGMENT_SECONDS,
    DEFAULT_LIVE_SIZE,
    IngestOutput,
    LiveOptions,
    parse_size,
    parse_source,
)
from transcode.live_cli import StatusLine
from transcode.live_run import LivePublisher, LiveStatus, probe_live
from transcode.toolchain import locate_toolchain, with_version

from .core.auth.minting import Minter
from .core.errors import ConfigError
from .core.grants import Role
from .core.groups import GroupStore
from .core.names import MASTER_PLAYLIST
from .core.settings import Settings, load_settings
from .web.routes.player import HLS_JS_DIST

DEMO_PORT = 8080
DEMO_TOKEN_TTL = 24 * 3600
DEMO_GROUP = "demo-group"
LIVE_ROOM = "studio"
LIVE_STREAM = f"{LIVE_ROOM}-cam1"  # a participant of the room: {room}-{participant}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = subparsers.add_parser(
        "demo", help="generate a test clip, transcode it, serve it and print a tokenised URL",
        description=f"Generate a clip with ffmpeg's lavfi (or use --source), transcode it into "
                    f"{transcode_cli.DEMO_DIR}/{transcode_cli.DEMO_STREAM}, put it in the group {DEMO_GROUP!r}, "
                    "then serve it on loopback with a freshly generated secret and print the web player's URL "
                    "(with a group token) and a URL any HLS player can open (with a stream token). "
                    "Ctrl-C stops it.")
    transcode_cli.add_demo_arguments(d)
    d.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    d.add_argument("--port", type=int, default=DEMO_PORT, help=f"port (default {DEMO_PORT}; 0 picks a free one)")
    d.add_argument("--no-serve", action="store_true", help="transcode only")
    d.add_argument("--live", action="store_true",
                   help=f"instead: publish a live lavfi test source through the ladder into the origin's ingest as "
                        f"stream {LIVE_STREAM!r} of the room {LIVE_ROOM!r} (2 s segments unless --segment-seconds), "
                        "until Ctrl-C")
    d.add_argument("--size", metavar="WxH", help="with --live: the test source's size (default 1280x720)")
    # None: 4 s for the VOD demo, 2 s with --live (the help above says 4: the VOD default).
    d.set_defaults(handler=run_demo, segment_seconds=None)


def run_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.live:
        return run_live_demo(args, env)
    if args.segment_seconds is None:
        args.segment_seconds = DEFAULT_SEGMENT_SECONDS
    code = transcode_cli.transcode_demo(args, env)
    if code or args.no_serve:
        return code
    from .web.serve import configure_logging, serve

    # Fresh secrets for this run only: shown once on the terminal below, never stored or logged.
    viewer_secret, admin_secret = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    try:
        settings = load_settings({"media_root": args.media_root, "host": args.host, "port": args.port,
                                  "auth.secret": viewer_secret, "admin.secret": admin_secret}, env={})
    except ConfigError as err:
        print(f"hlsgate demo: error: {err}", file=sys.stderr)
        return 2
    configure_logging(settings, args.verbose)
    stream = transcode_cli.DEMO_STREAM

    def announce(base: str) -> None:
        _print_urls(settings, base, stream, viewer_secret)

    async def group_then_serve() -> None:
        groups = GroupStore(settings.state_dir)
        groups.load()
        await groups.put(DEMO_GROUP, {stream})
        await serve(settings, announce)

    try:
        asyncio.run(group_then_serve())
    except OSError as err:
        print(f"hlsgate demo: error: cannot listen on {args.host}:{args.port}: {err.strerror or err} "
              "(try --port 0)", file=sys.stderr)
        return 1
    return 0


def _print_urls(settings: Settings, base: str, stream: str, viewer_secret: str) -> None:
    minter = Minter.from_settings(settings)
    token = minter.viewer(Role.PLAY, stream=stream, ttl=DEMO_TOKEN_TTL).token
    group_token = minter.viewer(Role.PLAY, group=DEMO_GROUP, ttl=DEMO_TOKEN_TTL).token
    admin = minter.admin().token
    url = f"{base}/hls/{stream}/master.m3u8?token={token}"
    out = sys.stdout
    print(f"\nserving {Path(settings.media_root).absolute()} on {base}  (Ctrl-C stops)\n", file=out)
    player = settings.player.dir
    if player is not None and (player / HLS_JS_DIST / "hls.min.js").is_file():
        print(f"Player (group token for {DEMO_GROUP!r}, valid 24 h; open it in a browser):\n"
              f"  {base}/player/?group={DEMO_GROUP}&token={group_token}\n", file=out)
    else:
        print("The web player is not built: run `make player` in the checkout (make demo does).\n",
              file=out)
    print(f"VoD URL (play token for {stream!r}, valid 24 h; open it in any HLS player):\n  {url}\n", file=out)
    print(f"  ffplay '{url}'\n", file=out)
    print("Without the token the origin answers 401:", file=out)
    print(f"  curl -i {base}/hls/{stream}/master.m3u8\n", file=out)
    print(f"Viewer secret for this run (shown once, not stored): {viewer_secret}", file=out)
    print(f"Admin token for the REST API (5 min):  curl -H 'Authorization: Bearer {admin}' {base}/api/v1/streams",
          file=out, flush=True)


def run_live_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``hlsgate demo --live``: the origin on loopback with fresh secrets, and a live lavfi source published into
    its ingest through the ladder with a publish token; prints the player URL with a play token. Ctrl-C ends the
    stream (EXT-X-ENDLIST through the ingest), then the server."""
    from .web.serve import configure_logging

    viewer_secret, admin_secret = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    try:
        Path(args.media_root).mkdir(parents=True, exist_ok=True)
        settings = load_settings({"media_root": args.media_root, "host": args.host, "port": args.port,
                                  "auth.secret": viewer_secret, "admin.secret": admin_secret}, env={})
        size = parse_size(args.size) if args.size else DEFAULT_LIVE_SIZE
        options = LiveOptions(EncodeOptions(segment_seconds=args.segment_seconds or DEFAULT_LIVE_SEGMENT_SECONDS,
                                            segment_format=args.format, preset=args.preset, codec=args.codec))
        rungs = load_ladder(args.ladder)
    except (ConfigError, TranscodeError) as err:
        print(f"hlsgate demo: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"hlsgate demo: error: cannot create {args.media_root}: {err.strerror or err}", file=sys.stderr)
        return 1
    configure_logging(settings, args.verbose)
    try:
        asyncio.run(_live_demo(args, env, settings, size, options, rungs, viewer_secret))
    except TranscodeError as err:
        print(f"hlsgate demo: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"hlsgate demo: error: cannot listen on {args.host}:{args.port}: {err.strerror or err} "
              "(try --port 0)", file=sys.stderr)
        return 1
    return 0


async def _live_demo(args: argparse.Namespace, env: Mapping[str, str], settings: Settings, size: tuple[int, int],
                     options: LiveOptions, rungs: tuple[Rung, ...], viewer_secret: str) -> None:
    from .web.serve import serve

    toolchain = await with_version(locate_toolchain(args.ffmpeg or env.get("HLSGATE_FFMPEG") or None))
    source = parse_source("lavfi:", size=size)
    info = await probe_live(source, toolchain)
    renditions = plan_renditions(info, rungs)
    stream = LIVE_STREAM
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[str] = loop.create_future()

    def announce(base: str) -> None:
        if not ready.done():
            ready.set_result(base)

    rooms = GroupStore(settings.state_dir)
    rooms.load()
    await rooms.put(LIVE_ROOM, (), room=True)  # a room lists its live participants in its player config
    server = asyncio.ensure_future(serve(settings, announce))
    first: set[asyncio.Future[Any]] = {server, ready}
    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        server.result()  # serve() ended before it listened: raises why (the port is taken)
        return
    base = ready.result()
    # The signals now end the stream first (its last playlists go through the ingest), then the server.
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    minter = Minter.from_settings(settings)
    # One publish token for the whole run (a restarted ffmpeg keeps its jti, so the origin lets it back in): the
    # room's, as a conference participant holds it; it publishes {room}-{participant} and plays the whole room.
    publish_token = minter.viewer(Role.PUBLISH, room=LIVE_ROOM, ttl=settings.max_token_ttl).token
    status = StatusLine(sys.stderr, stream, prefix="hlsgate demo")
    master = Path(settings.media_root) / stream / MASTER_PLAYLIST
    playable = asyncio.Event()

    def on_status(report: LiveStatus) -> None:
        status(report)
        if not playable.is_set() and master.is_file():  # the ingest stored the master: the URL plays now
            playable.set()

    publisher = LivePublisher(toolchain, source, info, renditions, options,
                              IngestOutput(base, stream, publish_token), on_status=on_status,
                              on_notice=status.notice)
    publishing = asyncio.ensure_future(publisher.run(stop))
    waiting = asyncio.ensure_future(playable.wait())
    try:
        await asyncio.wait({publishing, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if playable.is_set():
            status.notice(f"the first segments of {stream!r} are in")
            _print_live_urls(minter, settings, base, stream, renditions, viewer_secret)
        await publishing
    finally:
        waiting.cancel()
        stop.set()
        with contextlib.suppress(BaseException):
            await publishing
        status.close()
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


def _print_live_urls(minter: Minter, settings: Settings, base: str, stream: str,
                     renditions: tuple[Rendition, ...], viewer_secret: str) -> None:
    # A play token for the room: it plays every participant's stream, and the player lists them.
    token = minter.viewer(Role.PLAY, room=LIVE_ROOM, ttl=DEMO_TOKEN_TTL).token
    url = f"{base}/hls/{stream}/master.m3u8?token={token}"
    out = sys.stdout
    names = ", ".join(r.name for r in renditions)
    print(f"\nlive: stream {stream!r} ({names}) published into {base}/ingest/{stream}/ with a publish token; "
          f"serving {Path(settings.media_root).absolute()}  (Ctrl-C ends the stream, then the server)\n", file=out)
    player = settings.player.dir
    if player is not None and (player / HLS_JS_DIST / "hls.min.js").is_file():
        print(f"Player (play token for the room {LIVE_ROOM!r}, valid 24 h; open it in a browser):\n"
              f"  {base}/player/?group={LIVE_ROOM}&token={token}\n", file=out)
    else:
        print("The web player is not built: run `make player` in the checkout (make demo does).\n", file=out)
    print(f"Live URL (the same room token, valid 24 h; any HLS player):\n  {url}\n", file=out)
    print(f"  ffplay '{url}'\n", file=out)
    print(f"Viewer secret for this run (shown once, not stored): {viewer_secret}", file=out, flush=True)
