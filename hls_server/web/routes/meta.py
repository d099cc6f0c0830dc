"""What the server says about itself: ``/healthz`` and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from ... import __version__
from ..openapi import openapi_document

OPENAPI_PATH = "/api/v1/openapi.json"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", _healthz)
    app.router.add_get(OPENAPI_PATH, _openapi)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__}, headers={"Cache-Control": "no-store"})


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})
