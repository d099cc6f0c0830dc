"""The web player: ``GET /api/v1/player-config`` and the player's files at ``/player/``.

``GET /api/v1/player-config?group=ID`` (or ``?stream=ID``, or ``?room=ID``) answers the H5Live-style config of
:mod:`hls_server.core.player_config`. A room's config (``?room=``, or ``?group=`` naming a room) lists the room's
streams: its listed streams that are published, then its own id and every ``{room}-{participant}`` stream found in
the media root. Who gets one is the gate's decision (``Action.PLAYER_CONFIG``):

- a viewer presenting a play token for that group or stream: the config carries that same token;
- an admin (header only): the server mints a fresh play token (``ttl`` seconds);
- nobody else: no token is ever handed to an anonymous caller, and a publish token is refused (a config is
  meant to be handed to viewers' browsers).

The files come from the built player (``player/dist``, or the copy packaged in the wheel): the page, its
scripts and styles, and hls.js under ``vendor/``; nothing else of the folder is reachable.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ...core.auth.minting import query_seconds
from ...core.catalog import StreamInfo, describe_stream, scan_streams
from ...core.errors import BadRequest, NotFound
from ...core.grants import Action, Group, Groups, Role, Target, participant_of
from ...core.ingest.live import State
from ...core.names import ID_RULE, is_id
from ...core.player_config import player_config
from ...core.settings import Settings
from ..context import SERVICES, Services, credentials
from ..middleware import preflight

log = logging.getLogger(__name__)

CONFIG_PATH = "/api/v1/player-config"
CONFIG_PARAMS = frozenset({"group", "room", "stream", "token", "ttl"})
HLS_JS_DIST = Path("vendor")  # inside the built player (dist/): hls.js as its package distributes it
ASSET_PATTERN = r"[a-z0-9-]{1,64}\.(?:js|css|svg|ico|png)"
VENDOR_PATTERN = r"hls(?:\.light)?\.min\.js(?:\.map)?"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
               ".ico": "image/x-icon", ".png": "image/png", ".map": "application/json",
               ".html": "text/html; charset=utf-8"}
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_NOT_URL_SAFE = re.compile(rb"[^\x21-\x7e]")


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
        raise BadRequest(f"unknown parameter {unknown[0]!r} (parameters: group, room or stream, ttl for admin "
                         "callers)")
    group, room, stream = _single(query, "group"), _single(query, "room"), _single(query, "stream")
    given = [value for value in (group, room, stream) if value is not None]
    if len(given) != 1:
        raise BadRequest("give exactly one of ?group=ID, ?room=ID or ?stream=ID")
    if not is_id(given[0]):
        raise BadRequest(f"stream, group and room ids are {ID_RULE}")
    group = group if room is None else room  # a room is a group: its config is the group target's
    presented = credentials(request)
    grant = await services.gate.authorize(presented, Action.PLAYER_CONFIG, Target(stream, group))
    ttl = query.get("ttl")
    token: str | None = None
    expires_at: float | None = None
    if grant.public:  # --no-auth: streams are public and there is no token to hand out
        if ttl is not None:
            raise BadRequest("ttl has no meaning on a server without tokens (--no-auth)")
    elif grant.role is Role.ADMIN:
        if group is not None:
            _stored(services.groups.snapshot, group, room=room is not None)
        minted = services.minter.viewer(Role.PLAY, stream=stream, group=group,
                                        ttl=query_seconds(ttl, "ttl") if ttl is not None else None)
        token, expires_at = minted.token, minted.expires_at
    else:
        if ttl is not None:
            raise BadRequest("ttl is for admin callers; a viewer's config carries the viewer's own token")
        token, expires_at = presented.present().token, grant.expires_at

    loop = asyncio.get_running_loop()
    is_room = False
    if group is not None:
        snapshot = services.groups.snapshot
        entry = _stored(snapshot, group, room=room is not None)
        is_room = entry.room
        if is_room:
            streams = await loop.run_in_executor(None, _describe_room, services, group, entry, snapshot)
        else:
            streams = await loop.run_in_executor(None, _describe_all, services, sorted(entry.streams))
    else:
        info = await loop.run_in_executor(None, describe_stream, services.media, stream or "")
        # Not published yet: a live stream whose encoder has not started. Its config lists it without
        # renditions, neither live nor not ("live": null), and the player says "not live yet" and checks again.
        streams = [info if info is not None else StreamInfo(stream or "", (), 0)]
    config = player_config(streams, base_url=_base_url(request, services), token=token, expires_at=expires_at,
                           group=group, stream=stream, now=time.time(),
                           renew_url=services.settings.player.renew_url,
                           renew_before=services.settings.player.renew_before,
                           room=is_room, live=live_predicate(services))
    return web.json_response(config, headers=NO_STORE)


def live_predicate(services: Services) -> Callable[[str], bool]:
    """Whether a stream is live now (the live registry), for the config's ``source.streams[].live``."""
    live = services.live
    return lambda stream: live.state(stream).state is State.LIVE


def _stored(groups: Groups, group: str, *, room: bool) -> Group:
    """The stored group (``room``: it must be a room), else NotFound."""
    entry = groups.get(group)
    if room and (entry is None or not entry.room):
        raise NotFound(f"no room {group!r}: create it first with PUT /api/v1/groups/{group} " '{"room": true}')
    if entry is None:
        raise NotFound(f"no group {group!r}: create it first with PUT /api/v1/groups/{group}")
    return entry


def _describe_all(services: Services, names: list[str]) -> list[StreamInfo]:
    """The published ones among ``names`` (blocking: one executor hop for the whole group)."""
    return [info for info in (describe_stream(services.media, name) for name in names) if info is not None]


def _describe_room(services: Services, room: str, entry: Group, groups: Groups) -> list[StreamInfo]:
    """A room's published streams: its listed ones, then its own id and its participants' (blocking)."""
    listed = _describe_all(services, sorted(entry.streams))
    found = scan_streams(services.media, lambda name: (name == room or participant_of(room, name, groups))
                         and name not in entry.streams)
    return listed + found


def _single(query: Any, name: str) -> str | None:
    values = query.getall(name, ())
    if len(values) > 1:
        raise BadRequest(f"give {name} once")
    return values[0] if values else None


def _base_url(request: web.Request, services: Services) -> str:
    return services.settings.public_url or f"{request.scheme}://{request.host}"


# -- the player's files --------------------------------------------------------------------------------------


async def _to_player(request: web.Request) -> web.StreamResponse:
    """``/player`` -> ``/player/``, keeping the query exactly as it arrived: a decoded one could turn ``%0d%0a`` into
    a header break or ``%23`` into a fragment. Bytes a Location header cannot hold verbatim are percent-encoded."""
    raw_query = request.raw_path.partition("?")[2]
    encoded = _NOT_URL_SAFE.sub(lambda m: b"%%%02X" % m[0][0], raw_query.encode("utf-8", "surrogateescape"))
    location = "/player/" + (f"?{encoded.decode('ascii')}" if raw_query else "")
    return web.Response(status=301, headers={"Location": location, **NO_STORE})


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

