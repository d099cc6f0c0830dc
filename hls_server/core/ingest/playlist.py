"""Is it a playlist that stays in its stream? Pure: bytes in, :class:`PlaylistInfo` or :class:`InvalidPlaylist` out.

A playlist is accepted when the origin would serve it (``rewrite.compile_playlist`` reads it: ``#EXTM3U`` first,
no variable taken from the URL's token), it is UTF-8 without control characters (so no line a player could read
as a tag of its own), it is a media playlist (``EXT-X-TARGETDURATION``) or a multivariant one
(``EXT-X-STREAM-INF``), and every URI it names, on a URI line or in a tag's ``...URI="..."`` attribute, passes
:func:`paths.uri_stays_in_stream`: a file of the same stream that ``/hls`` serves, relative, nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidPlaylist
from ..rewrite import compile_playlist
from .paths import uri_stays_in_stream

_TARGET_DURATION = re.compile(r"^#EXT-X-TARGETDURATION:[ \t]*([0-9]{1,6})[ \t]*\r?$", re.MULTILINE)
_ENDLIST = re.compile(r"^#EXT-X-ENDLIST[ \t]*\r?$", re.MULTILINE)
_VARIANT = re.compile(r"^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF):", re.MULTILINE)
_SEGMENT_DURATION = re.compile(r"^#EXTINF:[ \t]*([0-9]{1,6}(?:\.[0-9]{1,9})?)", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufeff]|\r(?!\n)")
_URI_ATTRIBUTE = re.compile(r'([A-Z0-9-]*URI|X-ASSET-LIST)[ \t]*=[ \t]*("?)([^",]*)\2')
_URI_NAME = re.compile(r"(?:^|[,:])[ \t]*([A-Z0-9-]*URI|X-ASSET-LIST)[ \t]*=")
MAX_URIS_SHOWN = 80


@dataclass(frozen=True, slots=True)
class PlaylistInfo:
    multivariant: bool
    target_duration: float | None  # EXT-X-TARGETDURATION of a media playlist
    ended: bool  # EXT-X-ENDLIST
    uris: tuple[str, ...]
    duration: float = 0.0  # the sum of its segments' EXTINF


def validate_playlist(body: bytes, *, at_stream_root: bool) -> PlaylistInfo:
    """``at_stream_root``: the playlist sits in the stream's folder (``master.m3u8``, a single rendition's
    ``index.m3u8``), where ``{rendition}/{name}`` URIs are in the stream; in a rendition's folder only bare names."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPlaylist("a playlist must be UTF-8 text (RFC 8216, 4.1)") from None
    text = text.removeprefix("\ufeff")
    if _CONTROL.search(text):
        raise InvalidPlaylist("the playlist holds a control character or a lone carriage return")
    try:
        compile_playlist(text)
    except ValueError as err:
        raise InvalidPlaylist(str(err)) from None
    uris: list[str] = []
    for line in text.splitlines():
        stripped = line.strip(" \t")
        if not stripped:
            continue
        if not stripped.startswith("#"):
            uris.append(stripped)
        elif stripped.startswith("#EXT"):
            found = [m[3] for m in _URI_ATTRIBUTE.finditer(stripped)]
            if len(found) != len(_URI_NAME.findall(stripped)):
                raise InvalidPlaylist("a URI attribute that cannot be read one way only: "
                                      f"{stripped[:MAX_URIS_SHOWN]!r}")
            uris += found
    for uri in uris:
        if not uri_stays_in_stream(uri, at_stream_root=at_stream_root):
            where = "a name beside the playlist or {rendition}/{name}" if at_stream_root else \
                "a name beside the playlist"
            raise InvalidPlaylist(f"the URI {uri[:MAX_URIS_SHOWN]!r} leaves the stream: every URI must be {where}, "
                                  "relative, with no scheme, query or '..'")
    multivariant = _VARIANT.search(text) is not None
    target = _TARGET_DURATION.search(text)
    if not multivariant and target is None:
        raise InvalidPlaylist("neither a media playlist (EXT-X-TARGETDURATION) nor a multivariant one "
                              "(EXT-X-STREAM-INF)")
    if multivariant and target is not None:
        raise InvalidPlaylist("a playlist cannot be both a media and a multivariant playlist (RFC 8216, 4.1)")
    return PlaylistInfo(
        multivariant=multivariant,
        target_duration=float(target[1]) if target else None,
        ended=_ENDLIST.search(text) is not None,
        uris=tuple(uris),
        duration=sum(float(d) for d in _SEGMENT_DURATION.findall(text)),
    )
