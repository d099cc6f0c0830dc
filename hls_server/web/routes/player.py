"""The web player: the H5Live-style player config endpoint, and the player's files at ``/player/``.

``GET /api/v1/player-config?group=ID`` (or ``?stream=ID``) answers the config nanoStream's H5Live player takes
(``source.group.security.jwtoken``, ``source.entries[].h5live``) plus what hlsgate's player needs: each
stream's master playlist and when the token expires. Who gets one:

- a viewer presenting a play token for that group or stream: the config carries that same token;
- an admin (``Authorization`` only): the server mints a fresh play token (``ttl`` seconds);
- nobody else: the endpoint never hands a token to an anonymous caller.

A publish token is refused here: a player config is meant to be handed to viewers' browsers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from ...core.auth.verifier import pick_token
from ...core.catalog import StreamInfo, describe_stream
from ...core.errors import AuthError, BadRequest, Forbidden, NotFound, TokenInvalid
from ...core.grants import Action, Grant, Role, allows, is_name
from ...core.media import MASTER_PLAYLIST
from ...core.settings import Settings
from ..app import SERVICES, Services, preflight
from .api import checked_expiry, mint_viewer

log = logging.getLogger(__name__)

CONFIG_PATH = "/api/v1/player-config"
CONFIG_PARAMS = frozenset({"group", "stream", "token", "ttl"})
HLS_JS_DIST = Path("vendor")  # inside the built player (dist/): hls.js as its package distributes it
ASSET_PATTERN = r"[a-z0-9-]{1,64}\.(?:js|css|svg|ico|png)"
VENDOR_PATTERN = r"hls(?:\.light)?\.min\.js(?:\.map)?"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
               ".ico": "image/x-icon", ".png": "image/png", ".map": "application/json",
               ".html": "text/html; charset=utf-8"}
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PLAYBACK_DEFAULTS = {"autoplay": True, "automute": True, "muted": True}
STYLE_DEFAULTS = {"displayMutedAutoplay": True}


def add_routes(app: web.Application) -> None:
    app.router.add_get(CONFIG_PATH, _player_config)
    app.router.add_route("OPTIONS", CONFIG_PATH, preflight)  # a host page on another origin sends Authorization
    settings = app[SERVICES].settings
    if settings.player.dir is None:
        return
    files = _PlayerFiles(settings.player.dir, content_security_policy(settings))
    if not files.installed:
        log.warning("the web player in %s is incomplete (no vendor/hls.min.js): rebuild it with `make player`",
                    settings.player.dir)
    app.router.add_get("/player", _to_player)
    app.router.add_get("/player/", files.page)
    app.router.add_get(f"/player/{{name:{ASSET_PATTERN}}}", files.asset)
    app.router.add_get(f"/player/vendor/{{name:{VENDOR_PATTERN}}}", files.vendor)


# -- the config ----------------------------------------------------------------------------------------------


async def _player_config(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    query = request.query
    unknown = sorted(set(query) - CONFIG_PARAMS)
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r} (parameters: group or stream, ttl for admin callers)")
    group, stream = _single(query, "group"), _single(query, "stream")
    if (group is None) == (stream is None):
        raise BadRequest("give exactly one of ?group=ID or ?stream=ID")
    scope = group if group is not None else (stream or "")
    if not is_name(scope):
        raise BadRequest("stream and group ids are 1-64 letters, digits, '-' or '_'")

    token, expires_at = await _token_for(request, services, group=group, stream=stream)
    loop = asyncio.get_running_loop()
    if group is not None:
        members = services.groups.snapshot.get(group)
        if members is None:
            raise NotFound(f"no group {group!r}")
        streams = await loop.run_in_executor(None, _describe_all, services, sorted(members))
    else:
        info = await loop.run_in_executor(None, describe_stream, services.media, scope)
        if info is None:
            raise NotFound(f"stream {stream!r} is not published")
        streams = [info]
    config = player_config(streams, base_url=_base_url(request, services), token=token, expires_at=expires_at,
                           group=group, stream=stream, now=time.time(), renew_url=services.settings.player.renew_url,
                           renew_before=services.settings.player.renew_before)
    return web.json_response(config, headers=NO_STORE)


def _describe_all(services: Services, names: list[str]) -> list[StreamInfo]:
    """The published ones among ``names`` (blocking: one executor hop for the whole group)."""
    return [info for info in (describe_stream(services.media, name) for name in names) if info is not None]


def _single(query: Any, name: str) -> str | None:
    values = query.getall(name, ())
    if len(values) > 1:
        raise BadRequest(f"give {name} once")
    return values[0] if values else None


async def _token_for(request: web.Request, services: Services, *, group: str | None,
                     stream: str | None) -> tuple[str | None, float | None]:
    """The token the config carries and its expiry: the caller's play token, or a fresh one for an admin."""
    if services.viewer is None:  # --no-auth: streams are public and there is no token to hand out
        if "ttl" in request.query:
            raise BadRequest("ttl has no meaning on a server without tokens (--no-auth)")
        return None, None
    query_tokens = request.query.getall("token", ())
    token = pick_token(query_tokens, request.headers.get("Authorization"))
    admin_error: AuthError | None = None
    if not query_tokens and services.admin is not None:  # admin tokens travel in the header only
        try:
            if allows(await services.admin.verify(token), Action.ADMIN):
                return _mint_for_admin(request, services, group=group, stream=stream)
        except AuthError as err:
            admin_error = err
    try:
        grant = await services.viewer.verify(token)
    except TokenInvalid:
        # The signature held under the admin keys but the token is expired, early ...: that says more than
        # "invalid signature" from the viewer keys.
        if admin_error is not None and not isinstance(admin_error, TokenInvalid):
            raise admin_error from None
        raise
    if "ttl" in request.query:
        raise BadRequest("ttl is for admin callers; a viewer's config carries the viewer's own token")
    _check_viewer_scope(grant, services, group=group, stream=stream)
    return token, grant.expires_at


