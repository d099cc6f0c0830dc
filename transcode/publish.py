"""Atomic publication of a stream directory.

The encode writes into a hidden sibling (``.NAME.partial-XXXX``) of the stream directory; only a
complete stream is renamed into place. Replacing an existing stream (``force``) swaps the two
directories in one ``renameat2(RENAME_EXCHANGE)`` where the kernel has it, so a server reading the
media root sees the old stream or the new one, never neither and never a mix. Anything that fails
removes the partial directory and leaves the old stream as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
from pathlib import Path

from hls_server.core.names import ID_RULE, MASTER_PLAYLIST, is_id

from .errors import OutputError, OutputExists

PARTIAL_MARK = ".partial-"
RETIRED_MARK = ".retired-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def validate_stream_dir(outdir: Path, *, force: bool) -> str:
    """Check ``outdir`` can become (or replace) a stream directory; return its stream id."""
    stream_id = outdir.name
    if not is_id(stream_id):
        raise OutputError(f"stream id {stream_id!r} (the output folder's name) is not valid: "
                          f"use {ID_RULE}")
    if outdir.is_symlink() or (outdir.exists() and not outdir.is_dir()):
        raise OutputError(f"{outdir} exists and is not a directory; choose another output folder")
    if outdir.exists():
        if not force:
            raise OutputExists(f"{outdir} already exists; pass --force to replace it once the new "
                               "encode is complete")
        if not (outdir / MASTER_PLAYLIST).is_file() and any(outdir.iterdir()):
            raise OutputError(f"{outdir} is not empty and holds no {MASTER_PLAYLIST}; refusing to replace a "
                              "folder that is not a stream, even with --force")
    return stream_id


class Publication:
    """A partial directory that becomes ``outdir`` on ``commit()`` or disappears on ``abort()``."""

    def __init__(self, outdir: Path, *, force: bool) -> None:
        self.outdir = outdir.absolute()
        self.force = force
        self.stream_id = validate_stream_dir(self.outdir, force=force)
        try:
            self.outdir.parent.mkdir(parents=True, exist_ok=True)
            sweep_abandoned(self.outdir)
            self.workdir = _fresh_sibling(self.outdir, PARTIAL_MARK)
        except OSError as err:
            raise OutputError(f"cannot write to {self.outdir.parent}: {err.strerror}") from err

    def commit(self) -> None:
        """Make the work directory the stream directory, durably."""
        _fsync_tree(self.workdir)
        validate_stream_dir(self.outdir, force=self.force)  # the world may have changed during the encode
        try:
            if self.outdir.exists():
                self._replace()
            else:
                self.workdir.rename(self.outdir)
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise OutputExists(f"{self.outdir} appeared during the encode; nothing was replaced") from err
            raise OutputError(f"cannot publish {self.outdir}: {err.strerror}") from err
        _fsync_dir(self.outdir.parent)

    def abort(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _replace(self) -> None:
        if _exchange(self.workdir, self.outdir):
            shutil.rmtree(self.workdir, ignore_errors=True)  # now holds the old stream
            return
        retired = _fresh_sibling(self.outdir, RETIRED_MARK, create=False)
        self.outdir.rename(retired)
        try:
            self.workdir.rename(self.outdir)
        except OSError:
            retired.rename(self.outdir)
            raise
        shutil.rmtree(retired, ignore_errors=True)


def sweep_abandoned(outdir: Path) -> list[Path]:
    """Remove this stream's partial folders whose owner process is gone (a ``kill -9`` of hlsgate).
    A folder whose PID is alive (even a reused PID) is left alone: the safe side."""
    removed = []
    for candidate in outdir.parent.glob(f".{outdir.name}{PARTIAL_MARK}*"):
        owner = candidate.name.removeprefix(f".{outdir.name}{PARTIAL_MARK}").split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)) and candidate.is_dir() and not candidate.is_symlink():
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _fresh_sibling(outdir: Path, mark: str, *, create: bool = True) -> Path:
    """``.NAME<mark><pid>-<random>``: the PID lets a later run recognise an abandoned folder."""
    while True:
        candidate = outdir.with_name(f".{outdir.name}{mark}{os.getpid()}-{secrets.token_hex(4)}")
        if not create:
            if not candidate.exists():
                return candidate
            continue
        try:
            candidate.mkdir()  # honours the umask, unlike mkdtemp's 0700
        except FileExistsError:
            continue
        return candidate


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2). False where the kernel or libc lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_tree(root: Path) -> None:
    """Files first, then the folders that name them, deepest first."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            _fsync(path)
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory; files are what matter
        _fsync(path, os.O_DIRECTORY)


def _fsync(path: Path, extra_flags: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | extra_flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
