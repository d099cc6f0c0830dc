"""Run a live publish: probe the source, check the origin, run ffmpeg, restart it when the origin goes away.

ffmpeg's HLS muxer (5.1) does not look at the status of its PUT answers: a 401 or 403 from the origin passes
without a word. So before each ffmpeg run, and every ``CHECK_INTERVAL_SECONDS`` while it runs, hlsgate asks the
ingest itself with the same token (``DELETE`` of a file name ffmpeg never writes: 204 when the token may publish
the stream) and turns a refusal into words. A lost connection is something ffmpeg does notice: it exits, and the
supervisor starts it again with a capped exponential backoff, the same token (the origin's one-publisher rule is
keyed by its ``jti``) and segment numbers that continue past the last run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import shlex
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from hls_server.core.names import MEDIA_PLAYLIST

from .errors import (
    FFmpegFailed,
    FFmpegNotFound,
    NoDecodableStream,
    NotMedia,
    OutputError,
    OutputExists,
    PublisherConflict,
    PublishError,
    PublishRefused,
    ServerUnreachable,
)
from .ladder import Rendition
from .live import IngestOutput, LiveOptions, LiveOutput, LiveSource, LocalOutput, build_live_argv, redact
from .probe import MediaInfo, check_readable, parse_ffmpeg_banner, parse_ffprobe_json
from .runner import STDERR_LINE_MAX_CHARS, STDERR_TAIL_LINES, STREAM_LIMIT_BYTES, WRITE_FAILURES, _lines, _stop
from .toolchain import Toolchain

log = logging.getLogger("hlsgate.publish")

PROBE_LIVE_ARGS = ("-analyzeduration", "2M", "-probesize", "4M")
"""Two seconds of a live source are enough to know its streams; a file's headers say it at once."""
PROBE_LIVE_TIMEOUT_SECONDS = 20.0
PREFLIGHT_NAME = "hlsgate_preflight.ts"
"""The file the ingest check deletes: a valid segment name that no ffmpeg run writes (DELETE of an absent file
is 204)."""
CHECK_INTERVAL_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 10.0
STOP_GRACE_SECONDS = 10.0
"""After "q", ffmpeg writes its last segment and the final playlists (EXT-X-ENDLIST); then SIGTERM, SIGKILL."""
VOD_MARKER = "#EXT-X-PLAYLIST-TYPE:VOD"
SIGNALLED_EXIT = 255
"""ffmpeg's exit status when a signal (SIGINT, SIGTERM) ended it: it still wrote its trailers."""


