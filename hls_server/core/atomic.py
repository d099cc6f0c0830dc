"""One durable, atomic file write for the origin's small state files (groups, live state): a temporary file in
the same folder, fsynced, renamed over the name, then the folder fsynced. A reader sees the old file or the new
one; a crash leaves one of them. (Ingest writes go through ``ingest/store.py``, which also guards every folder.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, body: bytes) -> None:
    """Replace ``path`` with ``body``, durably; the folder is created if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
