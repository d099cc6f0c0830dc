"""The player config (pure): the H5Live shape nanoStream's player takes, plus what hlsgate's player needs.

``source.group.security.jwtoken`` (or ``source.stream``), one ``source.entries[]`` item per rendition with
``h5live.server.hls`` and ``h5live.security.jwtoken``, each stream's master playlist in ``source.streams``, and a
``security`` block saying when the token expires by the server's clock and where a fresh one comes from.
"""

from __future__ import annotations

from typing import Any

from .catalog import StreamInfo
from .names import MASTER_PLAYLIST

PLAYBACK_DEFAULTS = {"autoplay": True, "automute": True, "muted": True}
STYLE_DEFAULTS = {"displayMutedAutoplay": True}


def player_config(streams: list[StreamInfo], *, base_url: str, token: str | None, expires_at: float | None,
                  group: str | None, stream: str | None, now: float, renew_url: str | None,
                  renew_before: int) -> dict[str, Any]:
    """The H5Live-shaped config (pure). URLs carry no token: the player adds ``?token=`` to the playlist it
    loads, and the origin carries it into every URI of the playlists it serves."""
    security = {"jwtoken": token} if token is not None else {}
    entries: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    for info in streams:
        first = len(entries)
        for rendition in info.renditions:
            bits = rendition.average_bandwidth or rendition.bandwidth
            entries.append({
                "index": len(entries),
                "label": rendition.name,
                "stream": info.id,
                "info": {
                    "bitrate": round(bits / 1000) if bits else None,  # kbps, as nanoStream's entries give it
                    "width": rendition.width,
                    "height": rendition.height,
                    "framerate": rendition.frame_rate,
                    "codecs": rendition.codecs,
                },
                "h5live": {"server": {"hls": f"{base_url}/hls/{info.id}/{rendition.uri}"}, "security": security},
            })
        listed.append({"id": info.id, "master": f"{base_url}/hls/{info.id}/{MASTER_PLAYLIST}",
                       "entries": list(range(first, len(entries)))})
    source: dict[str, Any] = {}
    if group is not None:
        source["group"] = {"id": group, "security": security}
    if stream is not None:
        source["stream"] = {"id": stream, "security": security}
    source.update({"entries": entries, "streams": listed, "startIndex": 0})
    return {
        "source": source,
        "playback": dict(PLAYBACK_DEFAULTS),
        "style": dict(STYLE_DEFAULTS),
        "security": {
            "expiresAt": int(expires_at) if expires_at is not None else None,
            "serverTime": int(now),
            "renewBefore": renew_before,
            "renewUrl": renew_url,
        },
    }
