"""The REST API: minting tokens, managing groups and rooms, listing streams. Every route needs an admin token in
``Authorization`` or OpenTok's ``X-OPENTOK-AUTH`` (never in the URL), as the seeds' JWT REST API filters do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ...core.auth.minting import json_seconds, query_seconds
from ...core.catalog import StreamInfo, scan_streams
from ...core.errors import BadRequest, NotFound
from ...core.grants import Action, Group, Role
from ...core.groups import validate_members
from ...core.ingest.live import State, StreamState
from ...core.names import ID_PATTERN, ID_RULE, is_id
from ..context import SERVICES, Services, credentials

NO_STORE = {"Cache-Control": "no-store"}
TOKEN_FIELDS = frozenset({"stream", "group", "room", "type", "ttl", "expires_at"})
SCOPE_FIELDS = ("stream", "group", "room")
GROUP_FIELDS = frozenset({"streams", "room"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/tokens", _post_token)
    app.router.add_get(f"/rest/v2/broadcasts/{{stream:{ID_PATTERN}}}/jwt-token", _ant_media_token)
    app.router.add_get("/api/v1/groups", _list_groups)
    app.router.add_get(f"/api/v1/groups/{{group:{ID_PATTERN}}}", _get_group)
    app.router.add_put(f"/api/v1/groups/{{group:{ID_PATTERN}}}", _put_group)
    app.router.add_delete(f"/api/v1/groups/{{group:{ID_PATTERN}}}", _delete_group)
    app.router.add_get("/api/v1/streams", _list_streams)


async def _admin(request: web.Request) -> Services:
    """Let an admin in (through the gate); return the services."""
    services = request.app[SERVICES]
    await services.gate.authorize(credentials(request), Action.ADMIN)
    return services


# -- tokens --------------------------------------------------------------------------------------------------


async def _post_token(request: web.Request) -> web.Response:
    services = await _admin(request)
    body = await _json_object(request)
    unknown = sorted(set(body) - TOKEN_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(TOKEN_FIELDS))})")
    scope = {field: body[field] for field in SCOPE_FIELDS if body.get(field) is not None}
    if len(scope) != 1:
        raise BadRequest('give exactly one of "stream", "group" or "room"')
    [(kind, scope_id)] = scope.items()
    if not is_id(scope_id):
        raise BadRequest(f"stream, group and room ids are {ID_RULE}")
    stored = services.groups.snapshot.get(scope_id)
    if kind == "group" and stored is None:
        raise NotFound(f"no group {scope_id!r}: create it first with PUT /api/v1/groups/{scope_id}")
    if kind == "room" and (stored is None or not stored.room):
        raise NotFound(f"no room {scope_id!r}: create it first with PUT /api/v1/groups/{scope_id} "
                       '{"room": true}')
    role = _role(body.get("type", "play"))
    if "ttl" in body and "expires_at" in body:
        raise BadRequest('give "ttl" or "expires_at", not both')
    if "expires_at" in body:
        minted = services.minter.viewer(role, **scope, expires_at=json_seconds(body["expires_at"], "expires_at"),
                                        field="expires_at")
    else:
        ttl = json_seconds(body["ttl"], "ttl") if "ttl" in body else None
        minted = services.minter.viewer(role, **scope, ttl=ttl)
    return web.json_response({"token": minted.token, "type": role.value, **scope, "expires_at": minted.expires_at},
                             status=201, headers=NO_STORE)


async def _ant_media_token(request: web.Request) -> web.Response:
    """Ant Media's ``getJwtTokenV2``: ``GET /rest/v2/broadcasts/{streamId}/jwt-token?expireDate=&type=``.

    A conference room's token is minted here as Ant Media's users do: ``type=publish`` for the room's id. Its
    ``streamId`` claim names the room, so it has room scope while the room is stored (``grants.allows``)."""
    services = await _admin(request)
    stream = request.match_info["stream"]
    raw_expiry = request.query.get("expireDate")
    if raw_expiry is None:
        raise BadRequest("expireDate is required (a unix timestamp in seconds)")
    try:
        expiry = query_seconds(raw_expiry, "expireDate")
    except BadRequest:
        raise BadRequest("expireDate must be a unix timestamp in seconds") from None
    role = _role(request.query.get("type", ""))
    minted = services.minter.viewer(role, stream=stream, expires_at=expiry, field="expireDate")
    return web.json_response({"tokenId": minted.token, "streamId": stream, "expireDate": minted.expires_at,
                              "type": role.value}, headers=NO_STORE)


def _role(value: object) -> Role:
    if value == Role.PLAY.value:
        return Role.PLAY
    if value == Role.PUBLISH.value:
        return Role.PUBLISH
    raise BadRequest('type must be "play" or "publish"')


# -- groups --------------------------------------------------------------------------------------------------


async def _list_groups(request: web.Request) -> web.Response:
    services = await _admin(request)
    snapshot = services.groups.snapshot
    groups = {name: sorted(entry.streams) for name, entry in sorted(snapshot.items())}
    rooms = sorted(name for name, entry in snapshot.items() if entry.room)
    return web.json_response({"groups": groups, "rooms": rooms}, headers=NO_STORE)


async def _get_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    entry = services.groups.snapshot.get(group)
    if entry is None:
        raise NotFound(f"no group {group!r}")
    return web.json_response(_group_body(group, entry), headers=NO_STORE)


async def _put_group(request: web.Request) -> web.Response:
    """``{"streams": [...]}`` stores a group; ``{"streams": [...], "room": true}`` (or ``{"room": true}``) a room.
    The body replaces the group whole, its kind too."""
    services = await _admin(request)
    group = request.match_info["group"]
    body = await _json_object(request)
    room = body.get("room", False)
    if not set(body) <= GROUP_FIELDS or not isinstance(room, bool) or not ("streams" in body or room):
        raise BadRequest('the body must be {"streams": ["stream-id", ...]}, with "room": true for a room '
                         '(a room needs no streams: {"room": true})')
    entry = await services.groups.put(group, validate_members(body.get("streams", [])), room=room)
    return web.json_response(_group_body(group, entry), headers=NO_STORE)


def _group_body(group: str, entry: Group) -> dict[str, Any]:
    return {"group": group, "streams": sorted(entry.streams), "room": entry.room}


async def _delete_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    if not await services.groups.delete(group):
        raise NotFound(f"no group {group!r}")
    return web.Response(status=204, headers=NO_STORE)


# -- streams -------------------------------------------------------------------------------------------------


async def _list_streams(request: web.Request) -> web.Response:
    services = await _admin(request)
    found = await asyncio.get_running_loop().run_in_executor(None, scan_streams, services.media)
    live = services.live
    listed = {info.id for info in found}
    # An ingested stream whose first playlist has not landed yet is listed too.
    found += [StreamInfo(stream, (), 0) for stream in live.known_streams() if stream not in listed]
    found.sort(key=lambda info: info.id)
    groups = services.groups.snapshot
    streams = [{
        "id": info.id,
        "master": f"/hls/{info.id}/{info.playlist}",
        "renditions": [{
            "name": r.name,
            "playlist": f"/hls/{info.id}/{r.uri}",
            "bandwidth": r.bandwidth,
            "average_bandwidth": r.average_bandwidth,
            "resolution": f"{r.width}x{r.height}" if r.width and r.height else None,
            "frame_rate": r.frame_rate,
            "codecs": r.codecs,
        } for r in info.renditions],
        "updated_at": info.updated_at,
        "groups": sorted(g for g, entry in groups.items() if info.id in entry.streams),
        **_live_state(live.state(info.id), info),
    } for info in found]
    return web.json_response({"streams": streams}, headers=NO_STORE)


def _live_state(state: StreamState, info: StreamInfo) -> dict[str, Any]:
    """``state`` live, ended or vod; ``since`` when it went live or ended (a VoD: its master's mtime);
    ``bitrate`` in bits/s over the last segments, all renditions together, live only."""
    since = state.since if state.state is not State.VOD else (info.updated_at or None)
    return {"state": state.state.value, "since": since, "bitrate": state.bitrate}


# -- helpers -------------------------------------------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body

