"""RFC 6381 codec strings read from the encoded media itself.

x264's ``-profile`` is a ceiling, not a promise (``ultrafast`` emits Constrained Baseline even when
``high`` is asked for), so the master playlist's CODECS come from the SPS actually written: from the
``avcC`` box of an fMP4 init segment, or from the first SPS NAL unit in an MPEG-TS segment.
"""

from __future__ import annotations

TS_PACKET = 188
TS_SYNC = 0x47
SCAN_BYTES = 512 * 1024
AAC_LC = "mp4a.40.2"
_H264_SPS = 7


def avc1(profile: int, constraints: int, level: int) -> str:
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def h264_codec_from_mp4(data: bytes) -> str | None:
    """From an init segment: the avcC box starts with version 1, profile, compatibility, level."""
    at = data.find(b"avcC")
    if at < 0 or len(data) < at + 8 or data[at + 4] != 1:
        return None
    return avc1(data[at + 5], data[at + 6], data[at + 7])


def h264_codec_from_annexb(stream: bytes) -> str | None:
    """From an Annex B byte stream: the first SPS NAL (start code, then nal_unit_type 7)."""
    at = stream.find(b"\x00\x00\x01")
    while 0 <= at < len(stream) - 6:
        if stream[at + 3] & 0x1F == _H264_SPS:
            return avc1(stream[at + 4], stream[at + 5], stream[at + 6])
        at = stream.find(b"\x00\x00\x01", at + 3)
    return None


def ts_payloads(data: bytes) -> dict[int, bytes]:
    """Concatenated packet payloads per PID (enough to find an SPS that spans packets)."""
    streams: dict[int, bytearray] = {}
    for offset in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        packet = data[offset:offset + TS_PACKET]
        if packet[0] != TS_SYNC:
            break
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x3
        start = 4 + (1 + packet[4] if control & 0x2 else 0)
        if control & 0x1 and start < TS_PACKET:
            streams.setdefault(pid, bytearray()).extend(packet[start:])
    return {pid: bytes(payload) for pid, payload in streams.items()}


def h264_codec_from_ts(data: bytes) -> str | None:
    for payload in ts_payloads(data[:SCAN_BYTES]).values():
        found = h264_codec_from_annexb(payload)
        if found is not None:
            return found
    return None
