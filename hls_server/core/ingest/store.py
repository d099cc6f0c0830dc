"""Atomic ingest writes under the media root that never leave it and never follow a planted symlink.

Every folder on the way is opened from the media root with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's
descriptor (``dir_fd``), so a symlink planted at the stream or the rendition level is refused (``ELOOP``), never
followed, and no path is ever resolved twice. A file is written as the group store and ``transcode/publish.py``
write theirs: a temporary dotfile in the target folder (``O_EXCL | O_NOFOLLOW``; dotfiles are never served),
then ``os.replace``-d over the name (fsynced first, file and folder, with ``ingest.fsync``). A reader sees the
old file or the new one, never half of one; an upload that fails (disk full, a cap, a client gone) removes its
temporary file and leaves the stored file untouched. Disk full (``ENOSPC``, ``EDQUOT``) is :class:`InsufficientStorage`.

All of it is blocking: the web layer calls it in an executor, a batch of chunks at a time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from ..errors import Forbidden, InsufficientStorage, Unavailable
from ..names import is_id
from .paths import IngestPath

TEMP_SUFFIX = ".part"
STALE_TEMP_SECONDS = 600.0
"""A temporary file untouched this long is left over from a crash (a live upload writes at least every
ingest.body_timeout, 300 s at most, or is aborted): :meth:`IngestStore.sweep` removes it."""
_TEMP = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX))
ENDLIST = b"#EXT-X-ENDLIST\n"
MAX_ENDLIST_PLAYLIST_BYTES = 16 << 20
_ENDLIST = re.compile(rb"^#EXT-X-ENDLIST[ \t]*\r?$", re.MULTILINE)
_VARIANT = re.compile(rb"^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF):", re.MULTILINE)
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_NOT_A_FOLDER = frozenset({errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EMLINK})
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FOLDER_MODE = 0o755
FILE_MODE = 0o644


class IngestStore:
    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        """``fsync``: make every write durable before it is renamed into place (ingest.fsync). Off by default:
        the rename alone is what makes a write atomic for readers, and a live segment outlived by a power cut is
        worth little; an fsync costs each segment milliseconds of ingest-to-listed time (docs/benchmarks.md)."""
        self.root = Path(os.path.realpath(root))
        self.fsync = fsync

    def open_upload(self, path: IngestPath) -> Upload:
        """A temporary file in ``path``'s folder (created with its stream folder if need be)."""
        folder = self._folder(path, create=True)
        if folder is None:  # _folder creates, or raises
            raise FileNotFoundError(path.relative)
        return Upload(folder, path.name, fsync=self.fsync)

    def write_file(self, path: IngestPath, body: bytes) -> bool:
        """Write ``body`` atomically at ``path``; True when the file is new (else it replaced one)."""
        upload = self.open_upload(path)
        try:
            upload.write(body)
            return upload.commit()
        finally:
            upload.abort()

    def delete(self, path: IngestPath) -> None:
        """Remove the file at ``path`` if there is one (a missing file or folder is not an error)."""
        folder = self._folder(path, create=False)
        if folder is None:
            return
        try:
            os.unlink(path.name, dir_fd=folder)
        except FileNotFoundError:
            pass
        except OSError as err:  # a folder where the file should be (EISDIR, EPERM)
            raise Forbidden(f"{path.relative} is not a file: nothing was removed") from err
        finally:
            os.close(folder)

    def end_playlists(self, stream: str) -> list[IngestPath]:
        """Append ``#EXT-X-ENDLIST`` (atomically) to every media playlist of ``stream`` that lacks it, at the
        stream's root and one rendition down; the playlists changed."""
        changed = []
        for path in self._playlists(stream):
            body = self._read(path)
            if body is None or _VARIANT.search(body) or _ENDLIST.search(body):
                continue
            self.write_file(path, body + (b"" if body.endswith(b"\n") or not body else b"\n") + ENDLIST)
            changed.append(path)
        return changed

    def sweep(self, stream: str, now: float, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Remove the stream's temporary files left by a crash of the server (``kill -9``: no abort ran); how many."""
        removed = 0
        folders = self._folders(stream)
        for folder in folders:
            try:
                for entry in os.scandir(folder):
                    if _TEMP.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) and \
                            now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.name, dir_fd=folder)
                            removed += 1
            finally:
                os.close(folder)
        return removed

    def _folders(self, stream: str) -> list[int]:
        """Descriptors of the stream's folder and its rendition folders (never through a link): the caller closes
        them all."""
        try:
            top = self._folder(IngestPath(stream, None, "index.m3u8"), create=False)
        except Forbidden:
            return []
        if top is None:
            return []
        folders = [top]
        try:
            for entry in os.scandir(top):
                if entry.is_dir(follow_symlinks=False) and is_id(entry.name):
                    with contextlib.suppress(OSError):
                        folders.append(os.open(entry.name, _DIR_FLAGS, dir_fd=top))
        except OSError:
            for fd in folders:
                os.close(fd)
            raise
        return folders

    def _playlists(self, stream: str) -> Iterator[IngestPath]:
        try:
            top = self._folder(IngestPath(stream, None, "index.m3u8"), create=False)
        except Forbidden:
            return
        if top is None:
            return
        try:
            for entry in os.scandir(top):
                if entry.is_file(follow_symlinks=False) and entry.name.endswith(".m3u8"):
                    with contextlib.suppress(ValueError):
                        yield IngestPath(stream, None, entry.name)
                elif entry.is_dir(follow_symlinks=False) and is_id(entry.name):
                    inner = os.open(entry.name, _DIR_FLAGS, dir_fd=top)
                    try:
                        names = [e.name for e in os.scandir(inner)
                                 if e.is_file(follow_symlinks=False) and e.name.endswith(".m3u8")]
                    finally:
                        os.close(inner)
                    for name in names:
                        with contextlib.suppress(ValueError):
                            yield IngestPath(stream, entry.name, name)
        finally:
            os.close(top)

    def _read(self, path: IngestPath) -> bytes | None:
        folder = self._folder(path, create=False)
        if folder is None:
            return None
        try:
            fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        except OSError:
            return None
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            body = f.read(MAX_ENDLIST_PLAYLIST_BYTES + 1)
        return body if len(body) <= MAX_ENDLIST_PLAYLIST_BYTES else None

    def _folder(self, path: IngestPath, *, create: bool) -> int | None:
        """A descriptor of ``path``'s folder (the caller closes it); None when absent and not ``create``."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for name in path.folders:
                if create:
                    try:
                        os.mkdir(name, FOLDER_MODE, dir_fd=fd)
                        if self.fsync:
                            _fsync_quietly(fd)  # the new folder's name is durable before files go in it
                    except FileExistsError:
                        pass
                    except OSError as err:
                        _raise(err, path)
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if create:
                        raise
                    os.close(fd)
                    return None
                except OSError as err:
                    _raise(err, path)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd


class Upload:
    """A temporary dotfile in an open folder: ``write`` batches, then ``commit`` (atomic) or ``abort``.
    ``abort`` after ``commit`` does nothing, so ``try: ... commit() finally: abort()`` is the pattern."""

    def __init__(self, folder: int, name: str, *, fsync: bool = False) -> None:
        self._folder: int | None = folder
        self._fsync = fsync
        self.name = name
        self.size = 0
        while True:
            self._temp = f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
            try:
                self._fd: int | None = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                               | os.O_CLOEXEC, FILE_MODE, dir_fd=folder)
            except FileExistsError:
                continue
            except OSError as err:
                os.close(folder)
                _raise(err, None)
            return

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError("write after commit or abort")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self.size += written
        except OSError as err:
            self.abort()
            _raise(err, None)

    def commit(self) -> bool:
        """Put the file in place under its name (durable first, with ``fsync``); True when it is new."""
        if self._fd is None or self._folder is None:
            raise ValueError("commit after commit or abort")
        folder = self._folder
        try:
            if self._fsync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            try:
                os.stat(self.name, dir_fd=folder, follow_symlinks=False)
                created = False
            except FileNotFoundError:
                created = True
            os.replace(self._temp, self.name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError as err:
            self.abort()
            _raise(err, None)
        self._temp = ""
        if self._fsync:
            _fsync_quietly(folder)
        os.close(folder)
        self._folder = None
        return created

    def abort(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._folder is not None:
            if self._temp:
                with contextlib.suppress(OSError):
                    os.unlink(self._temp, dir_fd=self._folder)
            os.close(self._folder)
            self._folder = None


def _raise(err: OSError, path: IngestPath | None) -> NoReturn:
    """The error of the tree that ``err`` means for the encoder; any other ``err`` as it is."""
    if err.errno in _FULL:
        raise InsufficientStorage("the server's disk is full: nothing of this upload was kept, and what was stored "
                                  "before is untouched") from err
    if err.errno in _NOT_A_FOLDER:
        where = f" on the way to {path.relative}" if path is not None else ""
        raise Forbidden(f"a symbolic link or a file stands where a folder must be{where}: nothing was written") \
            from err
    if err.errno in _NOT_WRITABLE:
        raise Unavailable("the server cannot write into its media root (permissions, a read-only file system): "
                          "nothing was written") from err
    raise err


def _fsync_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a folder; the files are what matter
        os.fsync(fd)
