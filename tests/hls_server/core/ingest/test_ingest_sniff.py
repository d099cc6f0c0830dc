"""Only media is accepted: a segment looks like MPEG-TS or ISO-BMFF from its first bytes."""

from __future__ import annotations

import struct

import pytest

from hls_server.core.ingest.sniff import BMFF_FIRST_BOXES, SNIFF_BYTES, TS_PACKET, looks_like_media

TS = (b"\x47" + bytes(TS_PACKET - 1)) * 2


def box(kind: bytes, payload: bytes = b"\0" * 8) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


@pytest.mark.parametrize("head", [TS[:SNIFF_BYTES], TS[:TS_PACKET], *(box(k) for k in sorted(BMFF_FIRST_BOXES))])
def test_media_is_accepted(head: bytes) -> None:
    assert looks_like_media(head)


@pytest.mark.parametrize("head", [b"", b"G", b"GET / HTTP/1.1\r\n" * 20, b"\x47" + bytes(TS_PACKET),
                                  b"\x47" * 10, box(b"free"), box(b"mdat"), b"#EXTM3U\n" * 30,
                                  b"<html><body>" + bytes(200), b"\x00\x00\x00\x08ft", b"\x89PNG\r\n\x1a\n" + bytes(200)])
def test_other_bytes_are_not_media(head: bytes) -> None:
    assert not looks_like_media(head[:SNIFF_BYTES])
