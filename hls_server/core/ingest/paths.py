"""The files an ingest URL names: ``{stream}/{name}`` or ``{stream}/{rendition}/{name}``, exactly where ``/hls``
serves them. Names reach this module already matched by the router's patterns (``core/names``); the checks here
hold for callers that are not the router (the live registry, tests) too.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ..names import ID_PATTERN, PLAYLIST_PATTERN, SEGMENT_PATTERN, is_id

_PLAYLIST = re.compile(PLAYLIST_PATTERN)
_SEGMENT = re.compile(SEGMENT_PATTERN)
_IN_RENDITION = re.compile(rf"(?:{ID_PATTERN})/(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})")


class FileKind(enum.Enum):
    PLAYLIST = "playlist"
    SEGMENT = "segment"  # MPEG-TS, fMP4 media segments and init sections


@dataclass(frozen=True, slots=True)
class IngestPath:
    stream: str
    rendition: str | None
    name: str

    def __post_init__(self) -> None:
        if not is_id(self.stream) or (self.rendition is not None and not is_id(self.rendition)) \
                or file_kind(self.name) is None:
            raise ValueError(f"not an ingest path: {self.relative!r}")

    @property
    def kind(self) -> FileKind:
        return FileKind.PLAYLIST if _PLAYLIST.fullmatch(self.name) else FileKind.SEGMENT  # one of two: __post_init__

    @property
    def folders(self) -> tuple[str, ...]:
        """The folders under the media root, outermost first."""
        return (self.stream,) if self.rendition is None else (self.stream, self.rendition)

    @property
    def relative(self) -> str:
        return "/".join((*self.folders, self.name))


def file_kind(name: str) -> FileKind | None:
    if _PLAYLIST.fullmatch(name):
        return FileKind.PLAYLIST
    if _SEGMENT.fullmatch(name):
        return FileKind.SEGMENT
    return None


def uri_stays_in_stream(uri: str, *, at_stream_root: bool) -> bool:
    """Whether a playlist's URI names a file of the same stream that ``/hls`` serves, written the one way that
    cannot mean anything else: a bare name beside the playlist, or ``{rendition}/{name}`` from the stream's root.
    No scheme, no ``//``, no ``/`` first, no ``..`` or ``.``, no query, fragment, backslash, encoding or blank."""
    if file_kind(uri) is not None:
        return True
    return at_stream_root and _IN_RENDITION.fullmatch(uri) is not None
