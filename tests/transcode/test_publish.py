from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import partial_dirs
from transcode import publish
from transcode.errors import OutputError, OutputExists
from transcode.publish import Publication, validate_stream_dir


def fill(pub: Publication, marker: str) -> None:
    (pub.workdir / "master.m3u8").write_text(f"#EXTM3U\n# {marker}\n")


def existing_stream(out: Path) -> Path:
    out.mkdir()
    (out / "master.m3u8").write_text("#EXTM3U\n# old\n")
    return out


def test_new_stream_appears_only_on_commit(tmp_path: Path) -> None:
    out = tmp_path / "root" / "movie"
    pub = Publication(out, force=False)
    assert pub.workdir.parent == out.parent and pub.workdir.name.startswith(".movie.partial-")
    fill(pub, "new")
    assert not out.exists()
    pub.commit()
    assert "new" in (out / "master.m3u8").read_text()
    assert partial_dirs(out.parent) == []
    assert out.stat().st_mode & 0o777 == 0o755  # readable by a server running as another user


@pytest.mark.parametrize("exchange_available", [True, False])
def test_force_replaces_only_when_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           exchange_available: bool) -> None:
    if not exchange_available:
        monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    out = existing_stream(tmp_path / "movie")
    pub = Publication(out, force=True)
    fill(pub, "new")
    assert "old" in (out / "master.m3u8").read_text()  # still serving the old one
    pub.commit()
    assert "new" in (out / "master.m3u8").read_text()
    assert partial_dirs(tmp_path) == []


def test_abort_leaves_the_old_stream(tmp_path: Path) -> None:
    out = existing_stream(tmp_path / "movie")
    pub = Publication(out, force=True)
    fill(pub, "new")
    pub.abort()
    assert "old" in (out / "master.m3u8").read_text()
    assert partial_dirs(tmp_path) == []


def test_output_that_appears_during_the_encode_is_not_clobbered(tmp_path: Path) -> None:
    out = tmp_path / "movie"
    pub = Publication(out, force=False)
    fill(pub, "new")
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(OutputExists):
        pub.commit()
    pub.abort()
    assert (out / "precious.txt").read_text() == "mine"


@pytest.mark.parametrize(("name", "force", "prepare", "error", "message"), [
    ("bad name", False, None, OutputError, "stream id 'bad name'"),
    ("x" * 65, False, None, OutputError, "is not valid"),
    (".hidden", False, None, OutputError, "is not valid"),
    ("movie", False, "stream", OutputExists, "already exists; pass --force"),
    ("movie", True, "file", OutputError, "exists and is not a directory"),
    ("movie", True, "foreign", OutputError, "refusing to replace a folder that is not a stream"),
    ("movie", True, "symlink", OutputError, "exists and is not a directory"),
])
def test_refusals(tmp_path: Path, name: str, force: bool, prepare: str | None,
                  error: type[Exception], message: str) -> None:
    out = tmp_path / name
    if prepare == "stream":
        out.mkdir()
        (out / "master.m3u8").write_text("#EXTM3U\n")
    elif prepare == "file":
        out.write_text("not a folder")
    elif prepare == "foreign":
        out.mkdir()
        (out / "thesis.pdf").write_text("years of work")
    elif prepare == "symlink":
        out.symlink_to(tmp_path)
    with pytest.raises(error, match=message):
        validate_stream_dir(out, force=force)


def test_unwritable_parent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write to"):
        Publication(blocker / "movie", force=False)


def test_partial_folders_of_dead_owners_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = tmp_path / f".movie.partial-{dead.pid}-0000aaaa"
    running = tmp_path / f".movie.partial-{os.getpid()}-0000bbbb"
    other_stream = tmp_path / f".film.partial-{dead.pid}-0000cccc"
    for folder in (abandoned, running, other_stream):
        folder.mkdir()
        (folder / "seg_00000.ts").write_bytes(b"\\x47" * 188)
    pub = Publication(tmp_path / "movie", force=False)
    assert not abandoned.exists()
    assert running.exists() and other_stream.exists()
    assert pub.workdir.name.startswith(f".movie.partial-{os.getpid()}-")
    pub.abort()
