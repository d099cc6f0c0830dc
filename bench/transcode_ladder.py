"""Benchmark: hlsgate's one-process ABR ladder against what a person would otherwise run.

Contenders, all with the same ffmpeg binary and the same encode settings:

* ``hlsgate``            the real CLI (``hlsgate transcode ... --quiet``), Python start-up, probe,
                         playlist measurement and atomic publication included;
* ``hand-written``       the same single ffmpeg command, typed out literally below (no hlsgate code);
* ``naive-sequential``   one ffmpeg per rendition, one after the other: each decodes the source itself;
* ``naive-concurrent``   the same three processes started together (extra information, no target).

The runs are interleaved round-robin, each round starting one contender later (the machine is shared
and noisy, and a run right after the heaviest one is slower), and the median wall time of
each contender is reported, with the ratios hlsgate/hand-written (target <= 1.03) and
hlsgate/naive-sequential (target <= 0.85). Before any figure is reported the outputs of round 1 are
compared (sizes, profile, audio, segments, duration): a contender that did different work is an error.

    .venv/bin/python bench/transcode_ladder.py                       # 1080p30, 20 s, 3 rounds
    .venv/bin/python bench/transcode_ladder.py --seconds 2 --size 320x180 --repeat 1   # smoke
    .venv/bin/python bench/transcode_ladder.py --show-argv           # the commands, side by side

The exit status is 0 whether targets are met or missed (the ratio lines say PASS or MISS); it is
non-zero only when a contender fails, times out or produces different output.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import difflib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from processes import stop  # bench/processes.py: run as a script, bench/ is on sys.path

import hls_server
import transcode
from transcode.command import EncodeOptions, build_argv
from transcode.errors import TranscodeError
from transcode.ladder import load_ladder, plan_renditions
from transcode.probe import probe
from transcode.testsrc import generate_testsrc
from transcode.toolchain import Toolchain, find_toolchain

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT_DIR = BENCH_DIR / "out"

FRAME_RATE = 30
"""The generated source's rate. With 4 s segments this gives the GOP of 120 typed in the argvs below."""
DEFAULT_SIZE = "1920x1080"
DEFAULT_LADDER_SPEC = "1080p,720p,480p"
STREAM_NAME = "stream"

TARGET_VS_HAND_WRITTEN = 1.03
TARGET_VS_NAIVE_SEQUENTIAL = 0.85
STDERR_TAIL_CHARS = 2000
PROBE_TIMEOUT_SECONDS = 60


class BenchError(Exception):
    """A contender failed, timed out or did not do the same work as the others."""


@dataclass(frozen=True)
class Rung:
    """One rendition as a person would write it down (the default table, docs/transcode.md)."""
    name: str
    width: int
    height: int
    video: str
    maxrate: str
    bufsize: str
    audio: str


RUNGS = (
    Rung("1080p", 1920, 1080, "5000k", "5350k", "7500k", "128k"),
    Rung("720p", 1280, 720, "2800k", "2996k", "4200k", "128k"),
    Rung("480p", 854, 480, "1400k", "1498k", "2100k", "96k"),
)

AUDIO_CHANNELS = "1"
"""lavfi's ``sine`` is mono and hlsgate keeps mono as mono (``-ac 1``); stereo would be ``-ac 2``.
The output check below compares channel counts, so a stereo source would be caught, not mis-timed."""

Size = tuple[int, int]


@dataclass(frozen=True)
class Contender:
    key: str
    argvs: tuple[tuple[str, ...], ...]
    concurrent: bool
    out: Path
    playlists: tuple[Path, ...]
    """One media playlist per rendition, in RUNGS order."""
    make_dirs: tuple[Path, ...] = ()
    """Directories ffmpeg will not create by itself (the hls muxer only does for ``%v`` patterns)."""


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    """User + system seconds of the contender's processes (and their children)."""


# --- the commands -------------------------------------------------------------------------------