@dataclass(frozen=True)
class ReconnectPolicy:
    initial: float = 1.0
    maximum: float = 30.0
    window: float = 300.0
    """Give up after this many seconds without a run that published anything."""

    def delay(self, attempt: int) -> float:
        """1, 2, 4, 8, 16, 30, 30 ... seconds for attempts 1, 2, 3 ..."""
        return float(min(self.maximum, self.initial * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class LiveStatus:
    """One ``-progress`` report of the running ffmpeg, plus what the supervisor knows."""
    out_seconds: float
    fps: float | None
    speed: float | None
    dropped: int
    duplicated: int
    bitrate: int
    """The ladder's target: the sum of every rendition's video and audio bitrates, bits per second."""
    restarts: int


StatusCallback = Callable[[LiveStatus], None]
NoticeCallback = Callable[[str], None]


def ladder_bitrate(renditions: Sequence[Rendition]) -> int:
    return sum((r.video_bitrate if r.has_video else 0) + (r.audio_bitrate if r.has_audio else 0) for r in renditions)


def parse_live_progress(fields: dict[str, str]) -> tuple[float | None, float | None, float | None, int, int]:
    """One ``-progress`` block -> (out seconds, fps, speed, dropped frames, duplicated frames)."""
    out: float | None = None
    raw = fields.get("out_time_us", "")
    if raw.lstrip("-").isdigit():
        out = max(0.0, int(raw) / 1e6)

    def number(key: str) -> float | None:
        try:
            value = float(fields.get(key, "").strip().rstrip("x"))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def count(key: str) -> int:
        value = fields.get(key, "")
        return int(value) if value.isdigit() else 0

    return out, number("fps"), number("speed"), count("drop_frames"), count("dup_frames")


def describe_status(stream: str, s: LiveStatus) -> str:
    """'live demo: 0:01:23 on air, 30.0 fps, 1.00x, ladder 4.35 Mb/s, dropped 0, restarts 0'."""
    whole = int(s.out_seconds)
    clock = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    parts = [f"{clock} on air"]
    if s.fps is not None:
        parts.append(f"{s.fps:.1f} fps")
    parts.append(f"{s.speed:.2f}x" if s.speed is not None else "speed --")
    parts.append(f"ladder {s.bitrate / 1e6:.2f} Mb/s")
    parts.append(f"dropped {s.dropped}")
    if s.duplicated:
        parts.append(f"duplicated {s.duplicated}")
    parts.append(f"restarts {s.restarts}")
    return f"live {stream}: " + ", ".join(parts)


# --- the source ------------------------------------------------------------------------------------

async def probe_live(source: LiveSource, toolchain: Toolchain, *,
                     timeout: float = PROBE_LIVE_TIMEOUT_SECONDS) -> MediaInfo:
    """The streams of a live source (a few seconds at most), or an InputError that says why it cannot be used."""
    shown = redact(source.location)
    if source.kind == "file":
        check_readable(Path(source.location))
    fmt = ["-f", "lavfi"] if source.kind == "lavfi" else ["-f", source.input_format] if source.input_format else []
    url = f"file:{source.location}" if source.kind == "file" else source.location
    if toolchain.ffprobe is not None:
        argv = [toolchain.ffprobe, "-v", "error", *PROBE_LIVE_ARGS, "-print_format", "json", "-show_format",
                "-show_streams", *fmt, url]
    else:
        argv = [toolchain.ffmpeg, "-hide_banner", "-nostdin", *PROBE_LIVE_ARGS, *fmt, "-i", url]
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise FFmpegNotFound(f"cannot run {argv[0]}: {err.strerror}") from err
    try:
        out, raw_err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        raise NotMedia(f"nothing readable came from {shown} within {timeout:g} s: is the source live?") from exc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = redact(raw_err.decode(errors="replace"))
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no diagnostic")
    if toolchain.ffprobe is not None:
        if proc.returncode != 0:
            raise NotMedia(f"{shown} is not media ffmpeg can read: {last}")
        info = parse_ffprobe_json(json.loads(out))
    else:
        if "Input #0" not in stderr:
            raise NotMedia(f"{shown} is not media ffmpeg can read: {last}")
        info = parse_ffmpeg_banner(stderr)
    if info.video is None and info.audio is None:
        raise NoDecodableStream(f"{shown} holds no audio or video stream to transcode")
    return info


# --- the origin ------------------------------------------------------------------------------------

class IngestCheck:
    """Asks the origin whether this token may publish this stream, the way ffmpeg's writes will be asked."""

    def __init__(self, output: IngestOutput, session: aiohttp.ClientSession) -> None:
        self.output = output
        self.session = session

    async def __call__(self) -> None:
        out = self.output
        url = f"{out.base}/{PREFLIGHT_NAME}"
        headers = {"Authorization": f"Bearer {out.token}"} if out.token is not None else {}
        try:
            async with self.session.delete(url, headers=headers,
                                           timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)) as resp:
                status = resp.status
                body = await resp.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise ServerUnreachable(f"cannot reach {out.server}: {redact(str(err) or type(err).__name__)}") from err
        if status < 300:
            return
        reason = redact(_reason(body) or f"HTTP {status}", [out.token or ""])
        if status in (401, 403):
            raise PublishRefused(f"the server refused the publish token: {reason} (HTTP {status})")
        if status == 409:
            raise PublisherConflict(f"another publisher is live on stream {out.stream!r}: {reason}")
        if status == 404:
            raise PublishError(f"{out.server} has no ingest for {out.base}/... (HTTP 404): is it an hlsgate origin "
                               "with ingest?")
        if status == 503 and "not_configured" in body:
            raise PublishError(f"the server cannot check publish tokens: {reason}")
        if status >= 500:
            raise ServerUnreachable(f"{out.server} answered HTTP {status}: {reason}")
        raise PublishError(f"the server refused the publish: {reason} (HTTP {status})")


    async def end(self) -> str | None:
        """Tell the origin the stream is over (``POST .../end``: EXT-X-ENDLIST on every playlist at once), since
        ffmpeg's own last playlists can be lost; None when it did, else why not (the origin's live timer will)."""
        out = self.output
        headers = {"Authorization": f"Bearer {out.token}"} if out.token is not None else {}
        try:
            async with self.session.post(f"{out.base}/end", headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)) as resp:
                if resp.status < 300:
                    return None
                body = await resp.text(errors="replace")
                return redact(_reason(body) or f"HTTP {resp.status}", [out.token or ""])
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            return redact(str(err) or type(err).__name__)


