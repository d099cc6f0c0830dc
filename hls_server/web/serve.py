"""Running the origin: logging set-up, the aiohttp runner, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from ..core.settings import Settings
from .accesslog import AccessLogger, OneLineClientErrors, RedactTokens
from .app import create_app

ACCESS_LOGGER = "hlsgate.access"
SHUTDOWN_GRACE_SECONDS = 5.0
MAX_REQUEST_LINE = 8190  # aiohttp's default, said out loud: longer request lines and headers get a 400
MAX_HEADER_FIELD = 8190
KEEPALIVE_SECONDS = 75.0


def configure_logging(settings: Settings, verbose: bool) -> None:
    """stderr for the server's own messages, stdout for the access log; tokens scrubbed from both."""
    scrub = RedactTokens()
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(scrub)
    access = logging.getLogger(ACCESS_LOGGER)
    access.propagate = False
    access.handlers.clear()
    if settings.access_log:
        out = logging.StreamHandler(sys.stdout)
        out.setFormatter(logging.Formatter("%(message)s"))
        out.addFilter(scrub)
        access.addHandler(out)
        access.setLevel(logging.INFO)
    logging.getLogger("hls_server").setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        logging.getLogger("aiohttp.server").addFilter(OneLineClientErrors())


async def serve(settings: Settings, announce: Callable[[str], None]) -> None:
    app = create_app(settings)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log_format=settings.log_format,
        access_log=logging.getLogger(ACCESS_LOGGER) if settings.access_log else None,
        max_line_size=MAX_REQUEST_LINE,
        max_field_size=MAX_HEADER_FIELD,
        keepalive_timeout=KEEPALIVE_SECONDS,
        handle_signals=False,
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, settings.host, settings.port, shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
                           reuse_address=True)
        await site.start()
        for address in runner.addresses:
            host, port = address[0], address[1]
            shown = f"[{host}]" if ":" in host else host
            announce(f"http://{shown}:{port}")
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await runner.cleanup()
