"""The REST API: minting tokens, managing groups, listing streams. Every route but the OpenAPI document needs an
admin token in ``Authorization`` (never in the URL), as the seeds' JWT REST API filter does.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from aiohttp import web

from ...core.auth.verifier import mint, pick_token, viewer_claims
from ...core.catalog import scan_streams
from ...core.errors import BadRequest, Forbidden, NotFound, Unavailable
from ...core.grants import NAME_RE, Action, Role, allows, is_name
from ...core.groups import validate_members
from ...core.media import MASTER_PLAYLIST
from ..app import SERVICES, Services
from ..openapi import openapi_document

NAME = NAME_RE.pattern
NO_STORE = {"Cache-Control": "no-store"}
TOKEN_FIELDS = frozenset({"stream", "group", "type", "ttl", "expires_at"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", _openapi)
    app.router.add_post("/api/v1/tokens", _post_token)
    app.router.add_get(f"/rest/v2/broadcasts/{{stream:{NAME}}}/jwt-token", _ant_media_token)
    app.router.add_get("/api/v1/groups", _list_groups)
    app.router.add_get(f"/api/v1/groups/{{group:{NAME}}}", _get_group)
    app.router.add_put(f"/api/v1/groups/{{group:{NAME}}}", _put_group)
    app.router.add_delete(f"/api/v1/groups/{{group:{NAME}}}", _delete_group)
    app.router.add_get("/api/v1/streams", _list_streams)


async def _admin(request: web.Request) -> Services:
    """Check the admin token of a request (Authorization header only); return the services."""
    services = request.app[SERVICES]
    if services.admin is None:
        raise Unavailable("the REST API is off: set HLSGATE_ADMIN_SECRET (or admin.jwks_url) to enable it")
    token = pick_token((), request.headers.get("Authorization"))
    grant = await services.admin.verify(token)
    if not allows(grant, Action.ADMIN):
        raise Forbidden("an admin token is required; play and publish tokens cannot use the API")
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
    if not is_name(stream if stream is not None else group):
        raise BadRequest("stream and group ids are 1-64 letters, digits, '-' or '_'")
    if group is not None and group not in services.groups.snapshot:
        raise NotFound(f"no group {group!r}: create it first with PUT /api/v1/groups/{group}")
    role = _role(body.get("type", "play"))
    now = time.time()
    if "ttl" in body and "expires_at" in body:
        raise BadRequest('give "ttl" or "expires_at", not both')
    if "expires_at" in body:
        expires_at = checked_expiry(body["expires_at"], now, services, "expires_at")
    else:
        ttl = _whole_seconds(body.get("ttl", services.settings.default_token_ttl), "ttl")
        expires_at = checked_expiry(int(now) + ttl, now, services, "ttl")
    token = mint_viewer(services, role, stream=stream, group=group, expires_at=expires_at, now=now)
    scope = {"stream": stream} if stream is not None else {"group": group}
    return web.json_response({"token": token, "type": role.value, **scope, "expires_at": expires_at},
                             status=201, headers=NO_STORE)


async def _ant_media_token(request: web.Request) -> web.Response:
    """Ant Media's ``getJwtTokenV2``: ``GET /rest/v2/broadcasts/{streamId}/jwt-token?expireDate=&type=``."""
    services = await _admin(request)
    stream = request.match_info["stream"]
    raw_expiry = request.query.get("expireDate")
    if raw_expiry is None:
        raise BadRequest("expireDate is required (a unix timestamp in seconds)")
    try:
        if not (raw_expiry.isascii() and raw_expiry.isdigit()):  # int() alone takes " 1", "+1", "1_0", non-ASCII digits
            raise ValueError(raw_expiry)
        expiry_value = int(raw_expiry)  # ValueError beyond 4300 digits
    except ValueError:
        raise BadRequest("expireDate must be a unix timestamp in seconds") from None
    now = time.time()
    expires_at = checked_expiry(expiry_value, now, services, "expireDate")
    role = _role(request.query.get("type", ""))
    token = mint_viewer(services, role, stream=stream, group=None, expires_at=expires_at, now=now)
    return web.json_response({"tokenId": token, "streamId": stream, "expireDate": expires_at, "type": role.value},
                             headers=NO_STORE)


def mint_viewer(services: Services, role: Role, *, stream: str | None, group: str | None, expires_at: int,
                 now: float) -> str:
    secret = services.settings.viewer.signing_secret
    if secret is None:
        raise Unavailable("this server holds no signing secret (its tokens are signed elsewhere); "
                          "set HLSGATE_JWT_SECRET to mint tokens here")
    claims = viewer_claims(role, stream=stream, group=group, expires_at=expires_at, now=now,
                           settings=services.settings.viewer)
    return mint(secret, claims)


def _role(value: object) -> Role:
    if value == Role.PLAY.value:
        return Role.PLAY
    if value == Role.PUBLISH.value:
        return Role.PUBLISH
    raise BadRequest('type must be "play" or "publish"')


def _whole_seconds(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or int(value) != value:
        raise BadRequest(f"{name} must be a whole number of seconds")
    return int(value)


def checked_expiry(value: object, now: float, services: Services, name: str) -> int:
    expires_at = _whole_seconds(value, name)
    lifetime = expires_at - now
    max_ttl = services.settings.max_token_ttl
    if lifetime <= 0:  # not "< 1": ttl=1 from a fractional now leaves less than a second, still a valid token
        raise BadRequest(f"{name} gives a token that is already expired")
    if lifetime > max_ttl:
        raise BadRequest(f"{name} gives a token living longer than the allowed {max_ttl} s (tokens.max_ttl)")
    return expires_at


# -- groups --------------------------------------------------------------------------------------------------


async def _list_groups(request: web.Request) -> web.Response:
    services = await _admin(request)
    groups = {name: sorted(streams) for name, streams in sorted(services.groups.snapshot.items())}
    return web.json_response({"groups": groups}, headers=NO_STORE)


async def _get_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    streams = services.groups.snapshot.get(group)
    if streams is None:
        raise NotFound(f"no group {group!r}")
    return web.json_response({"group": group, "streams": sorted(streams)}, headers=NO_STORE)


async def _put_group(request: web.Request) -> web.Response:
    services = await _admin(request)
    group = request.match_info["group"]
    body = await _json_object(request)
    if set(body) != {"streams"}:
        raise BadRequest('the body must be {"streams": ["stream-id", ...]}')
    streams = await services.groups.put(group, validate_members(body["streams"]))
    return web.json_response({"group": group, "streams": sorted(streams)}, headers=NO_STORE)


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
        "groups": sorted(g for g, members in groups.items() if info.id in members),
    } for info in found]
    return web.json_response({"streams": streams}, headers=NO_STORE)


# -- helpers -------------------------------------------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})
