"""The player config (pure): the H5Live shape nanoStream's player takes, plus what hlsgate's player needs.

``source.group.security.jwtoken`` (or ``source.stream``), one ``source.entries[]`` item per rendition with
``h5live.server.hls`` and ``h5live.security.jwtoken``, each stream's master playlist in ``source.streams``, and a
``security`` block saying when the token expires by the server's clock and where a fresh one comes from.
A room's config says ``source.group.room: true``; where the server knows which streams are live, each item of
``source.streams`` says ``"live": true|false``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog import StreamInfo

PLAYBACK_DEFAULTS = {"autoplay": True, "automute": True, "muted": True}
STYLE_DEFAULTS = {"displayMutedAutoplay": True}


def player_config(streams: list[StreamInfo], *, base_url: str, token: str | None, expires_at: float | None,
                  group: str | None, stream: str | None, now: float, renew_url: str | None,
                  renew_before: int, room: bool = False, live: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """The H5Live-shaped config (pure). URLs carry no token: the player adds ``?token=`` to the playlist it
    loads, and the origin carries it into every URI of the playlists it serves. ``room``: ``group`` is a room.
    ``live``: whether a stream is live now, when the server knows (else no ``live`` field); a stream without
    renditions (nothing published yet) says ``"live": null``."""
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
        item: dict[str, Any] = {"id": info.id, "master": f"{base_url}/hls/{info.id}/{info.playlist}",
                                "entries": list(range(first, len(entries)))}
        if live is not None:
            item["live"] = live(info.id) if info.renditions else None  # no playlist yet: not known
        listed.append(item)
    source: dict[str, Any] = {}
    if group is not None:
        source["group"] = {"id": group, "security": security, **({"room": True} if room else {})}
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
