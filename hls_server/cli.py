"""The ``hlsgate`` command: one entry point whose subcommands grow with the product."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transcode import cli as transcode_cli
from transcode import live_cli
from transcode.errors import PublishError

from . import __version__, demo
from .core.auth.minting import Minter
from .core.errors import ConfigError, HLSGateError
from .core.grants import Role
from .core.names import ID_RULE, is_id
from .core.settings import SETTINGS, Kind, Setting, Settings, load_settings, metavar

EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hlsgate", description="A secure HLS origin and its transcoder.")
    parser.add_argument("--version", action="version", version=f"hlsgate {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (the ffmpeg argv)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    transcode_cli.add_parsers(subparsers)
    live_cli.add_parser(subparsers, mint_publish_token)
    demo.add_parser(subparsers)
    _add_server_parsers(subparsers)
    _add_rtmp_config_parser(subparsers)
    return parser


def _add_server_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = subparsers.add_parser(
        "serve", help="serve a media root over HTTP, checking a JWT on every playlist and segment",
        description="Serve MEDIA_ROOT/<stream>/master.m3u8 and its renditions at /hls/<stream>/..., "
                    "plus the REST API at /api/v1. Settings: --config FILE, then HLSGATE_* variables, "
                    "then these flags. Secrets have no flag (the command line is visible in ps): give them "
                    "in the environment or the file. docs/origin.md lists every setting.")
    for flag, row in SERVE_FLAGS.items():
        s.add_argument(flag, dest=row.name, **_flag_options(row))
    _add_config(s)
    s.set_defaults(handler=run_serve)

    t = subparsers.add_parser(
        "token", help="print a play or publish token signed with the configured secret",
        description="Mint a viewer token with HLSGATE_JWT_SECRET (or the config file's signing secret).")
    scope = t.add_mutually_exclusive_group(required=True)
    scope.add_argument("--stream", metavar="ID", help="a token for one stream (claim streamId)")
    scope.add_argument("--group", metavar="ID", help="a token for every stream of a group (claim group)")
    scope.add_argument("--room", metavar="ID", help="a conference room token (claim roomId): with --type publish, "
                                                    "publishes ID-<participant> streams and plays the room")
    t.add_argument("--type", choices=("play", "publish"), default="play", help="token type (default play)")
    t.add_argument("--ttl", type=int, metavar="SECONDS", help="lifetime (default tokens.default_ttl, 3600)")
    _add_config(t)
    t.set_defaults(handler=run_token)

    a = subparsers.add_parser(
        "admin-token", help="print a short-lived admin token for the REST API",
        description="Mint an admin token with HLSGATE_ADMIN_SECRET, for 'Authorization: Bearer ...'.")
    a.add_argument("--ttl", type=int, metavar="SECONDS", help="lifetime (default and maximum admin.max_lifetime, 300)")
    _add_config(a)
    a.set_defaults(handler=run_admin_token)


def _add_rtmp_config_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = subparsers.add_parser(
        "rtmp-config", help="print an nginx configuration that makes nginx-rtmp hlsgate's RTMP edge (OBS)",
        description="Print a complete nginx configuration (Debian's libnginx-mod-rtmp): RTMP clients publish to "
                    "rtmp://HOST:PORT/APP with the stream key STREAM?token=PUBLISH_TOKEN; the origin checks the "
                    "token (on_publish) and each accepted stream is transcoded by 'hlsgate publish' and pushed to "
                    "the origin. Run it with: nginx -c FILE -g 'daemon off;'. docs/rtmp.md says more.")
    r.add_argument("--listen", required=True, metavar="HOST:PORT", help="where nginx takes RTMP, e.g. 0.0.0.0:1935")
    r.add_argument("--origin", required=True, metavar="URL",
                   help="the origin's plain-http base URL, e.g. http://127.0.0.1:8080 (callbacks and pushes)")
    r.add_argument("--app", default="live", help="the RTMP application name (default live)")
    r.add_argument("--hlsgate", metavar="CMD",
                   help="how nginx runs hlsgate, an absolute path (default: this hlsgate)")
    r.add_argument("--prefix", metavar="DIR", help="folder for nginx's pid and logs (default: the current one)")
    r.add_argument("--ladder", metavar="RUNGS", help="the ladder hlsgate publish encodes, e.g. 720p,360p "
                                                     "(default: its own)")
    r.set_defaults(handler=run_rtmp_config)


# The settings `hlsgate serve` takes as flags: the rows of the settings table that name one.
SERVE_FLAGS: dict[str, Setting] = {row.flag: row for row in SETTINGS if row.flag}


def _flag_options(row: Setting) -> dict[str, Any]:
    """argparse options from a settings row; every flag defaults to None, which leaves the setting to the layers
    below (the environment, the file)."""
    if row.kind is Kind.BOOL:
        where = f"{row.name} = {'true' if row.flag_value else 'false'}"
    elif row.default is None and row.default_doc is None:
        where = row.name
    else:
        where = f"default {row.default if isinstance(row.default, str) else row.default_text}"
    text = f"{row.flag_help or row.help} ({where}; {row.env})"
    options: dict[str, Any] = {"help": text.replace("%", "%%")}
    if row.kind is Kind.BOOL:
        return {**options, "action": "store_const", "const": row.flag_value}
    if row.kind is Kind.CHOICE:
        return {**options, "choices": row.choices}
    options["metavar"] = metavar(row)
    if row.kind in (Kind.STRINGS, Kind.PATHS):
        options["action"] = "append"
    elif row.kind in (Kind.INT, Kind.FLOAT):
        options["type"] = int if row.kind is Kind.INT else float
    elif row.kind not in (Kind.STR, Kind.PATH):
        raise TypeError(f"{row.name}: a {row.kind.value} cannot be given as a flag")
    return options


def serve_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The ``flags`` of load_settings from parsed ``hlsgate serve`` arguments: dotted setting name -> value."""
    return {row.name: getattr(args, row.name) for row in SERVE_FLAGS.values()}


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE.toml", help="settings file (HLSGATE_CONFIG)")


