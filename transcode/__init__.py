"""hlsgate's transcoder: one source in, a complete HLS ABR ladder out, published atomically."""

from .api import TranscodeResult, transcode_vod, transcode_vod_async
from .command import DEFAULT_SEGMENT_SECONDS, EncodeOptions, build_argv
from .errors import (
    CorruptInput,
    FFmpegFailed,
    FFmpegNotFound,
    InputError,
    InputNotFound,
    LadderError,
    NoDecodableStream,
    NotMedia,
    OutputError,
    OutputExists,
    TranscodeError,
    TranscodeTimeout,
)
from .ladder import DEFAULT_LADDER, RUNG_TABLE, Rendition, Rung, load_ladder, plan_renditions
from .probe import MediaInfo, probe
from .runner import Progress
from .toolchain import Toolchain, find_toolchain

__all__ = [
    "DEFAULT_LADDER", "DEFAULT_SEGMENT_SECONDS", "RUNG_TABLE", "CorruptInput", "EncodeOptions",
    "FFmpegFailed", "FFmpegNotFound", "InputError", "InputNotFound", "LadderError", "MediaInfo",
    "NoDecodableStream", "NotMedia", "OutputError", "OutputExists", "Progress", "Rendition", "Rung",
    "Toolchain", "TranscodeError", "TranscodeResult", "TranscodeTimeout", "build_argv", "find_toolchain",
    "load_ladder", "plan_renditions", "probe", "transcode_vod", "transcode_vod_async",
]
