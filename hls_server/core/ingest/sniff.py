"""Is it media? A segment must look like MPEG-TS or ISO-BMFF from its first bytes (pure, no I/O).

- MPEG-TS (ISO/IEC 13818-1): 188-byte packets, each starting with the sync byte 0x47: at least one whole packet,
  and the second packet's sync byte too when there is one, so a text starting with 'G' is not a transport stream.
- ISO-BMFF (ISO/IEC 14496-12): a box header, 4 bytes of size then a 4-byte type; a segment, init section or
  CMAF chunk starts with one of :data:`BMFF_FIRST_BOXES`.
"""

from __future__ import annotations

TS_PACKET = 188
TS_SYNC = 0x47
BMFF_FIRST_BOXES = frozenset({b"ftyp", b"styp", b"moof", b"sidx", b"moov", b"emsg", b"prft"})
SNIFF_BYTES = TS_PACKET + 1
"""How many first bytes :func:`looks_like_media` needs to decide (fewer only for a shorter body)."""


def looks_like_media(head: bytes) -> bool:
    """``head``: the body's first :data:`SNIFF_BYTES` bytes, or all of a shorter body."""
    if len(head) >= TS_PACKET and head[0] == TS_SYNC and (len(head) == TS_PACKET or head[TS_PACKET] == TS_SYNC):
        return True
    return len(head) >= 8 and head[4:8] in BMFF_FIRST_BOXES
