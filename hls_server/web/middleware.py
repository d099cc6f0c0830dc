"""What every answer goes through: errors become answers here and nowhere else, and every response gets its
common headers (nosniff; CORS on the paths a player on another origin fetches; the rules for tokenised URLs).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import CIMultiDict

from ..core.auth.credentials import QUERY_PARAM
from ..core.errors import AuthError, PayloadTooLarge, RequestError
from .context import SERVICES, has_query

MAX_API_BODY_BYTES = 64 * 1024
CORS_MAX_AGE = 600
REALM = "hlsgate"
# What a player on another origin fetches: media, its config, the player's scripts. Never the admin API.
CORS_PREFIXES = ("/hls/", "/api/v1/player-config", "/player/")
HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
"""The ``error`` codes of aiohttp's own refusals (no route, wrong method, body too large); others: bad_request."""
NO_STORE = "no-store"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
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
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if has_query(request) and QUERY_PARAM in request.query:
        _tokenised(headers)
    if request.path.startswith(CORS_PREFIXES):
        _cors(request, response)
    return response


def _tokenised(headers: CIMultiDict[str]) -> None:
    """A response to a URL carrying a token, redirects and errors included: the token must not leak through the
    Referer of whatever the answer links to, and no shared cache may keep it (SECURITY.md, HTTP and files)."""
    headers.setdefault("Referrer-Policy", "no-referrer")
    cache_control = headers.get("Cache-Control")
    if cache_control is None:
        headers["Cache-Control"] = NO_STORE
    elif "public" in cache_control:
        headers["Cache-Control"] = cache_control.replace("public", "private")


def error_response(err: RequestError) -> web.Response:
    """The single mapping from an error to an answer. The description never holds a token or a secret."""
    body = {"error": err.code, "error_description": str(err)}
    headers = {"Cache-Control": NO_STORE}
    if isinstance(err, AuthError):
        description = str(err).replace("\\", "").replace('"', "'")
        headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", error="invalid_token", '
                                       f'error_description="{description}"')
    return web.json_response(body, status=err.status, headers=headers, dumps=_dumps)


def _http_error(exc: web.HTTPException) -> web.Response:
    body = {"error": HTTP_ERROR_CODES.get(exc.status, "bad_request"), "error_description": exc.reason}
    headers = {"Cache-Control": NO_STORE}
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
    """The CORS preflight of the routes a player on another origin calls (with Authorization, Range ...)."""
    return web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Range, If-None-Match, If-Modified-Since",
        "Access-Control-Max-Age": str(CORS_MAX_AGE),
    })
