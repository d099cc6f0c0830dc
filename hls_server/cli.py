"""The ``hlsgate`` command: one entry point whose subcommands grow with the product."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transcode import cli as transcode_cli

from . import __version__, demo
from .core.auth.minting import Minter
from .core.errors import ConfigError, HLSGateError
from .core.grants import Role
from .core.names import ID_RULE, is_id
from .core.settings import LOG_FORMATS, Settings, load_settings

EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hlsgate", description="A secure HLS origin and its transcoder.")
    parser.add_argument("--version", action="version", version=f"hlsgate {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (the ffmpeg argv)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    transcode_cli.add_parsers(subparsers)
    demo.add_parser(subparsers)
    _add_server_parsers(subparsers)
    return parser


def _add_server_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = subparsers.add_parser(
        "serve", help="serve a media root over HTTP, checking a JWT on every playlist and segment",
        description="Serve MEDIA_ROOT/<stream>/master.m3u8 and its renditions at /hls/<stream>/..., "
                    "plus the REST API at /api/v1. Settings: --config FILE, then HLSGATE_* variables, "
                    "then these flags.")
    s.add_argument("--media-root", metavar="DIR", help="folder of stream directories (HLSGATE_MEDIA_ROOT)")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port to listen on (default 8080; 0 picks a free one)")
    s.add_argument("--state-dir", metavar="DIR", help="where groups are stored (default MEDIA_ROOT/.hlsgate)")
    s.add_argument("--log-format", choices=LOG_FORMATS, help="access log format (default text)")
    s.add_argument("--no-access-log", action="store_true", help="write no access log")
    s.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="allow this web origin to fetch media (repeatable; default *)")
    s.add_argument("--no-auth", action="store_true",
                   help="serve without any token check (public streams only!)")
    _add_config(s)
    s.set_defaults(handler=run_serve)

    t = subparsers.add_parser(
        "token", help="print a play or publish token signed with the configured secret",
        description="Mint a viewer token with HLSGATE_JWT_SECRET (or the config file's signing secret).")
    scope = t.add_mutually_exclusive_group(required=True)
    scope.add_argument("--stream", metavar="ID", help="a token for one stream (claim streamId)")
    scope.add_argument("--group", metavar="ID", help="a token for every stream of a group (claim group)")
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


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE.toml", help="settings file (HLSGATE_CONFIG)")


def _settings(args: argparse.Namespace, env: Mapping[str, str], flags: dict[str, Any], *,
              serving: bool) -> Settings:
    config = Path(args.config) if args.config else None
    return load_settings(flags, env, config, serving=serving)


def run_serve(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from .web.serve import configure_logging, serve

    flags: dict[str, Any] = {
        "media_root": args.media_root, "host": args.host, "port": args.port, "state_dir": args.state_dir,
        "log_format": args.log_format, "cors_origins": args.cors_origin,
        "access_log": False if args.no_access_log else None, "auth.enabled": False if args.no_auth else None,
    }
    try:
        settings = _settings(args, env, flags, serving=True)
        configure_logging(settings, args.verbose)
        if not settings.auth_enabled:
            print("hlsgate serve: WARNING: --no-auth: every stream is public", file=sys.stderr)

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
    scope = args.stream if args.stream is not None else args.group
    if not is_id(scope):
        print(f"hlsgate token: error: ids are {ID_RULE}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = _settings(args, env, {}, serving=False)
        if args.ttl is not None and not 1 <= args.ttl <= settings.max_token_ttl:
            raise ConfigError(f"--ttl must be within 1..{settings.max_token_ttl} seconds (tokens.max_ttl)")
        minted = Minter.from_settings(settings).viewer(Role(args.type), stream=args.stream, group=args.group,
                                                       ttl=args.ttl, field="--ttl")
    except HLSGateError as err:
        print(f"hlsgate token: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(minted.token)
    return 0


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
