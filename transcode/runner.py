"""Run ffmpeg: async subprocess, ``-progress`` parsing, timeout, and the tail of stderr for errors."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import FFmpegFailed, FFmpegNotFound, TranscodeTimeout

STDERR_TAIL_LINES = 15
STDERR_LINE_MAX_CHARS = 400
TERMINATE_GRACE_SECONDS = 5.0
STREAM_LIMIT_BYTES = 1 << 20
DISK_FULL = ("No space left on device", "Disk quota exceeded")
WRITE_FAILURES = (*DISK_FULL, "Input/output error", "Read-only file system")
"""ffmpeg's HLS muxer logs these and still exits 0: a write failure must not pass for success."""


@dataclass(frozen=True)
class Progress:
    out_seconds: float
    """Media time written so far."""
    duration: float | None
    speed: float | None
    """Encoding speed as a multiple of real time, as ffmpeg reports it."""
    elapsed: float
    """Wall-clock seconds since ffmpeg started."""
    done: bool = False

    @property
    def fraction(self) -> float | None:
        if self.done:
            return 1.0
        if not self.duration:
            return None
        return min(1.0, max(0.0, self.out_seconds / self.duration))

    @property
    def eta(self) -> float | None:
        if self.done:
            return 0.0
        if not self.duration or not self.speed or self.speed <= 0:
            return None
        return max(0.0, (self.duration - self.out_seconds) / self.speed)


ProgressCallback = Callable[[Progress], None]


def parse_progress_block(fields: dict[str, str]) -> tuple[float | None, float | None, bool]:
    """One ``-progress`` block (key=value lines up to ``progress=...``) -> (out seconds, speed, done)."""
    out: float | None = None
    raw = fields.get("out_time_us", "")
    if raw.lstrip("-").isdigit():
        out = max(0.0, int(raw) / 1e6)
    speed: float | None = None
    raw_speed = fields.get("speed", "").strip().rstrip("x")
    with contextlib.suppress(ValueError):
        speed = float(raw_speed)
    return out, speed, fields.get("progress") == "end"


async def run_ffmpeg(argv: Sequence[str], *, cwd: Path | None = None, duration: float | None = None,
                     on_progress: ProgressCallback | None = None, timeout: float | None = None) -> None:
    """Run ``argv`` to completion or raise FFmpegFailed (with the stderr tail) / TranscodeTimeout.

    Cancelling the caller (Ctrl-C, SIGTERM) stops ffmpeg before the cancellation propagates.
    """
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=STREAM_LIMIT_BYTES, cwd=cwd)
    except OSError as err:
        raise FFmpegNotFound(f"cannot run {argv[0]}: {err.strerror}") from err
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    async def read_progress(stdout: asyncio.StreamReader) -> None:
        block: dict[str, str] = {}
        async for raw in _lines(stdout):
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            block[key] = value
            if key != "progress":
                continue
            out, speed, done = parse_progress_block(block)
            block = {}
            if on_progress is not None and out is not None:
                on_progress(Progress(out, duration, speed, time.monotonic() - started, done))

    async def read_stderr(stderr: asyncio.StreamReader) -> None:
        async for raw in _lines(stderr):
            line = raw.decode(errors="replace").rstrip()
            if line:
                tail.append(line[:STDERR_LINE_MAX_CHARS])

    if proc.stdout is None or proc.stderr is None:  # cannot happen with PIPE; keeps the types honest
        raise FFmpegFailed("ffmpeg started without its output pipes")
    readers = asyncio.gather(read_progress(proc.stdout), read_stderr(proc.stderr))
    try:
        async with asyncio.timeout(timeout):
            await readers
            returncode = await proc.wait()
    except TimeoutError as err:
        await _stop(proc)
        raise TranscodeTimeout(f"ffmpeg did not finish within {timeout:g} s and was stopped",
                               stderr_tail="\n".join(tail)) from err
    except BaseException:
        readers.cancel()
        await _stop(proc)
        raise
    if returncode != 0 or any(marker in line for line in tail for marker in WRITE_FAILURES):
        raise FFmpegFailed(_describe_exit(returncode, tail), returncode=returncode,
                           stderr_tail="\n".join(tail))


async def _lines(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Lines until EOF; a line longer than the stream limit is replaced by a note, not an exception."""
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # LimitOverrunError: asyncio has already dropped the oversized line
            yield b"(an output line too long to keep was dropped)"
            continue
        if not line:
            return
        yield line


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, a grace period for ffmpeg to close its files, then SIGKILL. Never leaves a zombie."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), TERMINATE_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _describe_exit(returncode: int, tail: deque[str]) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        what = f"ffmpeg was killed by {name}"
    elif returncode > 0:
        what = f"ffmpeg failed (exit status {returncode})"
    else:
        what = "ffmpeg could not write its output"
    telling = [line for line in tail if any(marker in line for marker in WRITE_FAILURES)]
    if any(marker in line for line in telling for marker in DISK_FULL):
        what += " because the output disk is full"
    last = telling[-1] if telling else tail[-1] if tail else ""
    return f"{what}: {last}" if last else what
