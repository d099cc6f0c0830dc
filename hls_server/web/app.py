"""The aiohttp application, as composition only: the shared services, the middleware, the route modules.

Security is decided in the core (``core.gate``); errors become answers in ``middleware``; each route module
registers its own routes. Nothing imports this module but the runner and the tests.
"""

from __future__ import annotations

from aiohttp import web

from ..core.settings import Settings
from .context import SERVICES, build_services, key_sources, live_reaper
from .middleware import MAX_API_BODY_BYTES, edge
from .routes import api, ingest, media, meta, player, rtmp

ROUTE_MODULES = (meta, media, api, player, ingest, rtmp)


def create_app(settings: Settings) -> web.Application:
    """Build the origin. Key files are read and weak keys refused here, before anything listens."""
    app = web.Application(middlewares=[edge], client_max_size=MAX_API_BODY_BYTES)
    app[SERVICES] = build_services(settings)
    app.cleanup_ctx.append(key_sources)
    app.cleanup_ctx.append(live_reaper)
    for routes in ROUTE_MODULES:
        routes.add_routes(app)
    return app
