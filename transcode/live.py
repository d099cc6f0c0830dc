"""Build the one ffmpeg argv that encodes a live source into the ladder. Pure: no I/O, tested against exact lists.

The ladder, the filter graph and the encoder settings are the VOD builder's (``command.py``): decode once,
``split``, scale and encode each rendition, keyframes forced on every segment boundary and scene cuts off, so
every rendition cuts at the same instants. What changes for live:

- the input: a file is read at its own pace (``-re``, ``-stream_loop -1`` with ``--loop``), a lavfi graph too;
  any other ffmpeg input (``rtmp://``, ``srt://``, a device) is live already and is read as it comes;
- the playlists: a sliding window (``-hls_list_size``, or enough segments for a DVR window), with
  ``EXT-X-PROGRAM-DATE-TIME``, independent segments and old segments deleted (an HTTP ``DELETE`` when the
  output is the origin's ingest);
- the output: the origin's ingest over HTTP ``PUT`` with the publish token in an ``Authorization`` header, or a
  stream folder in a local media root (each playlist written to a temporary file and renamed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hls_server.core.names import INIT_SEGMENT, MASTER_PLAYLIST, MEDIA_PLAYLIST, SEGMENT_STEM, is_id

from .command import EncodeOptions, _num, ladder_args
from .errors import TranscodeError
from .ladder import Rendition
from .probe import MediaInfo

DEFAULT_LIVE_SEGMENT_SECONDS = 2.0
DEFAULT_LIST_SIZE = 6
MIN_LIST_SIZE = 3
"""RFC 8216 6.2.2: a live playlist should hold at least three target durations."""
MAX_DVR_SECONDS = 24 * 3600.0
DEFAULT_LIVE_SIZE = (1280, 720)
"""The size of the built-in test source (``lavfi:``) unless ``--size`` says otherwise."""
LIVE_TEST_RATE = 30
HTTP_TIMEOUT_SECONDS = 10
"""ffmpeg gives up on a PUT after this long without progress (a server that accepts and hangs), then exits."""
REDACTED = "[redacted]"
INGEST_PREFIX = "ingest"

SourceKind = Literal["file", "lavfi", "url"]
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_AUTHORIZATION_RE = re.compile(r"(Authorization:\s*\S+\s+)[^\s\\]+", re.IGNORECASE)
_TOKEN_QUERY_RE = re.compile(r"(token=)[^&\s'\"]+", re.IGNORECASE)


@dataclass(frozen=True)
class LiveSource:
    """What ``hlsgate publish SRC`` reads: a file, a lavfi graph, or any other ffmpeg input (URL or device)."""
    kind: SourceKind
    location: str
    """An absolute path, a lavfi graph, or the URL/device as given."""
    loop: bool = False
    input_format: str | None = None
    """``-f`` before ``-i`` (a device: ``v4l2``, ``alsa``, ...); lavfi sources have it implicitly."""

    def input_args(self) -> list[str]:
        if self.kind == "file":
            loop = ["-stream_loop", "-1"] if self.loop else []
            return ["-re", *loop, "-i", f"file:{self.location}"]
        if self.kind == "lavfi":
            return ["-re", "-f", "lavfi", "-i", self.location]
        fmt = ["-f", self.input_format] if self.input_format else []
        return [*fmt, "-i", self.location]

    @property
    def paced(self) -> bool:
        """Read at real-time pace by ffmpeg (``-re``): it would otherwise encode as fast as it can."""
        return self.kind in ("file", "lavfi")


def lavfi_test_graph(width: int, height: int) -> str:
    """The built-in live test source: a moving pattern with a frame counter, and a beeping tone."""
    return (f"testsrc2=size={width}x{height}:rate={LIVE_TEST_RATE}[out0];"
            "sine=frequency=440:beep_factor=4:sample_rate=48000[out1]")


def parse_size(text: str) -> tuple[int, int]:
    match = _SIZE_RE.match(text)
    if match is None or int(match.group(1)) < 16 or int(match.group(2)) < 16:
        raise TranscodeError(f"--size must be WIDTHxHEIGHT, e.g. 1280x720, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_source(text: str, *, loop: bool = False, input_format: str | None = None,
                 size: tuple[int, int] | None = None, cwd: Path | None = None) -> LiveSource:
    """``lavfi:`` (the test source) or ``lavfi:GRAPH``, ``scheme://...``, a device with ``--input-format``, or a
    file path. Pure apart from making a relative path absolute (against ``cwd``)."""
    if text.startswith("lavfi:"):
        graph = text.removeprefix("lavfi:") or lavfi_test_graph(*(size or DEFAULT_LIVE_SIZE))
        kind: SourceKind = "lavfi"
        location = graph
    elif _URL_RE.match(text) or input_format:
        kind, location = "url", text
    else:
        path = Path(text)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        kind, location = "file", str(path)
    if loop and kind != "file":
        raise TranscodeError("--loop applies to a file source only (a lavfi graph or a live URL never ends)")
    return LiveSource(kind, location, loop=loop, input_format=input_format if kind == "url" else None)


@dataclass(frozen=True)
class IngestOutput:
    """The origin's ingest: ``SERVER/ingest/{stream}/{rendition}/...`` written with HTTP PUT."""
    server: str
    stream: str
    token: str | None = field(repr=False)
    """The publish token, or None for an origin with publish auth off."""

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^/?#\s%]+(/[^?#\s%]*)?$", self.server):
            raise TranscodeError(f"--server must be an http(s) URL like http://127.0.0.1:8080, got {self.server!r}")
        if not is_id(self.stream):
            raise TranscodeError(f"stream id {self.stream!r} is not valid: use 1-64 of A-Z a-z 0-9 _ -")
        if self.token is not None and (not self.token or re.search(r"\s", self.token)):
            raise TranscodeError("the publish token is empty or holds white space")

    @property
    def base(self) -> str:
        return f"{self.server.rstrip('/')}/{INGEST_PREFIX}/{self.stream}"


