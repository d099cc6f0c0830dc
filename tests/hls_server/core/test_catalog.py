"""``catalog``: what is published, read from the playlists at each stream's root (the HTTP side is in
``web/test_api.py`` and ``web/test_player_config.py``, on real transcoded streams)."""

from __future__ import annotations

from pathlib import Path

from hls_server.core.catalog import describe_stream, scan_streams
from hls_server.core.media import MediaRoot

MASTER = ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.64001e\"\n"
          "360p/index.m3u8\n")
MEDIA = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n"


def _stream(root: Path, stream: str, **files: str) -> None:
    (root / stream).mkdir(parents=True)
    for name, text in files.items():
        (root / stream / name.replace("_m3u8", ".m3u8")).write_text(text, encoding="utf-8")


def test_a_single_rendition_stream_with_only_index_m3u8_at_its_root(tmp_path: Path) -> None:
    _stream(tmp_path, "live1", index_m3u8=MEDIA)
    info = describe_stream(MediaRoot(tmp_path), "live1")
    assert info is not None
    assert info.playlist == "index.m3u8"
    assert [(r.name, r.uri, r.bandwidth) for r in info.renditions] == [("index", "index.m3u8", None)]


def test_the_master_playlist_wins_over_a_root_index(tmp_path: Path) -> None:
    _stream(tmp_path, "s1", master_m3u8=MASTER, index_m3u8=MEDIA)
    info = describe_stream(MediaRoot(tmp_path), "s1")
    assert info is not None and info.playlist == "master.m3u8"
    assert [(r.name, r.bandwidth, r.height) for r in info.renditions] == [("360p", 800000, 360)]


def test_a_root_index_that_is_a_master_playlist_is_read_as_one(tmp_path: Path) -> None:
    _stream(tmp_path, "s1", index_m3u8=MASTER)
    info = describe_stream(MediaRoot(tmp_path), "s1")
    assert info is not None and info.playlist == "index.m3u8"
    assert [r.uri for r in info.renditions] == ["360p/index.m3u8"]


def test_no_playlist_at_the_root_is_not_published(tmp_path: Path) -> None:
    _stream(tmp_path, "s1", other_m3u8=MEDIA)
    assert describe_stream(MediaRoot(tmp_path), "s1") is None
    assert describe_stream(MediaRoot(tmp_path), "absent") is None


def test_scan_streams_keeps_what_where_keeps_before_reading(tmp_path: Path) -> None:
    for name in ("room1", "room1-alice", "room1-bob", "room10-x", "s1"):
        _stream(tmp_path, name, index_m3u8=MEDIA)
    _stream(tmp_path, "room1-empty")  # no playlist: not published
    (tmp_path / "bad.name").mkdir()
    asked: list[str] = []

    def where(name: str) -> bool:
        asked.append(name)
        return name.startswith("room1-")

    assert [info.id for info in scan_streams(MediaRoot(tmp_path), where)] == ["room1-alice", "room1-bob"]
    assert "bad.name" not in asked  # not an id: never offered
    assert [info.id for info in scan_streams(MediaRoot(tmp_path))] == ["room1", "room1-alice", "room1-bob",
                                                                       "room10-x", "s1"]
