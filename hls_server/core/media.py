"""The media root on disk: where a URL's file is (never outside the root), and rewritten playlists cached by version.

Names reach this module already matched by the router's strict patterns (no dots but the extension, no
slashes), so a path is always ``root/stream[/rendition]/name``; what is left to guard against is a symlink
leading out of the root, which :meth:`MediaRoot.locate` refuses after resolving the real path. All of it
runs in a worker thread: nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from .errors import NotFound
from .rewrite import PlaylistTemplate, compile_playlist

MAX_PLAYLIST_BYTES = 16 << 20
DEFAULT_CACHE_ENTRIES = 4096
_ENDLIST = re.compile(rb"^#EXT-X-ENDLIST\s*$", re.MULTILINE)
_VARIANT = re.compile(rb"^#EXT-X-STREAM-INF:", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FileVersion:
    path: Path
    size: int
    mtime_ns: int
    inode: int

    @property
    def tag(self) -> str:
        """The version part of an ETag: changes whenever the file is replaced or rewritten."""
        return f"{self.mtime_ns:x}-{self.size:x}-{self.inode:x}"

    def http_date(self) -> str:
        return formatdate(self.mtime_ns / 1e9, usegmt=True)


class MediaRoot:
    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._prefix = str(self.root) + os.sep

    def locate(self, stream: str, rendition: str | None, name: str) -> FileVersion:
        """The regular file behind a URL, or NotFound. Blocking: call through :meth:`locate_async`."""
        relative = f"{stream}/{rendition}/{name}" if rendition else f"{stream}/{name}"
        real = os.path.realpath(self.root / relative)
        if not real.startswith(self._prefix):
            raise NotFound("no such stream or file")  # a symlink out of the media root
        try:
            st = Path(real).stat()
        except OSError:
            raise NotFound("no such stream or file") from None
        if not stat.S_ISREG(st.st_mode):
            raise NotFound("no such stream or file")
        return FileVersion(Path(real), st.st_size, st.st_mtime_ns, st.st_ino)

    async def locate_async(self, stream: str, rendition: str | None, name: str) -> FileVersion:
        return await asyncio.get_running_loop().run_in_executor(None, self.locate, stream, rendition, name)


@dataclass(slots=True)
class CachedPlaylist:
    version: FileVersion
    body: bytes
    template: PlaylistTemplate
    live: bool  # a media playlist without EXT-X-ENDLIST: still growing
    checked_at: float
    last_modified: str = ""

    def __post_init__(self) -> None:
        self.last_modified = self.version.http_date()  # formatted once per version, not per request

    def etag(self, token: str | None) -> str:
        if token is None:
            return f'"{self.version.tag}"'
        return f'"{self.version.tag}-{zlib.crc32(token.encode()):08x}"'  # one representation per token


class PlaylistCache:
    """Playlists read once per file version. A version is trusted for ``revalidate`` seconds, then stat'ed again."""

    def __init__(self, media: MediaRoot, revalidate: float, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        self._media = media
        self._revalidate = revalidate
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str | None, str], CachedPlaylist] = OrderedDict()

    def invalidate(self, stream: str, rendition: str | None, name: str) -> None:
        """Forget a playlist's version: the next request reads the file again (an ingest write just replaced it)."""
        self._entries.pop((stream, rendition, name), None)

    async def get(self, stream: str, rendition: str | None, name: str) -> CachedPlaylist:
        key = (stream, rendition, name)
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self._revalidate:
            return entry
        try:
            entry = await asyncio.get_running_loop().run_in_executor(None, self._load, key, entry, now)
        except NotFound:
            self._entries.pop(key, None)
            raise
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry

    def _load(self, key: tuple[str, str | None, str], known: CachedPlaylist | None, now: float) -> CachedPlaylist:
        version = self._media.locate(*key)
        if known is not None and known.version == version:
            known.checked_at = now
            return known
        if version.size > MAX_PLAYLIST_BYTES:
            raise NotFound("the playlist is too large to serve")
        try:
            with version.path.open("rb") as f:
                st = os.fstat(f.fileno())  # the version of the bytes actually read, if it changed meanwhile
                version = FileVersion(version.path, st.st_size, st.st_mtime_ns, st.st_ino)
                body = f.read(MAX_PLAYLIST_BYTES + 1)
            template = compile_playlist(body.decode("utf-8"))
        except FileNotFoundError:
            raise NotFound("no such stream or file") from None
        except (OSError, UnicodeDecodeError, ValueError):
            raise NotFound("the playlist file is damaged") from None
        live = _ENDLIST.search(body) is None and _VARIANT.search(body) is None
        return CachedPlaylist(version, body[template.start:], template, live, now)  # what renders, verbatim