def hand_written_argv(ffmpeg: str, source: Path, out: Path, sizes: Sequence[Size], preset: str) -> list[str]:
    """The whole ladder in one ffmpeg, as an expert would type it: decode once, split, scale, encode."""
    (w0, h0), (w1, h1), (w2, h2) = sizes  # 1920x1080, 1280x720, 854x480 for the default source
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats",
        "-i", str(source),
        "-filter_complex",
        "[0:v:0]split=3[s0][s1][s2];"
        f"[s0]scale={w0}:{h0},setsar=1,format=yuv420p[v0];"
        f"[s1]scale={w1}:{h1},setsar=1,format=yuv420p[v1];"
        f"[s2]scale={w2}:{h2},setsar=1,format=yuv420p[v2]",
        "-map", "[v0]", "-map", "0:a:0",
        "-map", "[v1]", "-map", "0:a:0",
        "-map", "[v2]", "-map", "0:a:0",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-sc_threshold", "0",
        "-g", "120", "-keyint_min", "120", "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-b:v:0", "5000k", "-maxrate:v:0", "5350k", "-bufsize:v:0", "7500k",
        "-b:v:1", "2800k", "-maxrate:v:1", "2996k", "-bufsize:v:1", "4200k",
        "-b:v:2", "1400k", "-maxrate:v:2", "1498k", "-bufsize:v:2", "2100k",
        "-c:a", "aac", "-ac", AUDIO_CHANNELS, "-ar", "48000",
        "-b:a:0", "128k", "-b:a:1", "128k", "-b:a:2", "96k",
        "-max_muxing_queue_size", "4096",
        "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", f"{out}/%v/seg_%05d.ts",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p",
        f"{out}/%v/index.m3u8",
    ]


def naive_argv(ffmpeg: str, source: Path, out: Path, rung: Rung, size: Size, preset: str) -> list[str]:
    """One rendition per process, same settings: every process decodes the whole source again."""
    width, height = size
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats",
        "-i", str(source),
        "-map", "0:v:0", "-map", "0:a:0",
        "-vf", f"scale={width}:{height},setsar=1,format=yuv420p",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-sc_threshold", "0",
        "-g", "120", "-keyint_min", "120", "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-b:v", rung.video, "-maxrate:v", rung.maxrate, "-bufsize:v", rung.bufsize,
        "-c:a", "aac", "-ac", AUDIO_CHANNELS, "-ar", "48000", "-b:a", rung.audio,
        "-max_muxing_queue_size", "4096",
        "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", f"{out}/{rung.name}/seg_%05d.ts",
        f"{out}/{rung.name}/index.m3u8",
    ]


def hlsgate_argv(hlsgate: str, ffmpeg: str, source: Path, out: Path, ladder_spec: str, preset: str) -> list[str]:
    return [hlsgate, "transcode", str(source), str(out / STREAM_NAME), "--quiet", "--force",
            "--ladder", ladder_spec, "--preset", preset, "--segment-seconds", "4", "--ffmpeg", ffmpeg]


def build_contenders(root: Path, hlsgate: str, ffmpeg: str, source: Path, sizes: Sequence[Size], ladder_spec: str,
                     preset: str) -> list[Contender]:
    def playlists(root: Path) -> tuple[Path, ...]:
        return tuple(root / r.name / "index.m3u8" for r in RUNGS)

    out = {key: root / "ladder" / key for key in ("hlsgate", "hand-written", "naive-sequential", "naive-concurrent")}
    naive = {key: tuple(tuple(naive_argv(ffmpeg, source, out[key], r, s, preset)) for r, s in zip(RUNGS, sizes,
                                                                                                  strict=True))
             for key in ("naive-sequential", "naive-concurrent")}
    return [
        Contender("hlsgate", (tuple(hlsgate_argv(hlsgate, ffmpeg, source, out["hlsgate"], ladder_spec, preset)),),
                  False, out["hlsgate"], playlists(out["hlsgate"] / STREAM_NAME)),
        Contender("hand-written", (tuple(hand_written_argv(ffmpeg, source, out["hand-written"], sizes, preset)),),
                  False, out["hand-written"], playlists(out["hand-written"])),
        *(Contender(key, naive[key], key == "naive-concurrent", out[key], playlists(out[key]),
                    tuple(out[key] / r.name for r in RUNGS)) for key in ("naive-sequential", "naive-concurrent")),
    ]


# --- the source and the ladder ------------------------------------------------------------------

def parse_size(text: str) -> Size:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width % 2 or height % 2 or width < height or not 72 <= height <= 2160:
        raise argparse.ArgumentTypeError("the size must be even, landscape, and 72 to 2160 pixels high")
    return width, height


