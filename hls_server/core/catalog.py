"""What is published: each stream's renditions, read from its master playlist (or, for a single-rendition stream,
from the media playlist at its root: ffmpeg's ``index.m3u8`` without ``-master_pl_name``).

Used by the REST API's stream list and by player configs. Reading is blocking file I/O: callers run these
functions in an executor, never on the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import m3u8

from .errors import NotFound
from .media import MediaRoot
from .names import MASTER_PLAYLIST, MEDIA_PLAYLIST, is_id


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
    playlist: str = MASTER_PLAYLIST  # the playlist at the stream's root a player loads: master.m3u8 or index.m3u8


def describe_stream(media: MediaRoot, stream: str) -> StreamInfo | None:
    """The stream's renditions, or None when it has no readable playlist at its root: ``master.m3u8``, else a
    single rendition's ``index.m3u8`` (one rendition named ``index``, its numbers unknown)."""
    for name in (MASTER_PLAYLIST, MEDIA_PLAYLIST):
        try:
            version = media.locate(stream, None, name)
            master = m3u8.loads(version.path.read_text(encoding="utf-8"))
        except (NotFound, OSError, UnicodeDecodeError, ValueError):
            continue
        if name == MEDIA_PLAYLIST and not master.is_variant:
            rendition = Rendition(name=MEDIA_PLAYLIST.removesuffix(".m3u8"), uri=MEDIA_PLAYLIST, bandwidth=None,
                                  average_bandwidth=None, width=None, height=None, frame_rate=None, codecs=None)
            return StreamInfo(stream, (rendition,), version.mtime_ns // 1_000_000_000, MEDIA_PLAYLIST)
        return _from_master(stream, master, version.mtime_ns, name)
    return None


def _from_master(stream: str, master: m3u8.M3U8, mtime_ns: int, playlist: str) -> StreamInfo:
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
    return StreamInfo(stream, tuple(renditions), mtime_ns // 1_000_000_000, playlist)


def scan_streams(media: MediaRoot, where: Callable[[str], bool] | None = None) -> list[StreamInfo]:
    """Every published stream in the media root (a directory with a playlist at its root), sorted by id;
    ``where``: only the ids it keeps (checked before any playlist is read)."""
    try:
        names = sorted(entry.name for entry in os.scandir(media.root)
                       if is_id(entry.name) and (where is None or where(entry.name)) and entry.is_dir())
    except OSError:
        return []
    return [info for info in map(lambda name: describe_stream(media, name), names) if info is not None]
