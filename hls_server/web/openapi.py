"""The OpenAPI 3.1 document of the origin, served at ``/api/v1/openapi.json``.

Plain data built once (:func:`openapi_document` is cached): the REST API under ``/api/v1`` and ``/rest/v2``, the
media routes under ``/hls`` and ``/healthz``. The path patterns come from the same constants the router uses and
the error codes from the error tree, so the document cannot drift from the server on those; the tests check the
rest (every route documented, real responses valid against the schemas).

Two paths differ from the router's view on purpose: the router has one route per file kind, but OpenAPI forbids two
templated paths of the same shape, so the rendition level is one path whose ``file`` is a playlist or a segment.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import __version__
from ..core.errors import AuthError, RequestError
from ..core.groups import MAX_STREAMS_PER_GROUP
from ..core.names import ID_PATTERN as ID_RE_PATTERN
from ..core.names import MASTER_PLAYLIST, PLAYLIST_PATTERN, SEGMENT_PATTERN
from ..core.settings import DEFAULT_ADMIN_MAX_LIFETIME, DEFAULT_MAX_TOKEN_TTL, DEFAULT_TOKEN_TTL
from .routes.player import ASSET_PATTERN, VENDOR_PATTERN

ID_PATTERN = f"^{ID_RE_PATTERN}$"
PLAYLIST_NAME_PATTERN = f"^{PLAYLIST_PATTERN}$"
RENDITION_FILE_PATTERN = f"^(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})$"
JSON = "application/json"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPES = ("video/mp2t", "video/iso.segment", "video/mp4")

Json = dict[str, Any]

ADMIN_SECURITY: list[Json] = [{"adminBearer": []}, {"adminAuthorization": []}, {"adminOpenTok": []}]
VIEWER_SECURITY: list[Json] = [{"viewerQuery": []}, {"viewerBearer": []}]
NO_SECURITY: list[Json] = []

DESCRIPTION = f"""\
hlsgate serves HLS streams (playlists and segments) to viewers holding a JWT, and offers a small REST API to mint
those tokens, manage stream groups and list the published streams.

**Viewer tokens** (type `play` or `publish`) open one stream (`streamId` claim), every stream of a group (`group`
claim) or of a conference room (`roomId` claim, or a `streamId`/`group` naming a group stored as a room). A room's
streams are its listed ones, its participants' `{{room}}-{{participant}}` and its own id; a room's publish token
publishes the first two and plays them all. Send one as `?token=` on the master playlist URL: the origin copies it
into every playlist and segment URL it serves, so a stock HLS player needs no change. An `Authorization: Bearer`
header works as well. Two different tokens in one request are refused.

**Admin tokens** open the REST API, in a header only (never in the URL, where logs and referrers would keep it):
`Authorization: Bearer <jwt>`, the bare `Authorization: <jwt>` that Ant Media's JWT REST API filter sends, or OpenTok's
`X-OPENTOK-AUTH: <jwt>`. A token verified by an admin key (`HLSGATE_ADMIN_SECRET`, admin secrets by `kid`, or the
admin JWKS) is an admin token: it needs no `type` claim (Ant Media's, OpenTok's and OAuth access tokens carry none),
and any `type` but `admin` is refused. It carries `iat` and `exp` at most {DEFAULT_ADMIN_MAX_LIFETIME:g} seconds apart
(`admin.max_lifetime`), and the configured `admin.audience`, `admin.issuer` and `admin.scope` (in `scope` or `scp`).
`hlsgate admin-token` prints one. A server without an admin key answers every API call with 503.

