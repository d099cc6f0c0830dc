"""``PUT`` and ``DELETE`` on ``/ingest/{stream}/[{rendition}/]{name}``: what ffmpeg's HLS muxer sends with
``-method PUT`` (chunked bodies without a length, persistent connections, ``delete_segments``).

The gate first (a publish token for this stream; nothing is read or written before), then the one-publisher
rule, then the body, streamed: counted against its cap as it arrives (413 the moment it passes), closed if it
stalls (``ingest.body_timeout``), written off the event loop in batches (one executor hop per
:data:`BATCH_BYTES`, not per chunk) into a temporary file that only a complete, valid upload turns into the file.
A playlist is read whole (it is small), validated, written, and the playlist cache forgets the old version, so
the next viewer's request gets the new one at once. Encoders are not browsers: no CORS, no preflight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ...core.auth.credentials import QUERY_PARAM
from ...core.errors import BadRequest, PayloadTooLarge, RequestError, RequestTimeout, UnsupportedMedia
from ...core.grants import Action, Grant, Target
from ...core.ingest.live import State
from ...core.ingest.paths import FileKind, IngestPath
from ...core.ingest.playlist import PlaylistInfo, validate_playlist
from ...core.ingest.sniff import SNIFF_BYTES, looks_like_media
from ...core.ingest.store import Upload
from ...core.names import ID_PATTERN, PLAYLIST_PATTERN, SEGMENT_PATTERN
from ..context import SERVICES, Services, credentials, has_query
from ..middleware import error_response

BATCH_BYTES = 256 << 10
NAME_PATTERN = f"(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})"
PATHS = (f"/ingest/{{stream:{ID_PATTERN}}}/{{name:{NAME_PATTERN}}}",
         f"/ingest/{{stream:{ID_PATTERN}}}/{{rendition:{ID_PATTERN}}}/{{name:{NAME_PATTERN}}}")
END_PATH = f"/ingest/{{stream:{ID_PATTERN}}}/end"
"""An encoder's "this stream is over": ffmpeg's own last playlists can be lost (it exits without reading the answer
to its last PUT on a persistent connection), so ``hlsgate publish`` says so here after a clean stop."""
_GONE = (ConnectionError, HttpProcessingError, asyncio.IncompleteReadError)
"""What reading a body raises when the encoder goes away mid-upload (reset, a chunked body cut short)."""


def add_routes(app: web.Application) -> None:
    for path in PATHS:
        app.router.add_put(path, _put)
        app.router.add_delete(path, _delete)
    app.router.add_post(END_PATH, _end)


async def _authorize(request: web.Request) -> tuple[Services, IngestPath, Grant]:
    services = request.app[SERVICES]
    info = request.match_info
    path = IngestPath(info["stream"], info.get("rendition"), info["name"])
    grant = await services.gate.authorize(credentials(request), Action.PUBLISH, Target(path.stream))
    services.live.check(path.stream, grant)
    return services, path, grant


async def _put(request: web.Request) -> web.StreamResponse:
    services, path, grant = await _authorize(request)
    await services.live.begin(path.stream, grant)
    loop = asyncio.get_running_loop()
    settings = services.settings.ingest
    playlist: PlaylistInfo | None = None
    try:
        if path.kind is FileKind.PLAYLIST:
            body = b"".join([batch async for batch in _batches(request, settings.max_playlist_bytes,
                                                                 settings.body_timeout)])
            playlist = validate_playlist(body, at_stream_root=path.rendition is None)
            async with services.live.lock(path.stream):
                created = await loop.run_in_executor(None, services.ingest.write_file, path, body)
                services.playlists.invalidate(path.stream, path.rendition, path.name)
            size = len(body)
        else:
            created, size = await _receive_segment(request, services, path)
    except RequestError as err:
        if request.content.is_eof():
            raise
        return await _closing(request, err)  # the rest of the body is not read: this connection is done
    except _GONE:
        raise BadRequest("the upload ended before its last byte: nothing was kept") from None
    services.live.wrote(path, size, playlist)
    return web.Response(status=201 if created else 204)


async def _receive_segment(request: web.Request, services: Services, path: IngestPath) -> tuple[bool, int]:
    loop = asyncio.get_running_loop()
    settings = services.settings.ingest
    upload: Upload | None = None
    try:
        async for batch in _batches(request, settings.max_segment_bytes, settings.body_timeout):
            if upload is None:  # the first batch holds SNIFF_BYTES, unless the whole body is shorter
                if not looks_like_media(batch[:SNIFF_BYTES]):
                    raise UnsupportedMedia("a segment must be MPEG-TS (0x47 sync bytes) or ISO-BMFF (ftyp, styp, "
                                           "moof, sidx, moov, emsg or prft first): nothing was written")
                upload = await loop.run_in_executor(None, services.ingest.open_upload, path)
            await loop.run_in_executor(None, upload.write, batch)
        if upload is None:
            raise UnsupportedMedia("an empty segment is not media: nothing was written")
        created = await loop.run_in_executor(None, upload.commit)
        return created, upload.size
    finally:
        if upload is not None:
            upload.abort()  # after commit: nothing; else a close and an unlink, also when cancelled


async def _batches(request: web.Request, cap: int, timeout: float) -> AsyncIterator[bytes]:
    """The body in batches of at least BATCH_BYTES (the last may be shorter), capped and timed while it streams."""
    if request.content_length is not None and request.content_length > cap:
        raise PayloadTooLarge(f"the body is larger than {cap} bytes (ingest.max_*_bytes): nothing was kept")
    content = request.content
    buffer = bytearray()
    total = 0
    while True:
        try:
            async with asyncio.timeout(timeout):
                chunk = await content.readany()
        except TimeoutError:
            raise RequestTimeout(f"the body stalled for {timeout:g} s (ingest.body_timeout): nothing was kept") \
                from None
        if not chunk:
            break
        total += len(chunk)
        if total > cap:
            raise PayloadTooLarge(f"the body is larger than {cap} bytes (ingest.max_*_bytes): nothing was kept")
        buffer += chunk
        if len(buffer) >= BATCH_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def _closing(request: web.Request, err: RequestError) -> web.StreamResponse:
    """The error's answer, sent now, then the connection closed: the rest of the body is never read (aiohttp
    would otherwise linger reading it for up to ten seconds)."""
    response = error_response(err)
    response.headers["X-Content-Type-Options"] = "nosniff"  # what the edge middleware adds, before it is sent
    if has_query(request) and QUERY_PARAM in request.query:
        response.headers["Referrer-Policy"] = "no-referrer"
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # closes once the answer is flushed
    return response


async def _delete(request: web.Request) -> web.StreamResponse:
    """ffmpeg's ``delete_segments``: scoped as PUT is; a missing file is a 204 too (the end state is the same)."""
    services, path, _grant = await _authorize(request)
    async with services.live.lock(path.stream):
        await asyncio.get_running_loop().run_in_executor(None, services.ingest.delete, path)
        if path.kind is FileKind.PLAYLIST:
            services.playlists.invalidate(path.stream, path.rendition, path.name)
    return web.Response(status=204)


async def _end(request: web.Request) -> web.StreamResponse:
    """End the stream now (``#EXT-X-ENDLIST`` on each media playlist), for its publisher: the same publish token
    (its ``jti``) that writes it. Ending a stream that is not live is a 204 too (the end state is the same)."""
    services = request.app[SERVICES]
    stream = request.match_info["stream"]
    grant = await services.gate.authorize(credentials(request), Action.PUBLISH, Target(stream))
    services.live.check(stream, grant)
    if services.live.state(stream).state is State.LIVE:
        await services.live.end(stream)
    return web.Response(status=204)
