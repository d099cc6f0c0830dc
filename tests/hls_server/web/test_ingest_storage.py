"""Disk full (SECURITY.md, Ingest): 507 ``insufficient_storage``, the temporary file removed, nothing stored lost.

The media root is a real 2 MiB tmpfs when the test may mount one (root, as in CI); otherwise ``os.write`` fails
with ENOSPC for the media root's files only, so the test still runs (it never skips: a check that cannot run
must fail, not vanish).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..conftest import ServerWatch, StartOrigin, make_token, settings_for
from ..http import fetch
from .test_ingest import LIVE, chunks, files, playlist, publish_token, put
from .test_ingest import ts_segment as ts_segment  # a fixture

TMPFS_BYTES = 2 << 20


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A media root and a function that fills its disk."""
    root = tmp_path / "small"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(root)],
                             capture_output=True, check=False).returncode == 0
    if mounted:
        def fill() -> None:
            with (root / "filler").open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError as err:
                    assert err.errno == errno.ENOSPC
    else:
        real_write = os.write
        full = False

        def write(fd: int, data: bytes | memoryview) -> int:
            if full and Path(f"/proc/self/fd/{fd}").readlink().is_relative_to(root):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        def fill() -> None:
            nonlocal full
            full = True

        monkeypatch.setattr(os, "write", write)
    try:
        yield root, fill
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root)], check=True)


async def test_disk_full_is_507_and_loses_nothing(full_disk: tuple[Path, Callable[[], None]],
                                                  start_origin: StartOrigin, tmp_path: Path, ts_segment: bytes,
                                                  never_500: ServerWatch) -> None:
    never_500.deliberate.add(507)
    root, fill = full_disk
    origin = await start_origin(settings_for(root, tmp_path / "state"))
    token = publish_token()
    assert (await put(origin, f"{LIVE}/r0/seg_00000.ts", ts_segment, token)).status == 201
    assert (await put(origin, f"{LIVE}/r0/index.m3u8", playlist(), token)).status == 201
    stored = files(root / LIVE)
    big = (ts_segment * (2 * TMPFS_BYTES // len(ts_segment) + 1))[:2 * TMPFS_BYTES]
    fill()
    for name, body in (("seg_00001.ts", big), ("seg_00000.ts", big), ("index.m3u8", playlist(1) * 1)):
        reply = await put(origin, f"{LIVE}/r0/{name}", chunks(body, 65536), token)
        assert reply.status == 507, (name, reply.text)
        assert reply.json()["error"] == "insufficient_storage"
        assert files(root / LIVE) == stored  # no temporary file, no new file
    assert (root / LIVE / "r0" / "seg_00000.ts").read_bytes() == ts_segment
    assert (root / LIVE / "r0" / "index.m3u8").read_bytes() == playlist()
    viewer = make_token(streamId=LIVE)
    assert (await fetch(origin, f"/hls/{LIVE}/r0/seg_00000.ts", token=viewer)).body == ts_segment
