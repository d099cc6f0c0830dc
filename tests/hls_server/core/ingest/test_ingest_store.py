"""Atomic ingest writes that never leave the media root and never follow a planted symlink."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hls_server.core.errors import Forbidden, InsufficientStorage, Unavailable
from hls_server.core.ingest.paths import IngestPath
from hls_server.core.ingest.store import ENDLIST, IngestStore

MEDIA = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_00000.ts\n"
MASTER = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nr0/index.m3u8\n"


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def store(tmp_path: Path) -> IngestStore:
    (tmp_path / "media").mkdir()
    return IngestStore(tmp_path / "media")


def test_a_write_creates_the_folders_then_replaces(store: IngestStore) -> None:
    path = IngestPath("s", "r0", "seg_00000.ts")
    assert store.write_file(path, b"one") is True
    assert store.write_file(path, b"two") is False
    assert (store.root / "s/r0/seg_00000.ts").read_bytes() == b"two"
    assert tree(store.root) == ["s", "s/r0", "s/r0/seg_00000.ts"]


def test_an_upload_is_invisible_until_commit_and_gone_after_abort(store: IngestStore) -> None:
    path = IngestPath("s", None, "seg_00000.ts")
    store.write_file(path, b"old")
    upload = store.open_upload(path)
    upload.write(b"new, half")
    assert (store.root / "s/seg_00000.ts").read_bytes() == b"old"
    hidden = [p.name for p in (store.root / "s").iterdir() if p.name.startswith(".")]
    assert len(hidden) == 1 and hidden[0].startswith(".seg_00000.ts.")
    upload.abort()
    upload.abort()  # twice is fine
    assert tree(store.root) == ["s", "s/seg_00000.ts"]
    assert (store.root / "s/seg_00000.ts").read_bytes() == b"old"


@pytest.mark.parametrize("level", ["s", "s/r0"])
def test_a_symlinked_folder_is_refused(store: IngestStore, tmp_path: Path, level: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if level != "s":
        (store.root / "s").mkdir()
    (store.root / level).symlink_to(outside, target_is_directory=True)
    path = IngestPath("s", "r0", "index.m3u8")
    with pytest.raises(Forbidden, match="symbolic link"):
        store.write_file(path, MEDIA)
    with pytest.raises(Forbidden):
        store.delete(path)
    assert store.end_playlists("s") == []
    assert tree(outside) == []


def test_a_file_where_a_folder_should_be_is_refused(store: IngestStore) -> None:
    (store.root / "s").write_bytes(b"x")
    with pytest.raises(Forbidden):
        store.write_file(IngestPath("s", None, "seg_00000.ts"), b"y")
    assert (store.root / "s").read_bytes() == b"x"


def test_a_media_root_it_cannot_write_is_not_configured(store: IngestStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def read_only(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    store.write_file(IngestPath("s", None, "seg_00000.ts"), b"x")
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(Unavailable, match="cannot write"):
        store.write_file(IngestPath("s", None, "seg_00001.ts"), b"y")
    monkeypatch.undo()
    assert tree(store.root) == ["s", "s/seg_00000.ts"]


def test_delete_is_quiet_about_what_is_absent(store: IngestStore) -> None:
    path = IngestPath("s", "r0", "seg_00000.ts")
    store.delete(path)
    store.write_file(path, b"x")
    store.delete(path)
    store.delete(path)
    assert tree(store.root) == ["s", "s/r0"]
    (store.root / "s/r0/seg_00001.ts").mkdir()
    with pytest.raises(Forbidden):
        store.delete(IngestPath("s", "r0", "seg_00001.ts"))


def test_disk_full_removes_the_temporary_file(store: IngestStore, monkeypatch: pytest.MonkeyPatch) -> None:
    path = IngestPath("s", None, "seg_00000.ts")
    store.write_file(path, b"kept")
    real = os.write
    calls = 0

    def full(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, bytes(data)[:3])  # a short write first, as a filling disk gives

    upload = store.open_upload(path)
    monkeypatch.setattr(os, "write", full)
    with pytest.raises(InsufficientStorage):
        upload.write(b"0123456789")
    monkeypatch.undo()
    assert tree(store.root) == ["s", "s/seg_00000.ts"]
    assert (store.root / "s/seg_00000.ts").read_bytes() == b"kept"


def test_end_playlists_appends_endlist_to_media_playlists_only(store: IngestStore) -> None:
    store.write_file(IngestPath("s", None, "master.m3u8"), MASTER)
    store.write_file(IngestPath("s", "r0", "index.m3u8"), MEDIA)
    store.write_file(IngestPath("s", "r1", "index.m3u8"), MEDIA.rstrip(b"\n"))
    store.write_file(IngestPath("s", "r2", "index.m3u8"), MEDIA + ENDLIST)
    changed = store.end_playlists("s")
    assert sorted(p.relative for p in changed) == ["s/r0/index.m3u8", "s/r1/index.m3u8"]
    for rendition in ("r0", "r1", "r2"):
        assert (store.root / f"s/{rendition}/index.m3u8").read_bytes() == MEDIA + ENDLIST
    assert (store.root / "s/master.m3u8").read_bytes() == MASTER
    assert store.end_playlists("s") == []  # once
    assert store.end_playlists("absent") == []


def test_sweep_removes_only_stale_temporary_files(store: IngestStore) -> None:
    for rendition in (None, "r0"):
        store.write_file(IngestPath("s", rendition, "seg_00000.ts"), b"x")
    folder = store.root / "s"
    stale = [folder / ".seg_00001.ts.0123456789ab.part", folder / "r0" / ".index.m3u8.ba9876543210.part"]
    fresh = folder / "r0" / ".seg_00002.ts.aaaaaaaaaaaa.part"
    other = folder / ".keep"
    for path in (*stale, fresh, other):
        path.write_bytes(b"half")
    for path in stale:
        os.utime(path, (1000, 1000))
    os.utime(other, (1000, 1000))
    now = fresh.stat().st_mtime + 1
    assert store.sweep("s", now) == 2
    assert tree(store.root) == ["s", "s/.keep", "s/r0", "s/r0/.seg_00002.ts.aaaaaaaaaaaa.part", "s/r0/seg_00000.ts",
                                "s/seg_00000.ts"]
    assert store.sweep("absent", now) == 0
