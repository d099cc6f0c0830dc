"""``hlsgate demo``: transcode a generated clip, serve it on loopback with a fresh secret, print a playable URL."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from transcode import cli as transcode_cli

from .core.auth.minting import Minter
from .core.errors import ConfigError
from .core.grants import Role
from .core.groups import GroupStore
from .core.settings import Settings, load_settings
from .web.routes.player import HLS_JS_DIST

DEMO_PORT = 8080
DEMO_TOKEN_TTL = 24 * 3600
DEMO_GROUP = "demo-group"


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
    d.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
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

