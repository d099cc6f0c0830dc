"""The services every route shares, built once per application, and the two things a route reads from a request
for security: its credentials (handed to the gate) and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from .. import __version__
from ..core.auth.credentials import AUTHORIZATION_HEADER, OPENTOK_HEADER, QUERY_PARAM, Credentials
from ..core.auth.keys import JwksSource
from ..core.auth.minting import Minter
from ..core.auth.verifier import Verifier
from ..core.gate import Gate
from ..core.groups import GroupStore
from ..core.ingest.live import LiveRegistry
from ..core.ingest.store import IngestStore
from ..core.media import MediaRoot, PlaylistCache
from ..core.settings import KeySettings, Settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    media: MediaRoot
    playlists: PlaylistCache
    groups: GroupStore
    gate: Gate
    minter: Minter
    ingest: IngestStore
    live: LiveRegistry  # state(stream), live_streams(), await begin(stream, grant), await end(stream)
    public_scheme: str | None = None  # the scheme viewers use, when public_url says (a TLS proxy in front)


SERVICES = web.AppKey("services", Services)


def build_services(settings: Settings) -> Services:
    """Read key files and the groups file, refusing weak keys and damaged state here, before anything listens."""
    media = MediaRoot(settings.media_root)
    groups = GroupStore(settings.state_dir)
    groups.load()
    playlists = PlaylistCache(media, settings.playlist_revalidate)
    store = IngestStore(settings.media_root, fsync=settings.ingest.fsync)
    live = LiveRegistry(settings.state_dir, store, end_after=settings.ingest.end_after,
                        on_playlist_changed=lambda p: playlists.invalidate(p.stream, p.rendition, p.name))
    live.load()
    # Viewer keys check play and publish tokens: needed when either is secured (start-up insists for play only).
    secured = settings.auth_play or settings.auth_publish
    viewer = _verifier(settings, settings.viewer, admin=False) if secured and settings.viewer.configured else None
    admin = _verifier(settings, settings.admin, admin=True) if settings.admin.configured else None
    return Services(settings, media, playlists, groups,
                    Gate(viewer=viewer, admin=admin, groups=groups, play_open=not settings.auth_play,
                         publish_open=not settings.auth_publish), Minter.from_settings(settings), store, live,
                    urlsplit(settings.public_url).scheme if settings.public_url else None)


def _verifier(settings: Settings, keys: KeySettings, *, admin: bool) -> Verifier:
    jwks = None
    if keys.jwks_url:
        jwks = JwksSource(keys.jwks_url, keys.algorithms, ttl=settings.jwks_ttl,
                          min_refetch=settings.jwks_min_refetch, timeout=settings.jwks_timeout)
    return Verifier(keys, max_token_bytes=settings.max_token_bytes, cache_size=settings.token_cache_size,
                    admin=admin, jwks=jwks)


async def key_sources(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: the JWKS sources' HTTP client, and their first fetch (a failure is logged, not fatal)."""
    sources = [v.jwks for v in app[SERVICES].gate.verifiers if v.jwks is not None]
    if not sources:
        yield
        return
    async with aiohttp.ClientSession(headers={"User-Agent": f"hlsgate/{__version__}"}) as session:
        for source in sources:
            source.bind(session)
            await source.refresh()
        yield


async def live_reaper(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: the task that ends live streams whose publisher went silent (``live.end_after``)."""
    task = asyncio.get_running_loop().create_task(app[SERVICES].live.run_reaper())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def credentials(request: web.Request) -> Credentials:
    """Every token the request carries, where it carries it; the gate decides what they are worth."""
    headers = request.headers
    query = tuple(request.query.getall(QUERY_PARAM, ())) if has_query(request) else ()
    return Credentials(query, tuple(headers.getall(AUTHORIZATION_HEADER, ())),
                       tuple(headers.getall(OPENTOK_HEADER, ())))


def has_query(request: web.Request) -> bool:
    """Whether the request target has a query at all: a hot-path check that spares parsing an absent one."""
    return "?" in request.raw_path
