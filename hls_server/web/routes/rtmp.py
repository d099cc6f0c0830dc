"""``POST /rtmp/on_publish`` and ``POST /rtmp/on_publish_done``: nginx-rtmp asks whether an RTMP client may
publish, and says when it stopped (``hlsgate rtmp-config`` writes the nginx side; docs/rtmp.md).

Only nginx may call these: a caller outside ``rtmp.callers`` (loopback by default) gets 403 before its body is
read. Then the publish token the RTMP client gave (``?token=`` in its stream key, or in its tcUrl) goes to the gate
as any URL token does, for :data:`Action.PUBLISH` on the stream named by nginx. 2xx accepts; nginx-rtmp drops the
client on any other answer (401, 403, 400, 409). The body, which holds the token, is never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from ...core.errors import Forbidden
from ...core.grants import Action, Grant, Target
from ...core.rtmp import (
    ON_PUBLISH_DONE_PATH,
    ON_PUBLISH_PATH,
    PUBLISH,
    PUBLISH_DONE,
    Callers,
    RtmpSessions,
    parse_callback,
)
from ..context import SERVICES

log = logging.getLogger(__name__)


class Publications(Protocol):
    """What the callbacks need of the live registry (``core.ingest.live.LiveRegistry``): claim and end a stream."""

    async def begin(self, stream: str, grant: Grant) -> None: ...

    async def end(self, stream: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RtmpCallbacks:
    callers: Callers
    sessions: RtmpSessions
    live: Publications


RTMP = web.AppKey("rtmp", RtmpCallbacks)


def add_routes(app: web.Application) -> None:
    services = app[SERVICES]
    app[RTMP] = RtmpCallbacks(Callers.of(services.settings.rtmp_callers), RtmpSessions(), services.live)
    app.router.add_post(ON_PUBLISH_PATH, _on_publish)
    app.router.add_post(ON_PUBLISH_DONE_PATH, _on_publish_done)


def _callbacks(request: web.Request) -> RtmpCallbacks:
    callbacks = request.app[RTMP]
    if not callbacks.callers.allow(request.remote):
        raise Forbidden("only nginx-rtmp may call the RTMP callbacks: add its address to rtmp.callers")
    return callbacks


async def _on_publish(request: web.Request) -> web.Response:
    callbacks = _callbacks(request)
    call = parse_callback(await request.read(), PUBLISH)
    grant = await request.app[SERVICES].gate.authorize(call.credentials, Action.PUBLISH, Target(call.stream))
    await callbacks.live.begin(call.stream, grant)  # 409 when another publisher is live on the stream
    callbacks.sessions.claim(call.stream, (request.remote or "", call.session))
    log.info("RTMP publish of %s accepted (nginx client %s)", call.stream, call.session)
    return web.Response(status=204)


async def _on_publish_done(request: web.Request) -> web.Response:
    callbacks = _callbacks(request)
    call = parse_callback(await request.read(), PUBLISH_DONE)
    if callbacks.sessions.release(call.stream, (request.remote or "", call.session)):
        await callbacks.live.end(call.stream)
    return web.Response(status=204)
