"""Names and patterns of what is published: one rule for stream, group and rendition ids and for file names.

A leaf module (it imports nothing of the project), shared by the transcoder, which writes these names, and the
origin, which routes, scopes and stores by them. Ids are compared exactly: no case folding, no decoding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
"""A stream, group, room or rendition id: the folder name on disk, the ``streamId``/``group`` claim, the URL part."""
ID_RULE = "1-64 letters, digits, '-' or '_'"
"""The id rule in words, for error messages."""

MASTER_PLAYLIST = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
"""A rendition's playlist, in the rendition's folder (``720p/index.m3u8``)."""
INIT_SEGMENT = "init.mp4"
SEGMENT_STEM = "seg_%05d"
"""ffmpeg's pattern for segment file names (``seg_00000.ts``); the extension follows the segment format."""

PLAYLIST_PATTERN = r"[A-Za-z0-9_-]{1,64}\.m3u8"
SEGMENT_PATTERN = r"[A-Za-z0-9_-]{1,128}\.(?:ts|m4s|mp4)"
"""What the origin serves: playlists, MPEG-TS and fMP4 segments, fMP4 init sections. Nothing else is routed."""

CONTENT_TYPES: Mapping[str, str] = MappingProxyType({
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",  # fMP4 init sections
})

_ID = re.compile(ID_PATTERN)


def is_id(value: object) -> bool:
    """True for a canonical id (the whole string matches: ``"a\\n"`` is not ``"a"``)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None
