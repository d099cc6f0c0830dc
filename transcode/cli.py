"""``hlsgate transcode`` and ``hlsgate demo``: argument parsing and what the person sees."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TextIO

from .api import TranscodeResult, transcode_vod_async
from .command import DEFAULT_CODEC, DEFAULT_PRESET, DEFAULT_SEGMENT_SECONDS, VIDEO_CODECS, EncodeOptions
from .errors import FFmpegFailed, TranscodeError
from .ladder import DEFAULT_LADDER, RUNG_TABLE, load_ladder
from .report import LogLines, TerminalBar
from .testsrc import generate_testsrc
from .toolchain import find_toolchain, locate_toolchain

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
DEMO_SECONDS = 12.0
DEMO_SIZE = "1920x1080"
DEMO_DIR = Path("demo-media")
DEMO_STREAM = "demo"


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "transcode", help="encode a file into an HLS ABR ladder (a stream directory)",
        description="Encode INPUT into OUTDIR: master.m3u8 plus one folder per rendition. "
                    "OUTDIR's name is the stream id. Nothing appears at OUTDIR unless the encode succeeds.")
    p.add_argument("input", nargs="?", metavar="INPUT", help="source media file")
    p.add_argument("outdir", nargs="?", metavar="OUTDIR", help="stream directory to create")
    p.add_argument("--version", action="store_true", help="print the ffmpeg in use and exit")
    _add_encode_options(p)
    p.add_argument("--force", action="store_true",
                   help="replace an existing OUTDIR (the old one stays until the new one is complete)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop ffmpeg after this long")
    p.set_defaults(handler=run_transcode)


def add_demo_arguments(d: argparse.ArgumentParser) -> None:
    """The transcoding half of ``hlsgate demo`` (the origin adds the serving half)."""
    d.add_argument("--source", metavar="FILE", help="transcode this file instead of a generated clip")
    d.add_argument("--media-root", default=str(DEMO_DIR), metavar="DIR", help=f"default {DEMO_DIR}")
    d.add_argument("--seconds", type=float, default=DEMO_SECONDS, help="length of the generated clip")
    _add_encode_options(d)


def _add_encode_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ladder", metavar="RUNGS|FILE.toml",
                   help=f"rungs from {', '.join(RUNG_TABLE)} (default {','.join(DEFAULT_LADDER)}), "
                        "or a TOML ladder file")
    p.add_argument("--segment-seconds", type=float, default=DEFAULT_SEGMENT_SECONDS, metavar="S",
                   help=f"target segment duration (default {DEFAULT_SEGMENT_SECONDS:g})")
    p.add_argument("--format", choices=("ts", "fmp4"), default="ts", help="segment container (default ts)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"encoder preset (default {DEFAULT_PRESET})")
    p.add_argument("--codec", choices=tuple(VIDEO_CODECS), default=DEFAULT_CODEC, help="video codec")
    p.add_argument("--ffmpeg", metavar="PATH", help="ffmpeg binary (else HLSGATE_FFMPEG, PATH, bundled)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _explicit_ffmpeg(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return args.ffmpeg or env.get("HLSGATE_FFMPEG") or None


def run_transcode(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    explicit_ffmpeg = _explicit_ffmpeg(args, env)
    if args.version:
        return _guarded(lambda: _print_version(explicit_ffmpeg))
    if args.input is None or args.outdir is None:
        print("hlsgate transcode: error: INPUT and OUTDIR are required", file=sys.stderr)
        return 2
    return _guarded(lambda: _transcode(args, Path(args.input), Path(args.outdir), explicit_ffmpeg, args.force))


def transcode_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Generate a clip with lavfi (or take --source) and transcode it into MEDIA_ROOT/demo."""
    explicit_ffmpeg = _explicit_ffmpeg(args, env)

    def demo() -> int:
        toolchain = find_toolchain(explicit_ffmpeg)
        root = Path(args.media_root)
        if args.source:
            source = Path(args.source)
        else:
            source = root / ".sources" / f"testsrc-{DEMO_SIZE}-{args.seconds:g}s.mp4"
            if not source.is_file():
                _say(args, f"generating a {args.seconds:g} s {DEMO_SIZE} test clip with lavfi ...")
                generate_testsrc(toolchain.ffmpeg, source, seconds=args.seconds, size=DEMO_SIZE)
        return _transcode(args, source, root / DEMO_STREAM, explicit_ffmpeg, True)

    return _guarded(demo)


def _transcode(args: argparse.Namespace, source: Path, outdir: Path, explicit_ffmpeg: str | None,
               force: bool) -> int:
    options = EncodeOptions(segment_seconds=args.segment_seconds, segment_format=args.format,
                            preset=args.preset, codec=args.codec)
    ladder = load_ladder(args.ladder)
    toolchain = locate_toolchain(explicit_ffmpeg)
    reporter = _reporter(args.quiet, sys.stderr, f"transcode {outdir.name}")
    try:
        result = _run_cancellable(transcode_vod_async(
            source, outdir, ladder=ladder, options=options, toolchain=toolchain, force=force,
            on_progress=reporter, timeout=getattr(args, "timeout", None)))
    finally:
        if reporter is not None:
            reporter.close()
    if not args.quiet:
        print_summary(result, sys.stdout)
    return 0


def _reporter(quiet: bool, stream: TextIO, label: str) -> TerminalBar | LogLines | None:
    if quiet:
        return None
    return TerminalBar(stream, label) if stream.isatty() else LogLines(stream, label)


def _run_cancellable(coro: Coroutine[Any, Any, TranscodeResult]) -> TranscodeResult:
    """asyncio.run, with SIGTERM treated like Ctrl-C: ffmpeg is stopped and nothing is published."""
    async def main() -> TranscodeResult:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)
    return asyncio.run(main())


def _guarded(action: Callable[[], int]) -> int:
    """Run a command; expected failures become one clear line on stderr and a non-zero exit."""
    try:
        return action()
    except FFmpegFailed as err:
        print(f"hlsgate: error: {err}", file=sys.stderr)
        if err.stderr_tail:
            print("ffmpeg's last words:", file=sys.stderr)
            for line in err.stderr_tail.splitlines():
                print(f"  | {line}", file=sys.stderr)
        return EXIT_FAILURE
    except TranscodeError as err:
        print(f"hlsgate: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("\nhlsgate: interrupted; nothing was published", file=sys.stderr)
        return EXIT_INTERRUPTED


def _print_version(explicit_ffmpeg: str | None) -> int:
    print(find_toolchain(explicit_ffmpeg).describe())
    return 0


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr)


def print_summary(result: TranscodeResult, out: TextIO) -> None:
    print(f"published stream {result.stream_id!r} at {result.path}", file=out)
    print(f"  {result.duration:.1f} s of media, {len(result.renditions)} rendition(s), "
          f"{result.wall_seconds:.1f} s wall time ({result.speed:.2f}x real time)", file=out)
    for r in result.renditions:
        size = f"{r.width}x{r.height}" if r.width else "audio only"
        print(f"  {r.name:>7}  {size:>10}  peak {r.bandwidth / 1e6:6.2f} Mb/s  avg "
              f"{r.average_bandwidth / 1e6:6.2f} Mb/s  {r.segments:3d} segment{'' if r.segments == 1 else 's'}  "
              f"{','.join(r.codecs)}", file=out)
    print(f"  {result.toolchain.describe()}", file=out)
