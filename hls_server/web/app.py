"""The aiohttp application: routes, the one place where errors become HTTP answers, CORS, and the media handlers.

Security is decided elsewhere (``auth`` verifies, ``grants.allows`` decides); this module asks, in this order:
which token (before anything else), does it allow this stream (before the filesystem is touched), then
which file. A missing stream and a forbidden one therefore look the same to a caller without a token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .. import __version__
from ..core.auth.verifier import JwksSource, Verifier, pick_token
from ..core.errors import AuthError, Forbidden, PayloadTooLarge, RequestError
from ..core.grants import NAME_RE, Action, Grant, allows
from ..core.groups import GroupStore
from ..core.media import (
    CONTENT_TYPES,
    PLAYLIST_PATTERN,
    SEGMENT_PATTERN,
    CachedPlaylist,
    MediaRoot,
    PlaylistCache,
)
from ..core.settings import Settings

log = logging.getLogger(__name__)

NAME = NAME_RE.pattern
MAX_API_BODY_BYTES = 64 * 1024
SEGMENT_MAX_AGE = 365 * 24 * 3600  # segment names are never reused for other bytes
PLAYLIST_VOD_MAX_AGE = 60
PLAYLIST_LIVE_MAX_AGE = 1
CORS_MAX_AGE = 600
REALM = "hlsgate"
# What a player on another origin fetches: media, its config, the player's scripts. Never the admin API.
CORS_PREFIXES = ("/hls/", "/api/v1/player-config", "/player/")


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler needs, built once per application."""

    settings: Settings
    media: MediaRoot
    playlists: PlaylistCache
    groups: GroupStore
    viewer: Verifier | None  # None when auth is off (--no-auth)
    admin: Verifier | None  # None when no admin key is configured: the REST API answers 503


SERVICES = web.AppKey("services", Services)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings) -> web.Application:
    """Build the origin. Key files are read and weak keys refused here, before anything listens."""
    media = MediaRoot(settings.media_root)
    groups = GroupStore(settings.state_dir)
    groups.load()
    viewer = _verifier(settings, admin=False) if settings.auth_enabled else None
    admin = _verifier(settings, admin=True) if settings.admin.configured else None
    services = Services(settings, media, PlaylistCache(media, settings.playlist_revalidate), groups, viewer, admin)

    app = web.Application(middlewares=[_edge], client_max_size=MAX_API_BODY_BYTES)
    app[SERVICES] = services
    app.cleanup_ctx.append(_jwks_lifecycle)
    app.router.add_get("/healthz", _healthz)
    for path, handler in ((f"/hls/{{stream:{NAME}}}/{{name:{PLAYLIST_PATTERN}}}", _playlist),
                          (f"/hls/{{stream:{NAME}}}/{{rendition:{NAME}}}/{{name:{PLAYLIST_PATTERN}}}", _playlist),
                          (f"/hls/{{stream:{NAME}}}/{{rendition:{NAME}}}/{{name:{SEGMENT_PATTERN}}}", _segment)):
        # Preflight on the media routes only: a catch-all OPTIONS route would turn every unknown /hls/ path
        # into a 405 "Allow: OPTIONS" instead of a 404.
        app.router.add_get(path, handler)
        app.router.add_route("OPTIONS", path, preflight)

    from .routes import api, player  # they register their own routes; imported here to keep the layers one-way

    api.add_routes(app)
    player.add_routes(app)
    return app


def _verifier(settings: Settings, *, admin: bool) -> Verifier:
    keys = settings.admin if admin else settings.viewer
    jwks = None
    if keys.jwks_url:
        jwks = JwksSource(keys.jwks_url, keys.algorithms, ttl=settings.jwks_ttl,
                          min_refetch=settings.jwks_min_refetch, timeout=settings.jwks_timeout)
    return Verifier(keys, max_token_bytes=settings.max_token_bytes, cache_size=settings.token_cache_size,
                    admin=admin, jwks=jwks)


async def _jwks_lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    sources = [v.jwks for v in (services.viewer, services.admin) if v is not None and v.jwks is not None]
    if not sources:
        yield
        return
    async with aiohttp.ClientSession(headers={"User-Agent": f"hlsgate/{__version__}"}) as session:
        for source in sources:
            source.bind(session)
            await source.refresh()  # failures are logged; the server starts and keeps trying
        yield


# -- the edge: errors, CORS and headers for every response ---------------------------------------------------


@web.middleware
async def _edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except RequestError as err:
        response = error_response(err)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(PayloadTooLarge(f"the request body is larger than {MAX_API_BODY_BYTES} bytes"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _http_error(exc)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith(CORS_PREFIXES):
        _cors(request, response)
    return response


def error_response(err: RequestError) -> web.Response:
    """The single mapping from an error to an answer. The description never holds a token or a secret."""
    body = {"error": err.code, "error_description": str(err)}
    headers = {"Cache-Control": "no-store"}
    if isinstance(err, AuthError):
        description = str(err).replace("\\", "").replace('"', "'")
        headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", error="invalid_token", '
                                       f'error_description="{description}"')
    return web.json_response(body, status=err.status, headers=headers, dumps=_dumps)


def _http_error(exc: web.HTTPException) -> web.Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    body = {"error": codes.get(exc.status, "bad_request"), "error_description": exc.reason}
    headers = {"Cache-Control": "no-store"}
    if "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    return web.json_response(body, status=exc.status, headers=headers, dumps=_dumps)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _cors(request: web.Request, response: web.StreamResponse) -> None:
    origin = request.headers.get("Origin")
    allowed = request.app[SERVICES].settings.cors_origins
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers.add("Vary", "Origin")  # the answer depends on Origin, allowed or not: caches must key on it
        if origin is None or origin not in allowed:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "Content-Length, Content-Range, ETag"


async def preflight(request: web.Request) -> web.Response:
    response = web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Range, If-None-Match, If-Modified-Since",
        "Access-Control-Max-Age": str(CORS_MAX_AGE),
    })
    return response


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__}, headers={"Cache-Control": "no-store"})


# -- media ---------------------------------------------------------------------------------------------------


async def _authorize_play(request: web.Request, stream: str) -> str | None:
    """Check the request's token for playing ``stream``. Returns the query token to carry into playlists."""
    services = request.app[SERVICES]
    if services.viewer is None:
        return None
    query_tokens = request.query.getall("token", ())
    token = pick_token(query_tokens, request.headers.get("Authorization"))
    grant: Grant = await services.viewer.verify(token)
    if not allows(grant, Action.PLAY, stream, services.groups.snapshot):
        raise Forbidden("this token does not grant playback of this stream")
    return token if query_tokens else None


async def _playlist(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    info = request.match_info
    stream = info["stream"]
    token = await _authorize_play(request, stream)
    entry = await services.playlists.get(stream, info.get("rendition"), info["name"])
    etag = entry.etag(token)
    headers = {
        "Content-Type": CONTENT_TYPES[".m3u8"],
        "Cache-Control": _playlist_cache_control(entry, private=services.viewer is not None),
        "ETag": etag,
        "Last-Modified": entry.last_modified,
    }
    if services.viewer is not None:
        headers["Referrer-Policy"] = "no-referrer"
    if _etag_matches(etag, request.headers.get("If-None-Match")):
        return web.Response(status=304, headers=headers)
    body = entry.body if token is None else entry.template.render(token, request.host)
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
    await _authorize_play(request, stream)
    version = await services.media.locate_async(stream, info["rendition"], info["name"])
    private = services.viewer is not None
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
