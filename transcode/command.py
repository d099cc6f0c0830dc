"""Build the one ffmpeg argv that encodes the whole ladder. Pure: no I/O, tested against exact lists.

Decode once, ``split`` the picture, scale and encode each rendition, and let the HLS muxer write one
media playlist per rendition (``-var_stream_map``). Keyframes are forced on every segment boundary and
scene-cut keyframes are off, so all renditions cut at the same instants and players switch cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hls_server.core.names import INIT_SEGMENT, MEDIA_PLAYLIST, SEGMENT_STEM

from .errors import TranscodeError
from .ladder import Rendition
from .probe import AudioStream, MediaInfo, input_url

SegmentFormat = Literal["ts", "fmp4"]

DEFAULT_SEGMENT_SECONDS = 4.0
MIN_SEGMENT_SECONDS = 1.0
MAX_SEGMENT_SECONDS = 60.0
DEFAULT_PRESET = "veryfast"
DEFAULT_CODEC = "h264"
MAX_MUXING_QUEUE = 4096
"""Packets buffered per output while the slowest encoder catches up (ffmpeg's default is too small
for a ladder of encoders fed from one decoder)."""
MAX_FRAME_RATE = 60.0
"""Faster sources (phone slow motion at 120 or 240 fps) are divided down to this or below: few
players decode more, and every rung would pay for frames nobody sees."""
AAC_SAMPLE_RATES = (44100, 48000)
DEFAULT_AAC_SAMPLE_RATE = 48000

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                "veryslow", "placebo")


@dataclass(frozen=True)
class VideoCodec:
    """How to ask ffmpeg for one output codec. hevc (libx265, 'hvc1' tag) and hardware encoders
    (h264_nvenc, h264_vaapi, ...) slot in here with their own preset names and extra arguments."""
    name: str
    encoder: str
    profile: str | None
    presets: tuple[str, ...]
    extra: tuple[str, ...] = ()


VIDEO_CODECS: dict[str, VideoCodec] = {
    "h264": VideoCodec("h264", "libx264", "high", X264_PRESETS, extra=("-sc_threshold", "0")),
}


@dataclass(frozen=True)
class EncodeOptions:
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    segment_format: SegmentFormat = "ts"
    preset: str = DEFAULT_PRESET
    codec: str = DEFAULT_CODEC

    def __post_init__(self) -> None:
        if not MIN_SEGMENT_SECONDS <= self.segment_seconds <= MAX_SEGMENT_SECONDS:
            raise TranscodeError(f"--segment-seconds must be between {MIN_SEGMENT_SECONDS:g} and "
                                 f"{MAX_SEGMENT_SECONDS:g}, got {self.segment_seconds:g}")
        if self.segment_format not in ("ts", "fmp4"):
            raise TranscodeError(f"--format must be ts or fmp4, got {self.segment_format!r}")
        codec = VIDEO_CODECS.get(self.codec)
        if codec is None:
            raise TranscodeError(f"--codec {self.codec!r} is not supported; choose from {', '.join(VIDEO_CODECS)}")
        if self.preset not in codec.presets:
            raise TranscodeError(f"--preset {self.preset!r} is not a {codec.encoder} preset; "
                                 f"choose from {', '.join(codec.presets)}")

    @property
    def video_codec(self) -> VideoCodec:
        return VIDEO_CODECS[self.codec]

    @property
    def segment_extension(self) -> str:
        return "m4s" if self.segment_format == "fmp4" else "ts"


def _num(value: float) -> str:
    """4.0 -> '4', 2.5 -> '2.5': numbers as a person would type them on the command line."""
    return f"{value:.6g}"


def output_frame_rate(fps: float | None) -> float | None:
    """The source rate, or for a source above MAX_FRAME_RATE that rate divided by the smallest whole
    number that brings it down (240 -> 60, 100 -> 50, 119.88 -> 59.94), keeping the cadence even."""
    if fps is None or fps <= MAX_FRAME_RATE + 0.01:
        return fps
    return fps / math.ceil(fps / MAX_FRAME_RATE - 0.001)


def filter_graph(info: MediaInfo, renditions: Sequence[Rendition]) -> str:
    video = [r for r in renditions if r.has_video]
    if info.video is None or not video:
        return ""
    labels = "".join(f"[s{i}]" for i in range(len(video)))
    rate = output_frame_rate(info.video.fps)
    reduce = f"fps={_num(rate)}," if rate is not None and rate != info.video.fps else ""
    chains = [f"[0:{info.video.index}]{reduce}split={len(video)}{labels}"]
    chains += [f"[s{i}]scale={r.width}:{r.height},setsar=1,format=yuv420p[v{i}]" for i, r in enumerate(video)]
    return ";".join(chains)


def build_argv(ffmpeg: str, source: Path, info: MediaInfo, renditions: Sequence[Rendition],
               options: EncodeOptions, *, progress: bool = True) -> list[str]:
    """The full ffmpeg command line. It runs in the work directory: outputs are ``<rendition>/...``,
    relative, so no part of the user's output path reaches ffmpeg (where ``%`` would be a pattern).
    ``progress``: ask ffmpeg for ``-progress`` reports on stdout (only worth it when someone reads them)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning"]
    if progress:
        argv += ["-progress", "pipe:1"]
    argv += ["-nostats", "-i", input_url(source)]
    ladder, stream_map = ladder_args(info, renditions, options)
    argv += ladder
    argv += _hls_args(options)
    argv += ["-var_stream_map", " ".join(stream_map), f"%v/{MEDIA_PLAYLIST}"]
    return argv