def rendition_sizes(source: Size) -> tuple[Size, ...]:
    """The rung boxes for the default 1080p source. Any other size gets the boxes scaled to the source
    (so a 320x180 smoke run still encodes three renditions, where hlsgate's plan would drop the rungs
    that upscale), and hlsgate gets them as a ladder file: all contenders do the same work."""
    if source == parse_size(DEFAULT_SIZE):
        return tuple((r.width, r.height) for r in RUNGS)
    src_w, src_h = source
    top = RUNGS[0].height
    return tuple((_even(src_w * r.height / top), _even(src_h * r.height / top)) for r in RUNGS)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def ladder_spec_for(root: Path, source: Size, sizes: Sequence[Size]) -> str:
    """``--ladder`` for hlsgate: the rung names for the default source, else a ladder file."""
    if source == parse_size(DEFAULT_SIZE):
        return DEFAULT_LADDER_SPEC
    path = root / f"ladder-{source[0]}x{source[1]}.toml"
    lines = [f"# bench/transcode_ladder.py: the default rungs' bitrates, boxes scaled to a {source[0]}x{source[1]} "
             "source"]
    for rung, (width, height) in zip(RUNGS, sizes, strict=True):
        lines += ["", "[[rendition]]", f'name = "{rung.name}"', f"width = {width}", f"height = {height}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def ensure_source(root: Path, ffmpeg: str, seconds: float, size: Size) -> Path:
    """Generate the test clip once; later runs reuse it (written under a temporary name, then renamed)."""
    path = root / "sources" / f"testsrc-{size[0]}x{size[1]}-{FRAME_RATE}fps-{seconds:g}s.mp4"
    if path.is_file():
        return path
    say(f"generating the source {shown(path)} ...")
    partial = path.with_name(f".{path.stem}.partial.mp4")
    generate_testsrc(ffmpeg, partial, seconds=seconds, size=f"{size[0]}x{size[1]}", rate=FRAME_RATE)
    partial.replace(path)
    return path


# --- running ------------------------------------------------------------------------------------

def say(text: str = "") -> None:
    print(text, flush=True)


def shown(path: Path) -> str:
    """Relative to the repository when inside it: shorter, and the same on every machine."""
    return str(path.relative_to(BENCH_DIR.parent)) if path.is_relative_to(BENCH_DIR.parent) else str(path)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_contender(contender: Contender, timeout: float) -> tuple[Sample, list[str]]:
    """Run into a fresh directory; return the timing and anything the processes wrote on stderr."""
    shutil.rmtree(contender.out, ignore_errors=True)
    contender.out.mkdir(parents=True)
    for directory in contender.make_dirs:
        directory.mkdir(parents=True)
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    if contender.concurrent:
        messages = run_processes(contender.argvs, timeout)
    else:
        messages = [m for argv in contender.argvs for m in run_processes((argv,), timeout)]
    sample = Sample(wall=time.perf_counter() - started, cpu=children_cpu_seconds() - cpu_before)
    check_playlists(contender)
    return sample, messages


def run_processes(argvs: Sequence[Sequence[str]], timeout: float) -> list[str]:
    """Start every argv at once and wait for all; each in its own session so a timeout stops the whole
    tree (hlsgate and its ffmpeg). Raises BenchError on a timeout or a non-zero exit."""
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        running: list[tuple[Sequence[str], IO[bytes], subprocess.Popen[bytes]]] = []
        try:
            for argv in argvs:
                log = stack.enter_context(tempfile.TemporaryFile())
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                        start_new_session=True)
                running.append((argv, log, proc))
            for _, _, proc in running:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as err:
            raise BenchError(f"{Path(argvs[0][0]).name} did not finish within {timeout:g} s and was stopped "
                             "(raise --timeout if the machine is this slow)") from err
        finally:
            for _, _, proc in running:
                stop(proc)
        messages: list[str] = []
        for argv, stderr, proc in running:
            stderr.seek(0)
            text = stderr.read().decode(errors="replace").strip()
            if proc.returncode != 0:
                raise BenchError(f"exit status {proc.returncode} from: {shlex.join(argv)}\n"
                                 f"{text[-STDERR_TAIL_CHARS:]}")
            if text:
                messages.append(text[-STDERR_TAIL_CHARS:])
        return messages


# --- checking that every contender did the same work --------------------------------------------

@dataclass(frozen=True)
class Output:
    width: int
    height: int
    profile: str
    audio: str
    segments: int
    duration: float
    size_bytes: int

    def work(self) -> tuple[int, int, str, str, int]:
        """What must be equal across contenders (size on disk and duration may differ slightly)."""
        return self.width, self.height, self.profile, self.audio, self.segments


def check_playlists(contender: Contender) -> None:
    """ffmpeg can exit 0 after failing to write (a missing directory): insist on finished playlists."""
    for playlist in contender.playlists:
        if not playlist.is_file() or "#EXT-X-ENDLIST" not in playlist.read_text(encoding="utf-8"):
            raise BenchError(f"{contender.key}: {playlist} is missing or unfinished")


