"""What is published: each stream's renditions, read from its master playlist.

Used by the REST API's stream list and by player configs. Reading is blocking file I/O: callers run these
functions in an executor, never on the event loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import m3u8

from .errors import NotFound
from .media import MediaRoot
from .names import MASTER_PLAYLIST, is_id


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str  # the rendition's folder (``720p``), or the playlist's stem when the variant sits beside the master
    uri: str  # relative to the master playlist
    bandwidth: int | None
    average_bandwidth: int | None
    width: int | None
    height: int | None
    frame_rate: float | None
    codecs: str | None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    id: str
    renditions: tuple[Rendition, ...]  # in the master playlist's order
    updated_at: int  # the master playlist's mtime, unix seconds


def describe_stream(media: MediaRoot, stream: str) -> StreamInfo | None:
    """The stream's renditions, or None when it has no readable master playlist."""
    try:
        version = media.locate(stream, None, MASTER_PLAYLIST)
        master = m3u8.loads(version.path.read_text(encoding="utf-8"))
    except (NotFound, OSError, UnicodeDecodeError, ValueError):
        return None
    renditions = []
    for variant in master.playlists:
        info = variant.stream_info
        uri = str(variant.uri)
        width, height = info.resolution if info.resolution else (None, None)
        renditions.append(Rendition(
            name=uri.split("/", 1)[0] if "/" in uri else uri.removesuffix(".m3u8"),
            uri=uri,
            bandwidth=info.bandwidth,
            average_bandwidth=info.average_bandwidth,
            width=width,
            height=height,
            frame_rate=info.frame_rate,
            codecs=info.codecs,
        ))
    return StreamInfo(stream, tuple(renditions), version.mtime_ns // 1_000_000_000)


def scan_streams(media: MediaRoot) -> list[StreamInfo]:
    """Every published stream in the media root (a directory with a master playlist), sorted by id."""
    try:
        names = sorted(entry.name for entry in os.scandir(media.root) if entry.is_dir() and is_id(entry.name))
    except OSError:
        return []
    return [info for info in map(lambda name: describe_stream(media, name), names) if info is not None]