def _check_viewer_scope(grant: Grant, services: Services, *, group: str | None, stream: str | None) -> None:
    if grant.role is Role.PUBLISH:
        raise Forbidden("a publish token is not handed to players: mint a play token (POST /api/v1/tokens)")
    if grant.role is not Role.PLAY:
        raise Forbidden("a play token for this group or stream is required")
    if group is not None and group not in grant.groups:
        raise Forbidden("this token does not grant this group")
    if stream is not None and not allows(grant, Action.PLAY, stream, services.groups.snapshot):
        raise Forbidden("this token does not grant this stream")


def _mint_for_admin(request: web.Request, services: Services, *, group: str | None,
                    stream: str | None) -> tuple[str, float]:
    if group is not None and group not in services.groups.snapshot:
        raise NotFound(f"no group {group!r}: create it first with PUT /api/v1/groups/{group}")
    now = time.time()
    ttl = _ttl(request.query["ttl"]) if "ttl" in request.query else services.settings.default_token_ttl
    expires_at = checked_expiry(int(now) + ttl, now, services, "ttl")
    token = mint_viewer(services, Role.PLAY, stream=stream, group=group, expires_at=expires_at, now=now)
    return token, expires_at


def _ttl(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # int() alone takes " 1", "+1", "1_0"
        raise BadRequest("ttl must be a whole number of seconds")
    return int(raw)


def _base_url(request: web.Request, services: Services) -> str:
    return services.settings.public_url or f"{request.scheme}://{request.host}"


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


# -- the player's files --------------------------------------------------------------------------------------


async def _to_player(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(URL.build(path="/player/", query_string=request.query_string, encoded=True))


class _PlayerFiles:
    """The player's own files (index.html, scripts, styles) and hls.js from the npm-installed package."""

    def __init__(self, folder: Path, csp: str) -> None:
        self.folder = folder
        self.csp = csp

    @property
    def installed(self) -> bool:
        return _hls_js(self.folder, "hls.min.js").is_file()

    async def page(self, request: web.Request) -> web.StreamResponse:
        if not self.installed:
            return web.Response(status=503, text="The web player is not built: run `make player` in the hlsgate "
                                                 "checkout (make demo does), then reload.\n",
                                headers={"Cache-Control": "no-store"})
        headers = {**NO_STORE, "Content-Type": ASSET_TYPES[".html"], "Content-Security-Policy": self.csp}
        return web.FileResponse(self.folder / "index.html", headers=headers)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        return _file(self.folder / request.match_info["name"])

    async def vendor(self, request: web.Request) -> web.StreamResponse:
        return _file(_hls_js(self.folder, request.match_info["name"]))


def _hls_js(folder: Path, name: str) -> Path:
    return folder / HLS_JS_DIST / name


def _file(path: Path) -> web.StreamResponse:
    if not path.is_file():  # names are matched by the route's pattern: no traversal reaches here
        raise NotFound("no such player file")
    suffix = ".map" if path.name.endswith(".map") else path.suffix
    # no-cache: revalidated by ETag on every load, so an upgraded player is never mixed with a stale script.
    return web.FileResponse(path, headers={"Content-Type": ASSET_TYPES[suffix], "Cache-Control": "no-cache"})


def content_security_policy(settings: Settings) -> str:
    """The player page runs only its own scripts; media and API calls go to this origin (or public_url)."""
    extra = " ".join(sorted({_origin(url) for url in (settings.public_url, settings.player.renew_url)
                             if _origin(url)}))
    connect = f"'self' {extra}".strip()
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src 'self' blob: {extra}".rstrip() + "; worker-src 'self' blob:; "
            f"connect-src {connect}; base-uri 'none'; form-action 'none'; object-src 'none'")


def _origin(url: str | None) -> str:
    if not url or url.startswith("/"):
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