def describe_output(playlist: Path, ffprobe: str | None) -> Output:
    text = playlist.read_text(encoding="utf-8")
    segments = [playlist.parent / line for line in text.splitlines() if line and not line.startswith("#")]
    duration = sum(float(m.group(1)) for m in re.finditer(r"^#EXTINF:([\d.]+)", text, re.MULTILINE))
    size_bytes = sum(s.stat().st_size for s in segments)
    width = height = 0
    profile = audio = "?"
    if ffprobe is not None and segments:
        done = subprocess.run([ffprobe, "-v", "error", "-print_format", "json", "-show_streams", str(segments[0])],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, check=True)
        streams: list[dict[str, Any]] = json.loads(done.stdout).get("streams", [])
        for st in streams:
            if st.get("codec_type") == "video":
                width, height, profile = int(st["width"]), int(st["height"]), str(st.get("profile"))
            elif st.get("codec_type") == "audio":
                audio = f"{st.get('codec_name')} {st.get('channels')}ch {st.get('sample_rate')}Hz"
    return Output(width, height, profile, audio, len(segments), duration, size_bytes)


def check_same_work(contenders: Sequence[Contender], ffprobe: str | None) -> None:
    say("outputs of round 1 (must match: size, profile, audio, segments):")
    for index, rung in enumerate(RUNGS):
        outputs = {c.key: describe_output(c.playlists[index], ffprobe) for c in contenders}
        for key, o in outputs.items():
            say(f"  {rung.name:>6} {key:<17} {f'{o.width}x{o.height}':>9} {o.profile:<5} {o.audio:<16} "
                f"{o.segments:3d} segments {o.duration:7.3f} s {o.size_bytes:>11,d} bytes")
        if len({o.work() for o in outputs.values()}) != 1:
            raise BenchError(f"the contenders' {rung.name} renditions differ (see above): the comparison "
                             "would not be fair, so no figures are reported")
    if ffprobe is None:
        say("  (no ffprobe: sizes and codecs were not checked, only segment counts)")


# --- reporting ----------------------------------------------------------------------------------

def ratio_line(name: str, value: float, target: float | None) -> str:
    if target is None:
        return f"ratio {name}: {value:.3f} (no target)"
    verdict = "PASS" if value <= target else "MISS"
    return f"ratio {name}: {value:.3f} (target <= {target:.2f}) {verdict}"


def report(samples: dict[str, list[Sample]], seconds: float) -> None:
    say()
    say(f"{'contender':<18} {'median s':>9} {'min s':>8} {'max s':>8} {'x realtime':>11} {'cpu s':>8}  runs")
    for key, runs in samples.items():
        walls = [s.wall for s in runs]
        median = statistics.median(walls)
        cpu = statistics.median(s.cpu for s in runs)
        say(f"{key:<18} {median:9.2f} {min(walls):8.2f} {max(walls):8.2f} {seconds / median:10.2f}x {cpu:8.1f}  "
            + " ".join(f"{w:.2f}" for w in walls))
    say()
    med = {key: statistics.median(s.wall for s in runs) for key, runs in samples.items()}
    say(ratio_line("hlsgate/hand-written", med["hlsgate"] / med["hand-written"], TARGET_VS_HAND_WRITTEN))
    say(ratio_line("hlsgate/naive-sequential", med["hlsgate"] / med["naive-sequential"], TARGET_VS_NAIVE_SEQUENTIAL))
    say(ratio_line("hlsgate/naive-concurrent", med["hlsgate"] / med["naive-concurrent"], None))


def show_argv(contenders: Sequence[Contender], toolchain: Toolchain, source: Path, ladder_spec: str,
              preset: str) -> None:
    """hlsgate's own argv (from build_argv, as ``hlsgate -v transcode`` would log it) beside the literal one."""
    info = asyncio.run(probe(source, toolchain))
    renditions = plan_renditions(info, load_ladder(ladder_spec))
    options = EncodeOptions(segment_seconds=4.0, preset=preset)
    ours = build_argv(toolchain.ffmpeg, source, info, renditions, options)
    by_key = {c.key: c for c in contenders}
    say("hlsgate (timed as the CLI):\n  " + shlex.join(by_key["hlsgate"].argvs[0]))
    say("\nthe ffmpeg argv hlsgate builds (run in a work directory beside OUTDIR, so outputs are relative):\n  "
        + shlex.join(ours))
    hand = list(by_key["hand-written"].argvs[0])
    say("\nhand-written (timed):\n  " + shlex.join(hand))
    say("\ntoken differences, hlsgate (-) vs hand-written (+):")
    for line in difflib.unified_diff(ours, hand, lineterm="", n=0):
        if not line.startswith(("---", "+++", "@@")):
            say(f"  {line}")
    say("\nnaive (one process per rendition; sequential, then concurrent):")
    for argv in by_key["naive-sequential"].argvs:
        say("  " + shlex.join(argv))


