"""``/hls/{stream}/...``: playlists (with the viewer's URL token carried into every URI) and segments.

Each handler asks the gate first, then the filesystem: a missing stream and a forbidden one look the same to a
caller without a token. Names reach the handlers already matched by the router's strict patterns.
"""

from __future__ import annotations

from aiohttp import web

from ...core.grants import Action, Target
from ...core.media import CachedPlaylist
from ...core.names import CONTENT_TYPES, ID_PATTERN, PLAYLIST_PATTERN, SEGMENT_PATTERN
from ..context import SERVICES, credentials
from ..middleware import preflight

SEGMENT_MAX_AGE = 365 * 24 * 3600  # segment names are never reused for other bytes
PLAYLIST_VOD_MAX_AGE = 60
PLAYLIST_LIVE_MAX_AGE = 1
"""A live playlist changes every target duration (2 s in the live ladder): 1 s, the shortest non-zero max-age HTTP
can say, is at most half of any target duration of 2 s or more, so a CDN that honours it (RFC 8216 6.2.2: no
longer than half the target) still lists each new segment before a player needs it, while it takes the load of
all viewers' reloads off the origin. The origin's own copy is never stale: ingest invalidates it on every write."""


def add_routes(app: web.Application) -> None:
    for path, handler in ((f"/hls/{{stream:{ID_PATTERN}}}/{{name:{PLAYLIST_PATTERN}}}", _playlist),
                          (f"/hls/{{stream:{ID_PATTERN}}}/{{rendition:{ID_PATTERN}}}/{{name:{PLAYLIST_PATTERN}}}",
                           _playlist),
                          (f"/hls/{{stream:{ID_PATTERN}}}/{{rendition:{ID_PATTERN}}}/{{name:{SEGMENT_PATTERN}}}",
                           _segment),
                          # A single rendition published at the stream's root (index.m3u8 + seg_NNNNN.ts).
                          (f"/hls/{{stream:{ID_PATTERN}}}/{{name:{SEGMENT_PATTERN}}}", _segment)):
        # Preflight on the media routes only: a catch-all OPTIONS route would turn every unknown /hls/ path
        # into a 405 "Allow: OPTIONS" instead of a 404.
        app.router.add_get(path, handler)
        app.router.add_route("OPTIONS", path, preflight)


async def _playlist(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    info = request.match_info
    stream = info["stream"]
    presented = credentials(request)
    grant = await services.gate.authorize(presented, Action.PLAY, Target(stream))
    # Only a token the viewer put in the URL is written into playlists; a public server writes none.
    token = None if grant.public else presented.query_token
    entry = await services.playlists.get(stream, info.get("rendition"), info["name"])
    etag = entry.etag(token)
    private = not grant.public
    headers = {
        "Content-Type": CONTENT_TYPES[".m3u8"],
        "Cache-Control": _playlist_cache_control(entry, private=private),
        "ETag": etag,
        "Last-Modified": entry.last_modified,
    }
    if private:
        headers["Referrer-Policy"] = "no-referrer"
    if _etag_matches(etag, request.headers.get("If-None-Match")):
        return web.Response(status=304, headers=headers)
    if token is None:
        body = entry.body
    else:  # a token goes to no weaker scheme than the viewer's: behind a TLS proxy, public_url says which it is
        body = entry.template.render(token, request.host, services.public_scheme or request.scheme)
    return web.Response(body=body, headers=headers)


def _etag_matches(etag: str, header: str | None) -> bool:
    """RFC 9110 §13.1.2: ``*`` or a list of entity tags, compared weakly (a ``W/`` prefix is ignored)."""
    if header is None:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _playlist_cache_control(entry: CachedPlaylist, *, private: bool) -> str:
    max_age = PLAYLIST_LIVE_MAX_AGE if entry.live else PLAYLIST_VOD_MAX_AGE
    return f"{'private' if private else 'public'}, max-age={max_age}"


async def _segment(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    info = request.match_info
    stream = info["stream"]
    grant = await services.gate.authorize(credentials(request), Action.PLAY, Target(stream))
    version = await services.media.locate_async(stream, info.get("rendition"), info["name"])
    private = not grant.public
    headers = {
        "Content-Type": CONTENT_TYPES[version.path.suffix],
        "Cache-Control": f"{'private' if private else 'public'}, max-age={SEGMENT_MAX_AGE}, immutable",
    }
    if private:
        headers["Referrer-Policy"] = "no-referrer"
    # FileResponse does Range (206/416), ETag/If-None-Match, Last-Modified, HEAD and sendfile.
    return _SegmentFile(version.path, headers=headers)


class _SegmentFile(web.FileResponse):
    """A segment answer whose error statuses (a file removed after locate(), an unsatisfiable range) drop the
    long-lived caching and the media type meant for the bytes: a 404 must not be cached for a year."""

    def set_status(self, status: int, reason: str | None = None) -> None:
        super().set_status(status, reason)
        if status >= 400:
            self.headers["Cache-Control"] = "no-store"
            self.headers.pop("Content-Type", None)
