"""What is in the source: duration, the video stream to scale, the audio stream to keep.

ffprobe's JSON when an ffprobe is available; otherwise the stream summary ``ffmpeg -i`` prints,
parsed by ``parse_ffmpeg_banner`` (a pure function, tested on captured banners and on real files).
Both paths give the same ``MediaInfo`` for the same file.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import FFmpegNotFound, InputError, InputNotFound, NoDecodableStream, NotMedia
from .toolchain import Toolchain

PROBE_TIMEOUT_SECONDS = 60
PROBE_ANALYZE_ARGS = ("-analyzeduration", "20M", "-probesize", "20M")


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    width: int
    """Display width: storage width corrected by the sample aspect ratio, after rotation."""
    height: int
    fps: float | None


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    channels: int | None
    sample_rate: int | None


@dataclass(frozen=True)
class MediaInfo:
    duration: float | None
    video: VideoStream | None
    audio: AudioStream | None


async def probe(source: Path, toolchain: Toolchain) -> MediaInfo:
    """Describe ``source`` or raise an InputError that says why it cannot be used."""
    check_readable(source)
    if toolchain.ffprobe is not None:
        argv = [toolchain.ffprobe, "-v", "error", *PROBE_ANALYZE_ARGS, "-print_format", "json",
                "-show_format", "-show_streams", input_url(source)]
        code, out, err = await _run(argv)
        if code != 0:
            raise NotMedia(f"{source} is not media ffmpeg can read: {_last_line(err)}")
        info = parse_ffprobe_json(json.loads(out))
    else:
        argv = [toolchain.ffmpeg, "-hide_banner", "-nostdin", *PROBE_ANALYZE_ARGS, "-i", input_url(source)]
        _, _, err = await _run(argv)
        if "Input #0" not in err:
            raise NotMedia(f"{source} is not media ffmpeg can read: {_last_line(err)}")
        info = parse_ffmpeg_banner(err)
    if info.video is None and info.audio is None:
        raise NoDecodableStream(f"{source} holds no audio or video stream to transcode")
    return info


def input_url(source: Path) -> str:
    """An absolute ``file:`` URL, so a name like ``concat:x`` or ``http:x`` is never read as a protocol."""
    return f"file:{source.absolute()}"


def check_readable(source: Path) -> None:
    if not source.exists():
        raise InputNotFound(f"input not found: {source}")
    if source.is_dir():
        raise InputError(f"input is a directory, not a media file: {source}")
    if not source.is_file():  # a FIFO or a device would block or never end: VOD input is a file
        raise InputError(f"input is not a regular file: {source}")
    try:
        with source.open("rb") as f:
            f.read(1)
    except OSError as err:
        raise InputError(f"cannot read input {source}: {err.strerror}") from err


async def _run(argv: list[str]) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise FFmpegNotFound(f"cannot run {argv[0]}: {err.strerror}") from err
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT_SECONDS)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise NotMedia(f"probing took longer than {PROBE_TIMEOUT_SECONDS} s; is the input readable?") from exc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no diagnostic from ffmpeg"


# --- ffprobe JSON -------------------------------------------------------------------------------

def parse_ffprobe_json(doc: dict[str, Any]) -> MediaInfo:
    video: VideoStream | None = None
    audio: AudioStream | None = None
    for st in doc.get("streams", []):
        kind = st.get("codec_type")
        if kind == "video" and video is None and not st.get("disposition", {}).get("attached_pic"):
            width, height = int(st.get("width") or 0), int(st.get("height") or 0)
            if width and height:
                video = VideoStream(
                    index=int(st["index"]), codec=str(st.get("codec_name", "unknown")),
                    **_display_size(width, height, _ratio(st.get("sample_aspect_ratio")), _rotation(st)),
                    fps=_rate(st.get("avg_frame_rate")) or _rate(st.get("r_frame_rate")))
        elif kind == "audio" and audio is None:
            audio = AudioStream(
                index=int(st["index"]), codec=str(st.get("codec_name", "unknown")),
                channels=_int_or_none(st.get("channels")), sample_rate=_int_or_none(st.get("sample_rate")))
    return MediaInfo(duration=_positive_float(doc.get("format", {}).get("duration")), video=video, audio=audio)


def _rotation(stream: dict[str, Any]) -> float:
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return float(side["rotation"])
    return float(stream.get("tags", {}).get("rotate", 0) or 0)


def _ratio(text: str | None) -> Fraction:
    if text and ":" in text:
        num, den = text.split(":", 1)
        if num.isdigit() and den.isdigit() and int(num) and int(den):
            return Fraction(int(num), int(den))
    return Fraction(1)


def _rate(text: str | None) -> float | None:
    if not text or "/" not in text:
        return None
    num, den = text.split("/", 1)
    try:
        value = float(num) / float(den)
    except (ValueError, ZeroDivisionError):
        return None
    return value if 0 < value < 1000 else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _positive_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and math.isfinite(number) else None


def _display_size(width: int, height: int, sar: Fraction, rotation: float) -> dict[str, int]:
    """Storage size -> the size a player shows: square pixels, then rotation applied."""
    if sar != 1:
        width = round(width * sar)
    if round(abs(rotation)) % 180 == 90:
        width, height = height, width
    return {"width": width, "height": height}


# --- ffmpeg -i banner (no ffprobe) -------------------------------------------------------------

_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM_RE = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_SIZE_RE = re.compile(r",\s(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_SAR_RE = re.compile(r"\[SAR (\d+):(\d+) DAR")
_FPS_RE = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)")
_HZ_RE = re.compile(r"(\d+) Hz")
_CHANNELS_RE = re.compile(r"Hz, ([^,]+)")
_ROTATION_RE = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
                    "6.1": 7, "7.1": 8}


def parse_ffmpeg_banner(text: str) -> MediaInfo:
    """Parse the ``Input #0`` part of ``ffmpeg -i`` stderr into a MediaInfo."""
    duration: float | None = None
    video: VideoStream | None = None
    audio: AudioStream | None = None
    current_video_index: int | None = None
    rotation = 0.0
    stored: _StoredVideo | None = None
    for line in text.splitlines():
        if line.startswith(("Input #1", "Output #0", "Stream mapping:")):
            break
        if (match := _DURATION_RE.search(line)) is not None:
            h, m, s = match.groups()
            duration = _positive_float(int(h) * 3600 + int(m) * 60 + float(s))
            continue
        if (match := _STREAM_RE.match(line)) is not None:
            index, kind, details = int(match.group(1)), match.group(2), match.group(3)
            current_video_index = None
            codec = details.split(maxsplit=1)[0].rstrip(",") if details else "unknown"
            if kind == "Video" and stored is None and "(attached pic)" not in details:
                size = _SIZE_RE.search(details)
                if size is not None:
                    sar = _SAR_RE.search(details)
                    stored = _StoredVideo(index, codec, int(size.group(1)), int(size.group(2)),
                                          _ratio(f"{sar.group(1)}:{sar.group(2)}") if sar else Fraction(1),
                                          _banner_fps(details))
                    current_video_index = index
            elif kind == "Audio" and audio is None:
                hz = _HZ_RE.search(details)
                layout = _CHANNELS_RE.search(details)
                audio = AudioStream(index=index, codec=codec,
                                    channels=_layout_channels(layout.group(1)) if layout else None,
                                    sample_rate=int(hz.group(1)) if hz else None)
            continue
        if current_video_index is not None and (match := _ROTATION_RE.search(line)) is not None:
            rotation = float(match.group(1))
    if stored is not None:
        video = VideoStream(index=stored.index, codec=stored.codec, fps=stored.fps,
                            **_display_size(stored.width, stored.height, stored.sar, rotation))
    return MediaInfo(duration=duration, video=video, audio=audio)


@dataclass(frozen=True)
class _StoredVideo:
    """A video stream line as stored in the file, before SAR and rotation are applied."""
    index: int
    codec: str
    width: int
    height: int
    sar: Fraction
    fps: float | None


def _banner_fps(details: str) -> float | None:
    found = {unit: float(value) * (1000 if k else 1) for value, k, unit in _FPS_RE.findall(details)}
    value = found.get("fps") or found.get("tbr")
    return value if value and value < 1000 else None


def _layout_channels(layout: str) -> int | None:
    layout = layout.strip()
    base = layout.split("(", 1)[0]
    if base in _LAYOUT_CHANNELS:
        return _LAYOUT_CHANNELS[base]
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else None