# --- main ---------------------------------------------------------------------------------------

def find_hlsgate() -> str:
    beside = Path(sys.executable).parent / "hlsgate"
    found = str(beside) if beside.is_file() else shutil.which("hlsgate")
    if found is None:
        raise BenchError("the hlsgate command is not installed: run this with .venv/bin/python after `make`")
    return found


def default_timeout(seconds: float, size: Size) -> float:
    """Generous: a 2-core box encodes the 1080p ladder at about real time, so 30x real time plus a minute."""
    pixels = size[0] * size[1] / (1920 * 1080)
    return 60.0 + 30.0 * seconds * max(pixels, 0.1)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=20.0, help="length of the generated clip (default 20)")
    p.add_argument("--size", type=parse_size, default=parse_size(DEFAULT_SIZE),
                   help=f"source size WIDTHxHEIGHT (default {DEFAULT_SIZE})")
    p.add_argument("--repeat", type=int, default=3, help="rounds of a, b, c, c2 (default 3)")
    p.add_argument("--preset", default="veryfast", help="x264 preset for every contender (default veryfast)")
    p.add_argument("--timeout", type=float, help="seconds allowed per contender run (default scales with the clip)")
    p.add_argument("--ffmpeg", help="ffmpeg binary (default: as hlsgate finds it: PATH, then the bundled one)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, metavar="DIR",
                   help="where the cached source and the outputs go (default bench/out, gitignored)")
    p.add_argument("--show-argv", action="store_true", help="print the commands side by side and exit")
    args = p.parse_args(argv)
    if not 1.0 <= args.seconds <= 600.0:
        p.error("--seconds must be between 1 and 600")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def compile_hlsgate() -> None:
    """Byte-compile hlsgate's packages, as any installation has them. Without this, a machine with
    PYTHONDONTWRITEBYTECODE=1 (this one) recompiles the package at every start, in the timed region."""
    for directory in (*transcode.__path__, *hls_server.__path__):
        compileall.compile_dir(directory, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    size: Size = args.size
    try:
        toolchain = find_toolchain(args.ffmpeg)
        hlsgate = find_hlsgate()
        compile_hlsgate()
        root: Path = args.out.resolve()
        if "%" in str(root):
            raise BenchError(f"--out {root} contains '%', which ffmpeg's HLS muxer reads as a pattern")
        source = ensure_source(root, toolchain.ffmpeg, args.seconds, size)
        sizes = rendition_sizes(size)
        ladder_spec = ladder_spec_for(root, size, sizes)
        contenders = build_contenders(root, hlsgate, toolchain.ffmpeg, source, sizes, ladder_spec, args.preset)
        if args.show_argv:
            show_argv(contenders, toolchain, source, ladder_spec, args.preset)
            return 0
        timeout = args.timeout or default_timeout(args.seconds, size)
        say(f"source: {shown(source)} ({size[0]}x{size[1]}, {FRAME_RATE} fps, "
            f"{args.seconds:g} s); renditions {', '.join(f'{w}x{h}' for w, h in sizes)}; preset {args.preset}")
        say(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
            f"{toolchain.describe()}")
        say(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        samples: dict[str, list[Sample]] = {c.key: [] for c in contenders}
        for round_no in range(1, args.repeat + 1):
            # Each round starts one contender later, so none always follows the same neighbour
            # (running right after the heaviest contender costs a few percent on this machine).
            shift = (round_no - 1) % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                sample, messages = run_contender(contender, timeout)
                samples[contender.key].append(sample)
                say(f"round {round_no}/{args.repeat}  {contender.key:<17} {sample.wall:8.2f} s wall "
                    f"{sample.cpu:8.1f} s cpu")
                for message in messages if round_no == 1 else []:
                    say("    stderr: " + message.replace("\n", "\n            "))
            if round_no == 1:
                check_same_work(contenders, toolchain.ffprobe)
        say(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        report(samples, args.seconds)
    except (BenchError, TranscodeError, subprocess.CalledProcessError) as err:
        print(f"transcode_ladder: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ntranscode_ladder: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