Errors are JSON objects `{{"error": code, "error_description": text}}`; the description says what to do and never
contains a token. Authentication failures are 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
"""


def _ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json_body(schema_name: str, description: str) -> Json:
    return {"description": description, "content": {JSON: {"schema": _ref("schemas", schema_name)}}}


def _error_codes(status: int) -> list[str]:
    """The ``error`` codes of every request error answering with ``status`` (the error tree is the source)."""
    codes: set[str] = set()
    pending: list[type[RequestError]] = [RequestError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.status == status:
            codes.add(cls.code)
    return sorted(codes)


def _error_response(status: int, description: str) -> Json:
    schema = {"allOf": [_ref("schemas", "Error")], "properties": {"error": {"enum": _error_codes(status)}}}
    response: Json = {"description": description, "headers": {"Cache-Control": _ref("headers", "NoStore")},
                      "content": {JSON: {"schema": schema}}}
    if status == AuthError.status:
        response["headers"]["WWW-Authenticate"] = _ref("headers", "WWWAuthenticate")
    return response


def _admin_errors(*statuses: int) -> Json:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 413: "PayloadTooLarge",
             503: "ApiOff"}
    return {str(status): _ref("responses", names[status]) for status in sorted({401, 503, *statuses})}


def _id_schema(what: str, examples: list[str]) -> Json:
    return {"type": "string", "pattern": ID_PATTERN, "minLength": 1, "maxLength": 64,
            "description": f"A {what} id: 1 to 64 ASCII letters, digits, `-` or `_`, compared exactly.",
            "examples": examples}


def _components() -> Json:
    stream_id = _ref("schemas", "StreamId")
    group_id = _ref("schemas", "GroupId")
    schemas: Json = {
        "StreamId": _id_schema("stream", ["s1", "lobby-cam_2"]),
        "GroupId": _id_schema("group or room", ["conference", "paid_tier"]),
        "Error": {
            "type": "object",
            "description": "Every error answer of the origin.",
            "required": ["error", "error_description"],
            "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "description": "A stable, machine-readable code.",
                          "examples": ["token_expired"]},
                "error_description": {"type": "string",
                                      "description": "What went wrong and what to do, for a person to read."},
            },
        },
        "PlayerConfig": {
            "type": "object",
            "description": "An H5Live-style player config (nanoStream's `source.group.security.jwtoken` and "
                           "`source.entries[].h5live`), plus each stream's master playlist and the token's expiry. "
                           "URLs carry no token: a player adds `?token=` to the playlist it loads.",
            "required": ["source", "playback", "style", "security"],
            "properties": {
                "source": {
                    "type": "object",
                    "required": ["entries", "streams", "startIndex"],
                    "properties": {
                        "group": {"allOf": [{"$ref": "#/components/schemas/ScopeSecurity"}], "properties": {
                            "room": {"const": True, "description": "Present when the group is a room."}}},
                        "stream": {"$ref": "#/components/schemas/ScopeSecurity"},
                        "entries": {"type": "array", "items": {"$ref": "#/components/schemas/PlayerEntry"},
                                    "description": "One per rendition of every stream, in master playlist order."},
                        "streams": {"type": "array", "items": {
                            "type": "object", "required": ["id", "master", "entries"],
                            "properties": {"id": stream_id,
                                           "master": {"type": "string", "format": "uri",
                                                      "description": "The playlist at the stream's root: "
                                                                     "master.m3u8, or a single rendition's "
                                                                     "index.m3u8."},
                                           "entries": {"type": "array", "items": {"type": "integer"}},
                                           "live": {"type": "boolean",
                                                    "description": "Whether the stream is live now; absent "
                                                                   "when the server cannot tell."}}}},
                        "startIndex": {"type": "integer", "minimum": 0},
                    },
                },
                "playback": {"type": "object"},
                "style": {"type": "object"},
                "security": {
                    "type": "object",
                    "required": ["expiresAt", "serverTime", "renewBefore", "renewUrl"],
                    "properties": {
                        "expiresAt": {"type": ["integer", "null"], "description": "The token's `exp` (unix s)."},
                        "serverTime": {"type": "integer", "description": "The server's clock (unix s)."},
                        "renewBefore": {"type": "integer", "description": "Seconds before expiry to renew."},
                        "renewUrl": {"type": ["string", "null"],
                                     "description": "Where a player gets a fresh token (`player.renew_url`)."},
                    },
                },
            },
        },
        "ScopeSecurity": {
            "type": "object",
            "required": ["id", "security"],
            "properties": {"id": stream_id,
                           "security": {"type": "object", "properties": {"jwtoken": {"type": "string"}}}},
        },
        "PlayerEntry": {
            "type": "object",
            "required": ["index", "label", "stream", "info", "h5live"],
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "label": {"type": "string", "examples": ["720p"]},
                "stream": stream_id,
                "info": {"type": "object", "properties": {
                    "bitrate": {"type": ["integer", "null"], "description": "kbps"},
                    "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
                    "framerate": {"type": ["number", "null"]}, "codecs": {"type": ["string", "null"]}}},
                "h5live": {"type": "object", "required": ["server", "security"], "properties": {
                    "server": {"type": "object", "required": ["hls"],
                               "properties": {"hls": {"type": "string", "format": "uri"}}},
                    "security": {"type": "object", "properties": {"jwtoken": {"type": "string"}}}}},
            },
        },
        "TokenRequest": {
            "type": "object",
            "description": "Which stream, group or room the token opens, what it may do, and how long it lives. "
                           "Give exactly one of `stream`, `group` and `room`, and at most one of `ttl` and "
                           "`expires_at`.",
            "additionalProperties": False,
            "oneOf": [{"required": ["stream"]}, {"required": ["group"]}, {"required": ["room"]}],
            "not": {"required": ["ttl", "expires_at"]},
            "properties": {
                "stream": {**stream_id, "description": "The one stream the token opens."},
                "group": {**group_id, "description": "A stored group (create it first with PUT "
                                                     "/api/v1/groups/{group}). The token opens the group's streams "
                                                     "as they are when each request arrives."},
                "room": {**group_id, "description": "A stored room (PUT /api/v1/groups/{group} with "
                                                    "`\"room\": true`); the token carries a `roomId` claim. A "
                                                    "publish token publishes `{room}-{participant}` streams and "
                                                    "the room's listed ones, and plays every stream of the room."},
                "type": {"type": "string", "enum": ["play", "publish"], "default": "play",
                         "description": "`play` reads the stream; `publish` may also publish it (and play it)."},
                "ttl": {"type": "integer", "minimum": 1, "default": DEFAULT_TOKEN_TTL,
                        "description": f"Lifetime in seconds from now. Default `tokens.default_ttl` "
                                       f"({DEFAULT_TOKEN_TTL} unless configured); at most `tokens.max_ttl` "
                                       f"({DEFAULT_MAX_TOKEN_TTL} unless configured)."},
                "expires_at": {"type": "integer",
                               "description": "Expiry as a unix timestamp in seconds, instead of `ttl`: in the "
                                              "future and at most `tokens.max_ttl` seconds away."},
            },
            "examples": [{"stream": "s1", "type": "play", "ttl": 3600}, {"group": "paid_tier", "ttl": 600},
                         {"room": "conference", "type": "publish", "ttl": 3600}],
        },
        "TokenResponse": {
            "type": "object",
            "description": "A freshly signed viewer token and what it grants. Its claims are `type`, `streamId`, "
                           "`group` or `roomId`, `iat`, `exp` and a unique `jti`.",
            "required": ["token", "type", "expires_at"],
            "additionalProperties": False,
            "oneOf": [{"required": ["stream"]}, {"required": ["group"]}, {"required": ["room"]}],
            "properties": {
                "token": {"type": "string", "description": "The JWT (HS256). Treat it as a password."},
                "type": {"type": "string", "enum": ["play", "publish"]},
                "stream": stream_id,
                "group": group_id,
                "room": group_id,
                "expires_at": {"type": "integer", "description": "The token's `exp`, unix seconds."},
            },
        },
        "AntMediaToken": {
            "type": "object",
            "description": "Ant Media's `Token` object, as `getJwtTokenV2` returns it.",
            "required": ["tokenId", "streamId", "expireDate", "type"],
            "additionalProperties": False,
            "properties": {
                "tokenId": {"type": "string", "description": "The JWT: use it as `?token=` or in the "
                                                             "Authorization header."},
                "streamId": stream_id,
                "expireDate": {"type": "integer", "description": "The token's `exp`, unix seconds."},
                "type": {"type": "string", "enum": ["play", "publish"]},
            },
        },
        "GroupRequest": {
            "type": "object",
            "description": "The complete member list of a group, and its kind; it replaces the previous group "
                           "whole (a room put without `\"room\": true` becomes a plain group). Duplicates are "
                           "dropped. The streams need not be published yet. A room needs no listed streams: its "
                           "participants publish `{room}-{participant}`.",
            "anyOf": [{"required": ["streams"]}, {"required": ["room"], "properties": {"room": {"const": True}}}],
            "additionalProperties": False,
            "properties": {
                "streams": {"type": "array", "items": stream_id, "maxItems": MAX_STREAMS_PER_GROUP},
                "room": {"type": "boolean", "default": False,
                         "description": "A conference room: tokens for it also open `{room}-{participant}` "
                                        "streams and the room's own id."},
            },
            "examples": [{"streams": ["s1", "s2"]}, {"room": True}, {"streams": ["stage"], "room": True}],
        },
        "Group": {
            "type": "object",
            "required": ["group", "streams", "room"],
            "additionalProperties": False,
            "properties": {
                "group": group_id,
                "streams": {"type": "array", "items": stream_id, "uniqueItems": True,
                            "description": "The listed members, sorted."},
                "room": {"type": "boolean", "description": "Whether the group is a conference room."},
            },
        },
        "GroupList": {
            "type": "object",
            "required": ["groups", "rooms"],
            "additionalProperties": False,
            "properties": {
                "groups": {"type": "object", "description": "Every group id (rooms too) with its sorted members.",
                           "propertyNames": group_id,
                           "additionalProperties": {"type": "array", "items": stream_id, "uniqueItems": True}},
                "rooms": {"type": "array", "items": group_id, "uniqueItems": True,
                          "description": "The groups that are rooms, sorted."},
            },
        },
        "Rendition": {
            "type": "object",
            "description": "One variant of the master playlist, as its `#EXT-X-STREAM-INF` describes it.",
            "required": ["name", "playlist", "bandwidth", "average_bandwidth", "resolution", "frame_rate",
                         "codecs"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "examples": ["360p"]},
                "playlist": {"type": "string", "description": "The media playlist's path on this origin.",
                             "examples": ["/hls/s1/360p/index.m3u8"]},
                "bandwidth": {"type": ["integer", "null"], "description": "Peak bits per second."},
                "average_bandwidth": {"type": ["integer", "null"]},
                "resolution": {"type": ["string", "null"], "pattern": r"^[0-9]+x[0-9]+$",
                               "examples": ["640x360"]},
                "frame_rate": {"type": ["number", "null"]},
                "codecs": {"type": ["string", "null"], "examples": ["avc1.64001e,mp4a.40.2"]},
            },
        },
        "Stream": {
            "type": "object",
            "required": ["id", "master", "renditions", "updated_at", "groups", "state", "since", "bitrate"],
            "additionalProperties": False,
            "properties": {
                "id": stream_id,
                "master": {"type": "string", "examples": [f"/hls/s1/{MASTER_PLAYLIST}"],
                           "description": "Where a player starts: the master playlist, or the media playlist of a "
                                          "single rendition ingested at the stream's root."},
                "renditions": {"type": "array", "items": _ref("schemas", "Rendition")},
                "updated_at": {"type": "integer",
                               "description": "When the master playlist last changed, unix seconds (0: none)."},
                "state": {"enum": ["live", "ended", "vod"],
                          "description": "`live`: a publisher writes it now; `ended`: ingested, now over "
                                         "(`EXT-X-ENDLIST`); `vod`: never ingested here (transcoded)."},
                "since": {"type": ["number", "null"],
                          "description": "Unix seconds: when it went live, or ended; for a VoD, `updated_at`."},
                "bitrate": {"type": ["number", "null"],
                            "description": "Bits per second written over the last segments, all renditions "
                                           "together; live streams only."},
                "groups": {"type": "array", "items": group_id, "uniqueItems": True,
                           "description": "The groups holding this stream, sorted."},
            },
        },
        "StreamList": {
            "type": "object",
            "required": ["streams"],
            "additionalProperties": False,
            "properties": {"streams": {"type": "array", "items": _ref("schemas", "Stream")}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "version"],
            "additionalProperties": False,
            "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
        },
    }
    responses: Json = {
        "BadRequest": _error_response(400, "The request is malformed or a value is out of range; the "
                                           "description names the field."),
        "Unauthorized": _error_response(401, "No token, or a token that is malformed, forged, expired, not yet "
                                             "valid, too large, or conflicting with a second token."),
        "Forbidden": _error_response(403, "The token is valid but does not grant this: a token for another "
                                          "stream or group, or a publish token asking for a player config."),
        "NotFound": _error_response(404, "No such stream, group or file."),
        "PayloadTooLarge": _error_response(413, "The request body is larger than 64 KiB (the API), or than "
                                                "ingest.max_segment_bytes / ingest.max_playlist_bytes (ingest)."),
        "ApiOff": _error_response(503, "The server is not set up for this: no admin key is configured "
                                       "(HLSGATE_ADMIN_SECRET or admin.jwks_url), or, when minting, no viewer "
                                       "signing secret (HLSGATE_JWT_SECRET)."),
    }
    headers: Json = {
        "NoStore": {"description": "Token-bearing and error answers are never cached.",
                    "schema": {"type": "string", "examples": ["no-store"]}},
        "WWWAuthenticate": {"description": "RFC 6750 challenge, e.g. `Bearer realm=\"hlsgate\", "
                                           "error=\"invalid_token\", error_description=\"...\"`.",
                            "schema": {"type": "string"}},
        "ETag": {"description": "Changes whenever the file changes (and, for playlists, with the token).",
                 "schema": {"type": "string"}},
        "MediaCacheControl": {"description": "`private` when tokens are checked, `public` otherwise; segments are "
                                             "immutable, playlists short-lived.",
                              "schema": {"type": "string"}},
    }
    parameters: Json = {
        "stream": {"name": "stream", "in": "path", "required": True, "description": "The stream id.",
                   "schema": stream_id},
        "group": {"name": "group", "in": "path", "required": True, "description": "The group id.",
                  "schema": group_id},
    }
    security_schemes: Json = {
        "adminBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "An admin token: `Authorization: Bearer <jwt>`. Never accepted in the URL."},
        "adminAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization",
                               "description": "An admin token as the bare header value `Authorization: <jwt>`, as "
                                              "Ant Media's JWT REST API filter sends it."},
        "adminOpenTok": {"type": "apiKey", "in": "header", "name": "X-OPENTOK-AUTH",
                         "description": "An admin token in OpenTok's REST authentication header."},
        "viewerQuery": {"type": "apiKey", "in": "query", "name": "token",
                        "description": "A play or publish token in the URL. Given on the master playlist, it is "
                                       "carried into every URL the origin writes into playlists."},
        "viewerBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                         "description": "A play or publish token in `Authorization: Bearer <jwt>`, for players "
                                        "that can set headers."},
    }
    responses |= {
        "RequestTimeout": _error_response(408, "The upload stalled longer than ingest.body_timeout; nothing kept."),
        "PublisherConflict": _error_response(409, "Another publisher (another token's jti) is live on this stream."),
        "UnsupportedMedia": _error_response(415, "The segment is neither MPEG-TS nor ISO-BMFF."),
        "InvalidPlaylist": _error_response(422, "Not an HLS playlist, or a URI that leaves the stream."),
        "IngestOff": _error_response(503, "Publishing is secured (auth.publish) but no viewer key is configured to "
                                          "check publish tokens."),
        "InsufficientStorage": _error_response(507, "The disk is full: nothing of the upload was kept, and the "
                                                    "stored file is untouched."),
    }
    return {"schemas": schemas, "responses": responses, "headers": headers, "parameters": parameters,
            "securitySchemes": security_schemes}


def _api_paths() -> Json:
    no_store = {"Cache-Control": _ref("headers", "NoStore")}
    stream_id = _ref("schemas", "StreamId")
    group_id = _ref("schemas", "GroupId")
    return {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["meta"],
                "summary": "This document",
                "description": "The OpenAPI 3.1 description of the origin. Needs no token.",
                "security": NO_SECURITY,
                "responses": {"200": {"description": "The document.",
                                      "content": {JSON: {"schema": {"type": "object"}}}}},
            },
        },
        "/api/v1/tokens": {
            "post": {
                "operationId": "createToken",
                "tags": ["tokens"],
                "summary": "Mint a viewer token",
                "description": "Signs a play or publish token for one stream, a group or a room with the viewer "
                               "signing secret. Unknown fields are refused, so a misspelt `expires_at` cannot "
                               "silently give a token the default lifetime.",
                "security": ADMIN_SECURITY,
                "requestBody": {"required": True, **_json_body("TokenRequest", "What the token grants.")},
                "responses": {
                    "201": {**_json_body("TokenResponse", "The token."), "headers": no_store},
                    **_admin_errors(400, 404, 413),
                },
            },
        },
        "/rest/v2/broadcasts/{stream}/jwt-token": {
            "parameters": [_ref("parameters", "stream")],
            "get": {
                "operationId": "getJwtTokenV2",
                "tags": ["tokens"],
                "summary": "Mint a viewer token, Ant Media style",
                "description": "Ant Media Server's `getJwtTokenV2`, for tools written against it: the same "
                               "token as `POST /api/v1/tokens` for one stream, answered as Ant Media's `Token` "
                               "object. Both query parameters are required. For a stored room's id, a publish "
                               "token is Ant Media's conference room token (it publishes and plays the room).",
                "security": ADMIN_SECURITY,
                "parameters": [
                    {"name": "expireDate", "in": "query", "required": True,
                     "description": "Expiry as a unix timestamp in seconds (digits only): in the future and at "
                                    "most `tokens.max_ttl` seconds away.",
                     "schema": {"type": "integer", "minimum": 1, "examples": [1767225600]}},
                    {"name": "type", "in": "query", "required": True,
                     "description": "`play` or `publish`.",
                     "schema": {"type": "string", "enum": ["play", "publish"]}},
                ],
                "responses": {
                    "200": {**_json_body("AntMediaToken", "The token."), "headers": no_store},
                    **_admin_errors(400),
                },
            },
        },
        "/api/v1/groups": {
            "get": {
                "operationId": "listGroups",
                "tags": ["groups"],
                "summary": "List the groups",
                "security": ADMIN_SECURITY,
                "responses": {"200": _json_body("GroupList", "Every group and its members."),
                              **_admin_errors()},
            },
        },
        "/api/v1/groups/{group}": {
            "parameters": [_ref("parameters", "group")],
            "get": {
                "operationId": "getGroup",
                "tags": ["groups"],
                "summary": "Read a group",
                "security": ADMIN_SECURITY,
                "responses": {"200": _json_body("Group", "The group's members."), **_admin_errors(404)},
            },
            "put": {
                "operationId": "putGroup",
                "tags": ["groups"],
                "summary": "Create or replace a group or room",
                "description": "Stores the group's complete member list and kind (written to disk atomically "
                               "before the answer). Tokens for the group follow the change from their next "
                               "request: a stream removed here stops playing with them.",
                "security": ADMIN_SECURITY,
                "requestBody": {"required": True, **_json_body("GroupRequest", "The members.")},
                "responses": {"200": _json_body("Group", "The group as stored."), **_admin_errors(400, 413)},
            },
            "delete": {
                "operationId": "deleteGroup",
                "tags": ["groups"],
                "summary": "Delete a group",
                "description": "Tokens for the group stop opening anything from their next request.",
                "security": ADMIN_SECURITY,
                "responses": {"204": {"description": "Deleted."}, **_admin_errors(404)},
            },
        },
        "/api/v1/player-config": {
            "get": {
                "operationId": "getPlayerConfig",
                "tags": ["player"],
                "summary": "A player config for a group, a room or a stream",
                "description": "For a viewer presenting a play token for that group or stream (`?token=` or "
                               "`Authorization`), the config carries that token. For an admin (`Authorization` "
                               "only) the server mints a fresh play token living `ttl` seconds. Anyone else gets "
                               "401 or 403: the endpoint never hands a token to an anonymous caller. Publish "
                               "tokens are refused (403): a config is meant for viewers' browsers. A room's config "
                               "(`room`, or `group` naming a room) lists the room's published streams: its listed "
                               "ones, then its own id and every `{room}-{participant}` stream in the media root.",
                "security": [*VIEWER_SECURITY, *ADMIN_SECURITY],
                "parameters": [
                    {"name": "group", "in": "query", "description": "A group id, rooms included (or give `room` "
                                                                   "or `stream`).",
                     "schema": group_id},
                    {"name": "room", "in": "query", "description": "A room id: a group stored as a room (404 "
                                                                  "for a plain group).",
                     "schema": group_id},
                    {"name": "stream", "in": "query", "description": "A stream id (or give `group` or `room`).",
                     "schema": stream_id},
                    {"name": "ttl", "in": "query",
                     "description": "Admin callers only: the minted token's lifetime in seconds "
                                    f"(default `tokens.default_ttl`, {DEFAULT_TOKEN_TTL}).",
                     "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": {**_json_body("PlayerConfig", "The config."), "headers": no_store},
                    **_admin_errors(400, 404),
                },
            },
        },
        "/api/v1/streams": {
            "get": {
                "operationId": "listStreams",
                "tags": ["streams"],
                "summary": "List the published streams",
                "description": "Every directory of the media root that holds a master playlist, with the "
                               "renditions it lists and the groups the stream belongs to.",
                "security": ADMIN_SECURITY,
                "responses": {"200": _json_body("StreamList", "The streams, sorted by id."), **_admin_errors()},
            },
        },
    }


def _media_paths() -> Json:

    media_headers = {"Cache-Control": _ref("headers", "MediaCacheControl"), "ETag": _ref("headers", "ETag")}
    not_modified = {"description": "Not modified (If-None-Match matched the ETag).", "headers": media_headers}
    viewer_errors = {"401": _ref("responses", "Unauthorized"), "403": _ref("responses", "Forbidden"),
                     "404": _ref("responses", "NotFound")}
    playlist_content = {PLAYLIST_TYPE: {"schema": {"type": "string"}}}
    file_content = {**playlist_content, **{kind: {"schema": {"type": "string", "contentMediaType": kind}}
                                           for kind in SEGMENT_TYPES}}
    note = ("The token is checked before the file system is touched, so a missing stream and a forbidden one "
            "look alike to a caller without a valid token. With `--no-auth` no token is needed.")
    return {
        "/hls/{stream}/{file}": {
            "parameters": [
                _ref("parameters", "stream"),
                {"name": "file", "in": "path", "required": True,
                 "description": f"A playlist at the top of the stream: `{MASTER_PLAYLIST}`, the master playlist; or "
                                "the playlist and segments of a single rendition published at the stream's root.",
                 "schema": {"type": "string", "pattern": RENDITION_FILE_PATTERN,
                            "examples": [MASTER_PLAYLIST, "index.m3u8", "seg_00000.ts"]}},
            ],
            "get": {
                "operationId": "getMasterPlaylist",
                "tags": ["media"],
                "summary": "The master playlist of a stream (or a single rendition's files)",
                "description": "Where a player starts. A token given as `?token=` is written into every URL of the "
                               f"answer, so the player sends it with each following request. {note}",
                "security": VIEWER_SECURITY,
                "responses": {"200": {"description": "The playlist or segment.", "headers": media_headers,
                                      "content": file_content},
                              "304": not_modified, **viewer_errors},
            },
        },
        "/hls/{stream}/{rendition}/{file}": {
            "parameters": [
                _ref("parameters", "stream"),
                {"name": "rendition", "in": "path", "required": True,
                 "description": "A rendition named in the master playlist.",
                 "schema": {"type": "string", "pattern": ID_PATTERN, "examples": ["360p", "240p"]}},
                {"name": "file", "in": "path", "required": True,
                 "description": "A media playlist (`index.m3u8`) or a segment: `.ts` (MPEG-TS), `.m4s` (fMP4) or "
                                "`.mp4` (an fMP4 init section).",
                 "schema": {"type": "string", "pattern": RENDITION_FILE_PATTERN,
                            "examples": ["index.m3u8", "seg_00000.ts", "init.mp4", "seg_00000.m4s"]}},
            ],
            "get": {
                "operationId": "getRenditionFile",
                "tags": ["media"],
                "summary": "A media playlist or a segment",
                "description": "Media playlists carry the request's `?token=` into their segment URLs. Segments "
                               "support byte ranges and conditional requests, and are cached as immutable. "
                               + note,
                "security": VIEWER_SECURITY,
                "responses": {
                    "200": {"description": "The playlist or segment.", "headers": media_headers,
                            "content": file_content},
                    "206": {"description": "Part of a segment (a Range request).", "headers": media_headers,
                            "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}}
                                        for kind in SEGMENT_TYPES}},
                    "304": not_modified,
                    **viewer_errors,
                    "412": {"description": "A segment's If-Match or If-Unmodified-Since failed."},
                    "416": {"description": "The Range lies outside the segment."},
                },
            },
        },
        **_ingest_paths(),
        "/player/": {
            "get": {
                "operationId": "playerPage",
                "tags": ["player"],
                "summary": "The web player",
                "description": "Plays `?group=ID&token=T` or `?stream=ID&token=T`: fetches the player config with "
                               "the token and plays the stream with hls.js (or native HLS). Served only when the "
                               "player is built (`make player`); 503 otherwise.",
                "security": NO_SECURITY,
                "responses": {"200": {"description": "The page.", "content": {"text/html": {}}},
                              "503": {"description": "hls.js is not installed."}},
            },
        },
        "/player": {
            "get": {"operationId": "playerRedirect", "tags": ["player"], "summary": "Redirects to /player/",
                    "security": NO_SECURITY, "responses": {"301": {"description": "To `/player/`, query kept."}}},
        },
        "/player/{file}": {
            "parameters": [{"name": "file", "in": "path", "required": True,
                            "description": "A file of the player folder (not `node_modules`).",
                            "schema": {"type": "string", "pattern": f"^{ASSET_PATTERN}$",
                                       "examples": ["hlsgate-player.js", "hlsgate-player.css"]}}],
            "get": {"operationId": "playerFile", "tags": ["player"], "summary": "The player's scripts and styles",
                    "security": NO_SECURITY,
                    "responses": {"200": {"description": "The file."}, "404": _ref("responses", "NotFound")}},
        },
        "/player/vendor/{file}": {
            "parameters": [{"name": "file", "in": "path", "required": True,
                            "description": "A file of hls.js's `dist` folder, from the installed npm package.",
                            "schema": {"type": "string", "pattern": f"^{VENDOR_PATTERN}$",
                                       "examples": ["hls.min.js", "hls.min.js.map"]}}],
            "get": {"operationId": "playerVendorFile", "tags": ["player"],
                    "summary": "hls.js, from the npm package installed beside the player",
                    "security": NO_SECURITY,
                    "responses": {"200": {"description": "The file."}, "404": _ref("responses", "NotFound")}},
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "tags": ["meta"],
                "summary": "Liveness",
                "description": "Answers while the server runs. Needs no token.",
                "security": NO_SECURITY,
                "responses": {"200": _json_body("Health", "Running.")},
            },
        },
    }


def _ingest_paths() -> Json:
    file = {"name": "file", "in": "path", "required": True,
            "description": "A playlist (`.m3u8`) or a segment: `.ts` (MPEG-TS), `.m4s` (fMP4) or `.mp4` (an init "
                           "section), written where `/hls/...` serves it.",
            "schema": {"type": "string", "pattern": RENDITION_FILE_PATTERN,
                       "examples": ["index.m3u8", "seg_00000.ts", MASTER_PLAYLIST]}}
    rendition = {"name": "rendition", "in": "path", "required": True, "description": "The rendition's folder.",
                 "schema": {"type": "string", "pattern": ID_PATTERN, "examples": ["360p", "240p"]}}
    refusals = {"401": _ref("responses", "Unauthorized"), "403": _ref("responses", "Forbidden"),
                "409": _ref("responses", "PublisherConflict"), "503": _ref("responses", "IngestOff")}
    put = {
        "tags": ["ingest"],
        "summary": "Write a playlist or a segment (ffmpeg -method PUT)",
        "description": "Needs a publish token for the stream (`Authorization: Bearer` as ffmpeg's `-headers` "
                       "sends it, or `?token=`). The body may be chunked without a length. Written atomically: "
                       "readers see the old file or the new one. A playlist must be an HLS playlist whose URIs "
                       "stay in the stream; a segment must be MPEG-TS or ISO-BMFF. The first write claims the "
                       "stream for the token's `jti`; it stays live until no write comes for live.end_after "
                       "target durations.",
        "security": VIEWER_SECURITY,
        "requestBody": {"required": True, "content": {"application/octet-stream": {}}},
        "responses": {"201": {"description": "Created."}, "204": {"description": "Replaced."},
                      "400": _ref("responses", "BadRequest"), **refusals,
                      "408": _ref("responses", "RequestTimeout"), "413": _ref("responses", "PayloadTooLarge"),
                      "415": _ref("responses", "UnsupportedMedia"), "422": _ref("responses", "InvalidPlaylist"),
                      "507": _ref("responses", "InsufficientStorage")},
    }
    delete = {
        "tags": ["ingest"],
        "summary": "Remove a playlist or a segment (ffmpeg's delete_segments)",
        "description": "Scoped as PUT is. Removing a file that is not there is a 204 too.",
        "security": VIEWER_SECURITY,
        "responses": {"204": {"description": "Deleted, or not there."}, **refusals},
    }
    return {
        "/ingest/{stream}/{file}": {
            "parameters": [_ref("parameters", "stream"), file],
            "put": {"operationId": "ingestStreamFile", **put},
            "delete": {"operationId": "deleteStreamFile", **delete},
        },
        "/ingest/{stream}/{rendition}/{file}": {
            "parameters": [_ref("parameters", "stream"), rendition, file],
            "put": {"operationId": "ingestRenditionFile", **put},
            "delete": {"operationId": "deleteRenditionFile", **delete},
        },
        "/ingest/{stream}/end": {
            "parameters": [_ref("parameters", "stream")],
            "post": {
                "operationId": "endStream",
                "tags": ["ingest"],
                "summary": "End a live stream now (its publisher's last word)",
                "description": "Appends `#EXT-X-ENDLIST` to each of the stream's media playlists, as the server does "
                               "after live.end_after target durations without a write. Scoped as PUT is (the "
                               "publisher's own token); a stream that is not live is a 204 too. `hlsgate publish` "
                               "sends it after a clean stop, since ffmpeg's own last playlists can be lost.",
                "security": VIEWER_SECURITY,
                "responses": {"204": {"description": "Ended, or not live."}, **refusals},
            },
        },
    }


@functools.cache
def _rtmp_paths() -> Json:
    form = "application/x-www-form-urlencoded"
    fields = {
        "call": {"type": "string", "description": "`publish` or `publish_done`, as the path says."},
        "name": {**_ref("schemas", "StreamId"), "description": "The stream: the stream key before `?`."},
        "token": {"type": "string", "description": "The publish token: the stream key's `?token=` (OBS: "
                                                    "`s1?token=JWT`), which nginx-rtmp appends as it was sent."},
        "tcurl": {"type": "string", "description": "The client's tcUrl; its `?token=` counts too (the server "
                                                   "URL `rtmp://host/live?token=JWT`). Two different tokens are "
                                                   "refused."},
        "clientid": {"type": "string", "description": "nginx's connection number of the RTMP session."},
    }
    body = {"required": True, "description": "What nginx-rtmp's notify module sends (`notify_method post`): its "
                                             "session fields, then the client's own arguments.",
            "content": {form: {"schema": {"type": "object", "required": ["call", "name"], "properties": fields}}}}
    caller = ("Only from `rtmp.callers` (loopback by default): anyone else gets 403 before the body is read. "
              "nginx-rtmp reads nothing but the status: 2xx accepts, anything else drops the RTMP client.")
    refused = {"400": _ref("responses", "BadRequest"), "401": _ref("responses", "Unauthorized"),
               "403": _ref("responses", "Forbidden"), "413": _ref("responses", "PayloadTooLarge")}
    return {
        "/rtmp/on_publish": {
            "post": {
                "operationId": "rtmpOnPublish",
                "tags": ["rtmp"],
                "summary": "May this RTMP client publish? (nginx-rtmp on_publish)",
                "description": "Checks the client's publish token for the stream, as an ingest request would; "
                               "the stream is then live. " + caller,
                "security": NO_SECURITY,
                "requestBody": body,
                "responses": {"204": {"description": "Accepted: nginx-rtmp lets the client publish."},
                              **refused,
                              "409": {"description": "Another publisher is live on this stream."}},
            },
        },
        "/rtmp/on_publish_done": {
            "post": {
                "operationId": "rtmpOnPublishDone",
                "tags": ["rtmp"],
                "summary": "An RTMP client stopped publishing (nginx-rtmp on_publish_done)",
                "description": "Ends the stream at once, if this RTMP session is the one that made it live. "
                               + caller,
                "security": NO_SECURITY,
                "requestBody": body,
                "responses": {"204": {"description": "Noted."}, "400": _ref("responses", "BadRequest"),
                              "403": _ref("responses", "Forbidden"), "413": _ref("responses", "PayloadTooLarge")},
            },
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document (built once; shared, so callers must not change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hlsgate",
            "version": __version__,
            "summary": "A secure HLS origin: JWT-checked playlists and segments, and a REST API for tokens.",
            "description": DESCRIPTION,
        },
        "tags": [
            {"name": "tokens", "description": "Mint viewer tokens (needs an admin token)."},
            {"name": "groups", "description": "Groups of streams one token can open (needs an admin token)."},
            {"name": "streams", "description": "What the media root publishes (needs an admin token)."},
            {"name": "media", "description": "HLS playlists and segments (need a viewer token)."},
            {"name": "ingest", "description": "Live publishing over HTTP PUT, as ffmpeg's HLS muxer does it "
                                              "(needs a publish token)."},
            {"name": "player", "description": "The web player and its config (a viewer or admin token)."},
            {"name": "meta", "description": "Health and this document (no token)."},
            {"name": "rtmp", "description": "nginx-rtmp's callbacks (only from rtmp.callers)."},
        ],
        "paths": {**_api_paths(), **_media_paths(), **_rtmp_paths()},
        "components": _components(),
    }