def _reason(body: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    description, code = doc.get("error_description"), doc.get("error")
    text = ": ".join(str(x) for x in (code, description) if x)
    return text[:STDERR_LINE_MAX_CHARS]


def prepare_local(directory: Path) -> None:
    """Create the stream folder, or refuse one that holds a VOD stream (a live run would overwrite its master
    playlist and leave its segments beside the live ones)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        playlists = [directory / MEDIA_PLAYLIST, *directory.glob(f"*/{MEDIA_PLAYLIST}")]
        vod = any(p.is_file() and VOD_MARKER in p.read_text(encoding="utf-8", errors="replace") for p in playlists)
    except OSError as err:
        raise OutputError(f"cannot write to {directory}: {err.strerror or err}") from err
    if vod:
        raise OutputExists(f"{directory} holds a VOD stream: publish live under another --stream, or remove it")


# --- one ffmpeg run --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunOutcome:
    returncode: int
    out_seconds: float
    tail: tuple[str, ...]
    stopped: bool
    """Asked to stop (Ctrl-C, SIGTERM), or ended by a signal: ffmpeg wrote its final playlists."""

    @property
    def clean(self) -> bool:
        failed_write = any(marker in line for line in self.tail for marker in WRITE_FAILURES)
        return (self.stopped or self.returncode in (0, SIGNALLED_EXIT)) and not failed_write


async def run_live_ffmpeg(argv: Sequence[str], *, cwd: Path | None, stop: asyncio.Event,
                          on_progress: Callable[[float, float | None, float | None, int, int], None] | None = None,
                          watchdog: Callable[[], Awaitable[None]] | None = None,
                          secrets: Sequence[str] = ()) -> RunOutcome:
    """Run one ffmpeg until it exits or ``stop`` is set (then "q": it closes its segment and writes its
    playlists with EXT-X-ENDLIST). ``watchdog`` runs every CHECK_INTERVAL_SECONDS; what it raises stops ffmpeg and
    is raised here. Every stderr line is redacted before it is kept."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=STREAM_LIMIT_BYTES, cwd=cwd,
            # Its own session: a terminal's Ctrl-C (sent to the whole foreground group) reaches hlsgate only, which
            # then types "q" on its stdin. A second SIGINT would make ffmpeg exit at once, without its playlists.
            start_new_session=True)
    except OSError as err:
        raise FFmpegNotFound(f"cannot run {argv[0]}: {err.strerror}") from err
    if proc.stdout is None or proc.stderr is None:
        raise FFmpegFailed("ffmpeg started without its output pipes")
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    out_seconds = 0.0

    async def read_progress(stdout: asyncio.StreamReader) -> None:
        nonlocal out_seconds
        block: dict[str, str] = {}
        async for raw in _lines(stdout):
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            block[key] = value
            if key != "progress":
                continue
            out, fps, speed, dropped, duplicated = parse_live_progress(block)
            block = {}
            if out is not None:
                out_seconds = max(out_seconds, out)
                if on_progress is not None:
                    on_progress(out, fps, speed, dropped, duplicated)

    async def read_stderr(stderr: asyncio.StreamReader) -> None:
        async for raw in _lines(stderr):
            line = redact(raw.decode(errors="replace").rstrip(), secrets)
            if line:
                tail.append(line[:STDERR_LINE_MAX_CHARS])
                log.debug("ffmpeg: %s", line)

    async def watch() -> None:
        if watchdog is None:
            await asyncio.Event().wait()
            return
        while True:
            await asyncio.sleep(CHECK_INTERVAL_SECONDS)
            with contextlib.suppress(ServerUnreachable):  # ffmpeg notices that itself, and exits
                await watchdog()

    readers = asyncio.gather(read_progress(proc.stdout), read_stderr(proc.stderr))
    exited = asyncio.ensure_future(proc.wait())
    stopping = asyncio.ensure_future(stop.wait())
    watching = asyncio.ensure_future(watch())
    stopped = False
    try:
        done, _ = await asyncio.wait({exited, stopping, watching}, return_when=asyncio.FIRST_COMPLETED)
        if watching in done:
            await _stop(proc)
            watching.result()  # raises what the watchdog found (a refused token)
        if stopping in done and exited not in done:
            stopped = True
            await _interrupt(proc)
        returncode = await exited
        log.debug("ffmpeg exited with status %s%s", returncode, " after q" if stopped else "")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(readers, STOP_GRACE_SECONDS)
    except BaseException:
        readers.cancel()
        await _stop(proc)
        raise
    finally:
        for task in (stopping, watching, exited):
            task.cancel()
    return RunOutcome(returncode, out_seconds, tuple(tail), stopped or returncode == SIGNALLED_EXIT)


