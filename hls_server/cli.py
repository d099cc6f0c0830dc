"""The ``hlsgate`` command: one entry point whose subcommands grow with the product."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from transcode import cli as transcode_cli

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hlsgate", description="A secure HLS origin and its transcoder.")
    parser.add_argument("--version", action="version", version=f"hlsgate {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (the ffmpeg argv)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    transcode_cli.add_parsers(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Parse, then hand the subcommand its arguments and the environment (read here and nowhere else)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    code: int = args.handler(args, os.environ if env is None else env)
    return code


if __name__ == "__main__":
    sys.exit(main())