def ladder_args(info: MediaInfo, renditions: Sequence[Rendition],
                options: EncodeOptions) -> tuple[list[str], list[str]]:
    """What the VOD and the live builders share: the filter graph, the maps, the encoders (aligned keyframes)
    and the muxing queue; and each rendition's ``-var_stream_map`` entry (``v:0,a:0,name:720p``)."""
    argv: list[str] = []
    graph = filter_graph(info, renditions)
    if graph:
        argv += ["-filter_complex", graph]
    stream_map: list[str] = []
    for i, r in enumerate(renditions):
        parts = []
        if r.has_video:
            argv += ["-map", f"[v{i}]"]
            parts.append(f"v:{i}")
        if r.has_audio and info.audio is not None:
            argv += ["-map", f"0:{info.audio.index}"]
            parts.append(f"a:{i}")
        stream_map.append(",".join([*parts, f"name:{r.name}"]))
    argv += ["-map_metadata", "-1", "-map_chapters", "-1"]
    if graph:
        argv += _video_args(info, renditions, options)
    if info.audio is not None and any(r.has_audio for r in renditions):
        argv += _audio_args(info.audio, renditions)
    argv += ["-max_muxing_queue_size", str(MAX_MUXING_QUEUE)]
    return argv, stream_map


def _video_args(info: MediaInfo, renditions: Sequence[Rendition], options: EncodeOptions) -> list[str]:
    codec = options.video_codec
    args = ["-c:v", codec.encoder, "-preset", options.preset]
    if codec.profile:
        args += ["-profile:v", codec.profile]
    args += list(codec.extra)
    fps = output_frame_rate(info.video.fps) if info.video else None
    if fps:
        gop = max(1, round(fps * options.segment_seconds))
        args += ["-g", str(gop), "-keyint_min", str(gop)]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{_num(options.segment_seconds)})"]
    for i, r in enumerate(x for x in renditions if x.has_video):
        args += [f"-b:v:{i}", str(r.video_bitrate), f"-maxrate:v:{i}", str(r.maxrate),
                 f"-bufsize:v:{i}", str(r.bufsize)]
    return args


def _audio_args(audio: AudioStream, renditions: Sequence[Rendition]) -> list[str]:
    channels = 1 if audio.channels == 1 else 2
    rate = audio.sample_rate if audio.sample_rate in AAC_SAMPLE_RATES else DEFAULT_AAC_SAMPLE_RATE
    args = ["-c:a", "aac", "-ac", str(channels), "-ar", str(rate)]
    for i, r in enumerate(x for x in renditions if x.has_audio):
        args += [f"-b:a:{i}", str(r.audio_bitrate)]
    return args


def _hls_args(options: EncodeOptions) -> list[str]:
    args = ["-f", "hls", "-hls_time", _num(options.segment_seconds), "-hls_playlist_type", "vod",
            "-hls_flags", "independent_segments",
            "-hls_segment_type", "fmp4" if options.segment_format == "fmp4" else "mpegts"]
    if options.segment_format == "fmp4":
        args += ["-hls_fmp4_init_filename", INIT_SEGMENT]
    return [*args, "-hls_segment_filename", f"%v/{SEGMENT_STEM}.{options.segment_extension}"]