async def _interrupt(proc: asyncio.subprocess.Process) -> None:
    """"q" on ffmpeg's stdin (its clean end, as a person at its terminal would type), then SIGTERM and SIGKILL if
    it does not finish in time. Not SIGINT: over HTTP, ffmpeg 5.1 ended by SIGINT now and then exits without
    sending its last segment and final playlists."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):  # ffmpeg already gone: a broken pipe
            proc.stdin.write(b"q")
            await proc.stdin.drain()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_SECONDS)
    except TimeoutError:
        await _stop(proc)


# --- the supervisor --------------------------------------------------------------------------------

@dataclass
class LivePublisher:
    """Everything one ``hlsgate publish`` run needs; ``run()`` returns when the publish ends cleanly."""
    toolchain: Toolchain
    source: LiveSource
    info: MediaInfo
    renditions: tuple[Rendition, ...]
    options: LiveOptions
    output: LiveOutput
    on_status: StatusCallback | None = None
    on_notice: NoticeCallback | None = None
    policy: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    restarts: int = 0

    @property
    def secrets(self) -> list[str]:
        return [self.output.token] if isinstance(self.output, IngestOutput) and self.output.token else []

    def _notice(self, text: str) -> None:
        log.info("%s", text)
        if self.on_notice is not None:
            self.on_notice(redact(text, self.secrets))

    async def run(self, stop: asyncio.Event) -> int:
        """Publish until the source ends or ``stop`` is set; returns how many times ffmpeg was restarted."""
        if isinstance(self.output, LocalOutput):
            await asyncio.to_thread(prepare_local, self.output.directory)
            outcome = await self._run_once(0, None, stop)
            if not outcome.clean:
                raise self._failure(outcome)
            return 0
        async with aiohttp.ClientSession() as session:
            return await self._run_ingest(self.output, IngestCheck(self.output, session), stop)

    async def _run_ingest(self, output: IngestOutput, check: IngestCheck, stop: asyncio.Event) -> int:
        await check()  # a refused token, a conflict or a server that is not there: said now, before any encode
        start_number = 0
        attempt = 0
        last_good = time.monotonic()
        while True:
            outcome = await self._run_once(start_number, check, stop)
            if outcome.clean:
                await self._end(check)
                return self.restarts
            if outcome.out_seconds > 0:
                last_good, attempt = time.monotonic(), 0
            # The origin says whether it was the origin: refused tokens and conflicts are final, an unreachable
            # server is waited for; a reachable one that saw nothing from a fresh start means the source failed.
            try:
                await check()
            except ServerUnreachable:
                pass
            else:
                if outcome.out_seconds == 0 and self.restarts == 0:
                    raise self._failure(outcome)
            segments = math.floor(outcome.out_seconds / self.options.encode.segment_seconds) + 1
            start_number += segments + 1  # never reuse a name: the last one may be half written
            while True:
                attempt += 1
                if time.monotonic() - last_good > self.policy.window:
                    raise ServerUnreachable(
                        f"gave up after {self.policy.window:g} s without publishing to {output.server}: "
                        f"{self._last_words(outcome)}")
                delay = self.policy.delay(attempt)
                self._notice(f"lost the connection to {output.server} ({self._last_words(outcome)}); "
                             f"restarting ffmpeg in {delay:g} s (attempt {attempt})")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    await self._end(check)
                    return self.restarts
                try:
                    await check()
                except ServerUnreachable:
                    continue
                break
            self.restarts += 1

    async def _end(self, check: IngestCheck) -> None:
        why = await check.end()
        if why is not None:
            self._notice(f"could not end the stream at {check.output.server} ({why}); it ends by itself once the "
                         "origin hears nothing for live.end_after target durations")

    async def _run_once(self, start_number: int, check: IngestCheck | None, stop: asyncio.Event) -> RunOutcome:
        argv = build_live_argv(self.toolchain.ffmpeg, self.source, self.info, self.renditions, self.options,
                               self.output, start_number=start_number)
        cwd = self.output.directory if isinstance(self.output, LocalOutput) else None
        log.debug("running%s: %s", f" in {cwd}" if cwd else "", redact(shlex.join(argv), self.secrets))
        bitrate = ladder_bitrate(self.renditions)
        announced = start_number == 0

        def progress(out: float, fps: float | None, speed: float | None, dropped: int, duplicated: int) -> None:
            nonlocal announced
            if not announced and out > 0:
                announced = True
                self._notice(f"publishing again to {self.output.server} (restart {self.restarts})"
                             if isinstance(self.output, IngestOutput) else "publishing again")
            if self.on_status is not None:
                self.on_status(LiveStatus(out, fps, speed, dropped, duplicated, bitrate, self.restarts))

        return await run_live_ffmpeg(argv, cwd=cwd, stop=stop, on_progress=progress, watchdog=check,
                                     secrets=self.secrets)

    def _last_words(self, outcome: RunOutcome) -> str:
        return outcome.tail[-1] if outcome.tail else f"ffmpeg exited with status {outcome.returncode}"

    def _failure(self, outcome: RunOutcome) -> FFmpegFailed:
        what = (f"ffmpeg failed (exit status {outcome.returncode})" if outcome.returncode
                else "ffmpeg could not write its output")
        return FFmpegFailed(f"{what}: {self._last_words(outcome)}", returncode=outcome.returncode,
                            stderr_tail="\n".join(outcome.tail))
