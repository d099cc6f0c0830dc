"""The REST API: minting tokens, managing groups, listing streams. Every route needs an admin token in
``Authorization`` or OpenTok's ``X-OPENTOK-AUTH`` (never in the URL), as the seeds' JWT REST API filters do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ...core.auth.minting import json_seconds, query_seconds
from ...core.catalog import scan_streams
from ...core.errors import BadRequest, NotFound
from ...core.grants import Action, Role
from ...core.groups import validate_members
from ...core.names import ID_PATTERN, ID_RULE, MASTER_PLAYLIST, is_id
from ..context import SERVICES, Services, credentials

NO_STORE = {"Cache-Control": "no-store"}
TOKEN_FIELDS = frozenset({"stream", "group", "type", "ttl", "expires_at"})


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
    stream, group = body.get("stream"), body.get("group")
    if (stream is None) == (group is None):
        raise BadRequest('give exactly one of "stream" or "group"')
    if not is_id(stream if stream is not None else group):
        raise BadRequest(f"stream and group ids are {ID_RULE}")
    if group is not None and group not in services.groups.snapshot:
        raise NotFound(f"no group {group!r}: create it first with PUT /api/v1/groups/{group}")
    role = _role(body.get("type", "play"))
    if "ttl" in body and "expires_at" in body:
        raise BadRequest('give "ttl" or "expires_at", not both')
    if "expires_at" in body:
        minted = services.minter.viewer(role, stream=stream, group=group,
                                        expires_at=json_seconds(body["expires_at"], "expires_at"), field="expires_at")
    else:
        ttl = json_seconds(body["ttl"], "ttl") if "ttl" in body else None
        minted = services.minter.viewer(role, stream=stream, group=group, ttl=ttl)
    scope = {"stream": stream} if stream is not None else {"group": group}
    return web.json_response({"token": minted.token, "type": role.value, **scope, "expires_at": minted.expires_at},
                             status=201, headers=NO_STORE)


async def _ant_media_token(request: web.Request) -> web.Response:
    """Ant Media's ``getJwtTokenV2``: ``GET /rest/v2/broadcasts/{streamId}/jwt-token?expireDate=&type=``."""
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
    groups = {name: sorted(entry.streams) for name, entry in sorted(services.groups.snapshot.items())}
    return web.json_response({"groups": groups}, headers=NO_STORE)


async def _get_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    entry = services.groups.snapshot.get(group)
    if entry is None:
        raise NotFound(f"no group {group!r}")
    return web.json_response({"group": group, "streams": sorted(entry.streams)}, headers=NO_STORE)


async def _put_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    body = await _json_object(request)
    if set(body) != {"streams"}:
        raise BadRequest('the body must be {"streams": ["stream-id", ...]}')
    entry = await services.groups.put(group, validate_members(body["streams"]))
    return web.json_response({"group": group, "streams": sorted(entry.streams)}, headers=NO_STORE)


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
    groups = services.groups.snapshot
    streams = [{
        "id": info.id,
        "master": f"/hls/{info.id}/{MASTER_PLAYLIST}",
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
    } for info in found]
    return web.json_response({"streams": streams}, headers=NO_STORE)


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