@dataclass(frozen=True)
class LocalOutput:
    """A stream folder in a media root (``MEDIA_ROOT/{stream}``); ffmpeg runs inside it, outputs are relative."""
    directory: Path

    @property
    def stream(self) -> str:
        return self.directory.name


LiveOutput = IngestOutput | LocalOutput


@dataclass(frozen=True)
class LiveOptions:
    encode: EncodeOptions = field(default_factory=lambda: EncodeOptions(segment_seconds=DEFAULT_LIVE_SEGMENT_SECONDS))
    list_size: int = DEFAULT_LIST_SIZE
    dvr_seconds: float | None = None
    """Keep this many seconds in the playlist (instead of ``list_size`` segments)."""

    def __post_init__(self) -> None:
        if self.list_size < MIN_LIST_SIZE:
            raise TranscodeError(f"--list-size must be at least {MIN_LIST_SIZE}, got {self.list_size}")
        if self.dvr_seconds is not None and not (
                MIN_LIST_SIZE * self.encode.segment_seconds <= self.dvr_seconds <= MAX_DVR_SECONDS):
            raise TranscodeError(f"--dvr must be between {MIN_LIST_SIZE * self.encode.segment_seconds:g} s "
                                 f"(three segments) and {MAX_DVR_SECONDS:g} s, got {self.dvr_seconds:g}")

    @property
    def playlist_size(self) -> int:
        """Segments listed in each media playlist."""
        if self.dvr_seconds is None:
            return self.list_size
        return max(MIN_LIST_SIZE, math.ceil(self.dvr_seconds / self.encode.segment_seconds - 1e-9))


def build_live_argv(ffmpeg: str, source: LiveSource, info: MediaInfo, renditions: Sequence[Rendition],
                    options: LiveOptions, output: LiveOutput, *, start_number: int = 0,
                    progress: bool = True) -> list[str]:
    """The full ffmpeg command line for one live run.

    ``start_number``: the first segment's media sequence number. A restart after a lost connection continues
    past the previous run's numbers (so no segment name is reused) and starts its playlists with a
    discontinuity (timestamps restart with the new process).
    """
    # No -nostdin: the way to end a live run is "q" on ffmpeg's stdin (see live_run._interrupt).
    argv = [ffmpeg, "-hide_banner", "-loglevel", "warning"]
    if progress:
        argv += ["-progress", "pipe:1"]
    argv += ["-nostats", *source.input_args()]
    ladder, stream_map = ladder_args(info, renditions, options.encode)
    argv += ladder
    argv += _live_hls_args(options, output, start_number)
    prefix = f"{output.base}/" if isinstance(output, IngestOutput) else ""
    extension = options.encode.segment_extension
    argv += ["-hls_segment_filename", f"{prefix}%v/{SEGMENT_STEM}.{extension}",
             "-var_stream_map", " ".join(stream_map), f"{prefix}%v/{MEDIA_PLAYLIST}"]
    return argv


def _live_hls_args(options: LiveOptions, output: LiveOutput, start_number: int) -> list[str]:
    encode = options.encode
    flags = ["independent_segments", "program_date_time", "delete_segments"]
    if isinstance(output, LocalOutput):
        flags.append("temp_file")  # playlists written to NAME.tmp, then renamed: a reader never sees half of one
    if start_number:
        flags.append("discont_start")
    args = ["-f", "hls", "-hls_time", _num(encode.segment_seconds), "-hls_list_size", str(options.playlist_size),
            "-hls_flags", "+".join(flags)]
    if start_number:
        args += ["-start_number", str(start_number)]
    args += ["-hls_segment_type", "fmp4" if encode.segment_format == "fmp4" else "mpegts"]
    if encode.segment_format == "fmp4":
        args += ["-hls_fmp4_init_filename", INIT_SEGMENT]
    # hlsenc writes the master beside the variants' folder: OUTPUT's directory with its "%v" part removed, so
    # ".../ingest/{stream}/%v/index.m3u8" puts it at ".../ingest/{stream}/master.m3u8".
    args += ["-master_pl_name", MASTER_PLAYLIST]
    if isinstance(output, IngestOutput):
        args += ["-method", "PUT", "-http_persistent", "1", "-timeout", str(HTTP_TIMEOUT_SECONDS)]
        if output.token is not None:
            args += ["-headers", f"Authorization: Bearer {output.token}\r\n"]
    return args


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` (an argv joined for a log, a line of ffmpeg's stderr, an error message) without a token: every
    ``Authorization`` header value, every ``token=`` query value and each of ``secrets`` is replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _AUTHORIZATION_RE.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_QUERY_RE.sub(lambda m: m.group(1) + REDACTED, text)


def redact_argv(argv: Sequence[str], secrets: Sequence[str] = ()) -> list[str]:
    return [redact(arg, secrets) for arg in argv]
