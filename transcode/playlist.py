"""Read back what ffmpeg wrote, measure it, and write the master playlist.

BANDWIDTH is the peak segment bit rate and AVERAGE-BANDWIDTH the mean over the whole rendition
(RFC 8216 section 4.3.4.2), both measured from the segments on disk rather than guessed from
encoder settings. CODECS comes from the bitstream (``bitstream.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from hls_server.core.names import MASTER_PLAYLIST, MEDIA_PLAYLIST

from .bitstream import AAC_LC, h264_codec_from_mp4, h264_codec_from_ts
from .command import SegmentFormat
from .errors import TranscodeError
from .ladder import Rendition


@dataclass(frozen=True)
class RenditionResult:
    name: str
    width: int
    height: int
    frame_rate: float | None
    bandwidth: int
    average_bandwidth: int
    codecs: tuple[str, ...]
    segments: int
    duration: float
    version: int

    @property
    def uri(self) -> str:
        return f"{self.name}/{MEDIA_PLAYLIST}"


def measure_rendition(workdir: Path, rendition: Rendition, frame_rate: float | None,
                      segment_format: SegmentFormat) -> RenditionResult:
    folder = workdir / rendition.name
    playlist_path = folder / MEDIA_PLAYLIST
    if not playlist_path.is_file():
        raise TranscodeError(f"ffmpeg finished but wrote no playlist for rendition {rendition.name}")
    playlist = m3u8.loads(playlist_path.read_text(encoding="utf-8"))
    segments = list(playlist.segments)
    if not segments or not playlist.is_endlist:
        raise TranscodeError(f"rendition {rendition.name} is incomplete: no segments or no EXT-X-ENDLIST")
    peak = 0.0
    total_bits = 0
    total_seconds = 0.0
    for segment in segments:
        bits = (folder / segment.uri).stat().st_size * 8
        total_bits += bits
        total_seconds += segment.duration
        if segment.duration > 0:
            peak = max(peak, bits / segment.duration)
    codecs: list[str] = []
    if rendition.has_video:
        codecs.append(_video_codec(folder, playlist, segments[0].uri, segment_format))
    if rendition.has_audio:
        codecs.append(AAC_LC)
    average = total_bits / total_seconds if total_seconds > 0 else peak
    return RenditionResult(
        name=rendition.name, width=rendition.width, height=rendition.height,
        frame_rate=frame_rate if rendition.has_video else None,
        bandwidth=max(1, round(peak)), average_bandwidth=max(1, round(average)), codecs=tuple(codecs),
        segments=len(segments), duration=total_seconds, version=int(playlist.version or 3))


def _video_codec(folder: Path, playlist: m3u8.M3U8, first_uri: str, segment_format: SegmentFormat) -> str:
    if segment_format == "fmp4":
        init = playlist.segment_map[0].uri if playlist.segment_map else None
        found = h264_codec_from_mp4((folder / init).read_bytes()) if init else None
    else:
        with (folder / first_uri).open("rb") as f:
            found = h264_codec_from_ts(f.read())
    if found is None:
        raise TranscodeError(f"no H.264 parameter set found in rendition {folder.name}")
    return found


def master_playlist(results: Sequence[RenditionResult]) -> str:
    """The multivariant playlist, renditions in ladder order (highest first)."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{max(r.version for r in results)}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in results:
        attrs = [f"BANDWIDTH={r.bandwidth}", f"AVERAGE-BANDWIDTH={r.average_bandwidth}"]
        if r.width and r.height:
            attrs.append(f"RESOLUTION={r.width}x{r.height}")
        if r.frame_rate:
            attrs.append(f"FRAME-RATE={r.frame_rate:.3f}")
        attrs.append(f'CODECS="{",".join(r.codecs)}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), r.uri]
    return "\n".join(lines) + "\n"


def write_master(workdir: Path, results: Sequence[RenditionResult]) -> Path:
    path = workdir / MASTER_PLAYLIST
    path.write_text(master_playlist(results), encoding="utf-8")
    return path