def _settings(args: argparse.Namespace, env: Mapping[str, str], flags: dict[str, Any], *,
              serving: bool) -> Settings:
    config = Path(args.config) if args.config else None
    return load_settings(flags, env, config, serving=serving)


def run_serve(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from .web.serve import configure_logging, serve

    try:
        settings = _settings(args, env, serve_flags(args), serving=True)
        configure_logging(settings, args.verbose)
        if not settings.auth_play:
            print("hlsgate serve: WARNING: --no-auth: every stream is public", file=sys.stderr)
        if not settings.auth_publish:
            print("hlsgate serve: WARNING: --no-publish-auth: anyone may publish over /ingest", file=sys.stderr)

        def announce(url: str) -> None:
            print(f"hlsgate: serving {settings.media_root} on {url}", file=sys.stderr, flush=True)

        asyncio.run(serve(settings, announce))
    except ConfigError as err:
        print(f"hlsgate serve: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except HLSGateError as err:
        print(f"hlsgate serve: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as err:  # the port is taken, the address does not exist
        print(f"hlsgate serve: error: cannot listen: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def run_token(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    scope = next(value for value in (args.stream, args.group, args.room) if value is not None)
    if not is_id(scope):
        print(f"hlsgate token: error: ids are {ID_RULE}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = _settings(args, env, {}, serving=False)
        if args.ttl is not None and not 1 <= args.ttl <= settings.max_token_ttl:
            raise ConfigError(f"--ttl must be within 1..{settings.max_token_ttl} seconds (tokens.max_ttl)")
        minted = Minter.from_settings(settings).viewer(Role(args.type), stream=args.stream, group=args.group,
                                                       room=args.room, ttl=args.ttl, field="--ttl")
    except HLSGateError as err:
        print(f"hlsgate token: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(minted.token)
    return 0


def mint_publish_token(args: argparse.Namespace, env: Mapping[str, str], stream: str) -> str:
    """``hlsgate publish``'s token when none is given: a publish token for ``stream`` from the configured secret,
    living tokens.max_ttl (the origin checks it on every write, so it must outlive the broadcast)."""
    try:
        settings = _settings(args, env, {}, serving=False)
        return Minter.from_settings(settings).viewer(Role.PUBLISH, stream=stream, ttl=settings.max_token_ttl).token
    except HLSGateError as err:
        raise PublishError(f"no publish token: give --token or {live_cli.TOKEN_ENV}, or configure the signing "
                           f"secret to mint one ({err})") from err


def run_admin_token(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    try:
        settings = _settings(args, env, {}, serving=False)
        minter = Minter.from_settings(settings)
        if args.ttl is not None and not 1 <= args.ttl <= minter.admin_max_ttl:
            raise ConfigError(f"--ttl must be within 1..{minter.admin_max_ttl} seconds (admin.max_lifetime)")
        minted = minter.admin(args.ttl)
    except HLSGateError as err:
        print(f"hlsgate admin-token: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(minted.token)
    return 0


def run_rtmp_config(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from . import rtmp_config

    try:
        host, port = rtmp_config.parse_listen(args.listen)
        hlsgate = (rtmp_config.check_words(shlex.split(args.hlsgate), "--hlsgate") if args.hlsgate is not None
                   else rtmp_config.current_hlsgate())
        prefix = Path(args.prefix or ".").absolute()
        rtmp_config.check_words([str(prefix)], "--prefix")
        if args.ladder is not None:
            rtmp_config.check_words([args.ladder], "--ladder", command=False)
        edge = rtmp_config.RtmpEdge(host, port, rtmp_config.check_origin(args.origin), prefix, hlsgate,
                                    rtmp_config.check_app(args.app), args.ladder)
    except (ConfigError, ValueError) as err:  # ValueError: shlex's unbalanced quote
        print(f"hlsgate rtmp-config: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(rtmp_config.nginx_config(edge), end="")
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Parse, then hand the subcommand its arguments and the environment (read here and nowhere else)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    code: int = args.handler(args, os.environ if env is None else env)
    return code


if __name__ == "__main__":
    sys.exit(main())
