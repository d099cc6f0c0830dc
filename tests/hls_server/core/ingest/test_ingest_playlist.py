"""Only playlists whose URIs stay in their stream are accepted (SECURITY.md, Ingest: "only media")."""

from __future__ import annotations

import pytest

from hls_server.core.errors import InvalidPlaylist
from hls_server.core.ingest.paths import IngestPath, uri_stays_in_stream
from hls_server.core.ingest.playlist import validate_playlist

MEDIA = ("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
         "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T14:49:57.320+0000\n#EXTINF:2.000000,\nseg_00007.ts\n"
         "#EXTINF:1.5,\nseg_00008.ts\n")
MASTER = ('#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=70400,RESOLUTION=320x180,'
          'CODECS="avc1.f4000c,mp4a.40.2"\nr0/index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=50000\nr1/index.m3u8\n')
FMP4 = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\nseg_00001.m4s\n#EXT-X-ENDLIST\n'


def test_a_media_playlist_is_read() -> None:
    info = validate_playlist(MEDIA.encode(), at_stream_root=False)
    assert (info.multivariant, info.target_duration, info.ended) == (False, 2.0, False)
    assert info.uris == ("seg_00007.ts", "seg_00008.ts")
    assert info.duration == 3.5


def test_a_master_playlist_names_renditions_from_the_stream_root() -> None:
    info = validate_playlist(MASTER.encode(), at_stream_root=True)
    assert info.multivariant and info.uris == ("r0/index.m3u8", "r1/index.m3u8")
    with pytest.raises(InvalidPlaylist, match="leaves the stream"):
        validate_playlist(MASTER.encode(), at_stream_root=False)  # from a rendition, r0/... is another folder


def test_attribute_uris_are_checked_and_endlist_seen() -> None:
    info = validate_playlist(FMP4.encode(), at_stream_root=False)
    assert info.ended and info.uris == ("init.mp4", "seg_00001.m4s")


ESCAPING = ["../s2/seg_00001.ts", "../../etc/passwd", "/etc/passwd", "/hls/s2/seg.ts", "http://evil.example/x.ts",
            "https://127.0.0.1/seg.ts", "//evil.example/seg.ts", "seg_00001.ts?token=x", "seg_00001.ts#x",
            "./seg_00001.ts", "r0/../seg.ts", "seg%2F..%2Fx.ts", "seg\\..\\x.ts", "data:video/mp2t;base64,AA",
            "{$base}/seg.ts", "seg_00001.txt", ".hidden.ts", "r0/r1/seg.ts", "seg 1.ts", "é.ts"]


@pytest.mark.parametrize("uri", ESCAPING)
def test_uris_that_leave_the_stream_are_refused(uri: str) -> None:
    assert not uri_stays_in_stream(uri, at_stream_root=True)
    body = MEDIA.replace("seg_00008.ts", uri).encode()
    with pytest.raises(InvalidPlaylist):
        validate_playlist(body, at_stream_root=True)


@pytest.mark.parametrize("tag", ['#EXT-X-MAP:URI="../init.mp4"', '#EXT-X-KEY:METHOD=AES-128,URI="https://k/x"',
                                 '#EXT-X-MAP:URI=/init.mp4', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../p.m4s"',
                                 '#EXT-X-DATERANGE:ID="a",X-ASSET-URI="https://ads.example/a.m3u8"',
                                 '#EXT-X-MAP:URI="init.mp4",URI="../x.mp4"',
                                 '#EXT-X-MAP:BYTERANGE="1@0",URI="in"it.mp4"'])
def test_uris_in_tags_that_leave_the_stream_are_refused(tag: str) -> None:
    with pytest.raises(InvalidPlaylist):
        validate_playlist((MEDIA + tag + "\n").encode(), at_stream_root=False)


@pytest.mark.parametrize("body", [b"", b"hello", b"\xff\xfe#EXTM3U\n", b"<html>#EXTM3U</html>",
                                  b"#EXTM3U\n", b"#EXTM3U\nseg_00001.ts\n",  # neither media nor multivariant
                                  b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg\x00.ts\n",
                                  b"#EXTM3U\r#EXT-X-TARGETDURATION:2\r",  # lone CRs: one line to some readers
                                  MASTER.encode() + b"#EXT-X-TARGETDURATION:2\n",
                                  b'#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="token"\n#EXT-X-TARGETDURATION:2\n'])
def test_what_is_not_a_playlist_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidPlaylist):
        validate_playlist(body, at_stream_root=True)


def test_crlf_and_a_bom_are_fine() -> None:
    body = ("\ufeff" + MEDIA.replace("\n", "\r\n")).encode()
    assert validate_playlist(body, at_stream_root=False).uris == ("seg_00007.ts", "seg_00008.ts")


@pytest.mark.parametrize(("stream", "rendition", "name"), [("s1", None, "x.txt"), ("..", None, "index.m3u8"),
                                                           ("s1", "a/b", "index.m3u8"), ("s1", "", "seg.ts"),
                                                           ("s1", None, ".seg.ts"), ("s" * 65, None, "seg.ts")])
def test_ingest_paths_are_strict(stream: str, rendition: str | None, name: str) -> None:
    with pytest.raises(ValueError, match="not an ingest path"):
        IngestPath(stream, rendition, name)
