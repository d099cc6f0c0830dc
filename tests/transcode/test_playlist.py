from __future__ import annotations

import m3u8

from transcode.bitstream import avc1, h264_codec_from_annexb, h264_codec_from_mp4, h264_codec_from_ts
from transcode.playlist import RenditionResult, master_playlist

SPS = b"\x00\x00\x00\x01\x09\xf0" + b"\x00\x00\x00\x01\x67\x64\x00\x1f\xac\xd9"


def ts_packets(pid: int, payload: bytes) -> bytes:
    """Split ``payload`` over 188-byte TS packets of one PID (the second one with an adaptation field)."""
    out = bytearray()
    first = True
    while payload:
        if first:
            chunk, payload = payload[:184], payload[184:]
            header = bytes([0x47, 0x40 | (pid >> 8), pid & 0xFF, 0x10])
            out += header + chunk.ljust(184, b"\xff")
        else:
            chunk, payload = payload[:180], payload[180:]
            header = bytes([0x47, pid >> 8, pid & 0xFF, 0x30, 3, 0, 0xFF, 0xFF])
            out += header + chunk.ljust(180, b"\xff")
        first = False
    return bytes(out)


def test_avc1_format() -> None:
    assert avc1(0x64, 0, 0x28) == "avc1.640028"
    assert avc1(66, 0xC0, 30) == "avc1.42c01e"


def test_sps_from_annexb_and_mp4() -> None:
    assert h264_codec_from_annexb(SPS) == "avc1.64001f"
    assert h264_codec_from_annexb(b"\x00\x00\x01\x09\xf0") is None
    assert h264_codec_from_mp4(b"....avcC\x01\x4d\x40\x1e\xff") == "avc1.4d401e"
    assert h264_codec_from_mp4(b"no box here") is None


def test_sps_split_across_ts_packets() -> None:
    # the SPS starts near the end of the first packet and finishes in the second
    payload = b"\x00" * 178 + SPS
    data = ts_packets(0x100, payload) + ts_packets(0x101, b"\x00\x00\x01\xc0audio")
    assert h264_codec_from_ts(data) == "avc1.64001f"
    assert h264_codec_from_ts(b"\x00" * 376) is None


def result(name: str, width: int, height: int, codecs: tuple[str, ...], version: int = 3) -> RenditionResult:
    return RenditionResult(name=name, width=width, height=height, frame_rate=29.97 if width else None,
                           bandwidth=2_000_000, average_bandwidth=1_500_000, codecs=codecs, segments=3,
                           duration=12.0, version=version)


def test_master_playlist_text_and_parse() -> None:
    text = master_playlist([result("720p", 1280, 720, ("avc1.64001f", "mp4a.40.2"), 6),
                            result("audio", 0, 0, ("mp4a.40.2",))])
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,RESOLUTION=1280x720,'
        'FRAME-RATE=29.970,CODECS="avc1.64001f,mp4a.40.2"\n720p/index.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,CODECS="mp4a.40.2"\naudio/index.m3u8\n')
    parsed = m3u8.loads(text)
    assert parsed.is_variant
    first = parsed.playlists[0].stream_info
    assert (first.bandwidth, first.average_bandwidth, first.resolution, first.frame_rate, first.codecs) == \
        (2_000_000, 1_500_000, (1280, 720), 29.97, "avc1.64001f,mp4a.40.2")
