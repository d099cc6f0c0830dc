"""Live state: one publisher per stream, when a stream went live or ended, its bitrate, and the reaper that ends
a stream whose publisher went silent. The state of ingested streams is kept in the state dir (atomic writes, as
the group store), so a restart keeps "live since" and "ended" and the publisher that holds a stream.

For the other parts (RTMP callbacks, room player configs), the API is:

- ``registry.state(stream) -> StreamState`` (``state``: live, ended or vod; ``since``; ``bitrate``);
- ``registry.live_streams() -> tuple[str, ...]``;
- ``await registry.begin(stream, grant)``: claim the stream for this grant's ``jti`` (``Conflict`` if another
  publisher holds it), as the first ingest write does;
- ``await registry.end(stream)``: end it now (``#EXT-X-ENDLIST`` appended to its media playlists).

One publisher per stream: the first write claims the stream with its grant's ``jti``; while the stream is live,
a write with another ``jti``, or without one when the holder had one, is :class:`Conflict`; the same ``jti``
continues (a reconnecting encoder). Two grants without a ``jti`` (``auth.publish`` off, or tokens minted
elsewhere without one) cannot be told apart, so they count as the same publisher.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from ..errors import ConfigError, Conflict, HLSGateError
from ..grants import Grant
from ..names import is_id
from .paths import IngestPath
from .playlist import PlaylistInfo
from .store import IngestStore

LIVE_FILE = "live.json"
FORMAT_VERSION = 1
DEFAULT_TARGET_SECONDS = 6.0  # until a media playlist says (RFC 8216's usual target duration)
REAPER_TICK = 0.25  # seconds between two looks for silent streams: a small share of any target duration
BITRATE_WINDOW = 5  # target durations of segment writes that the bitrate is measured over
MAX_BITRATE_SAMPLES = 256

log = logging.getLogger("hlsgate.live")

PlaylistChanged = Callable[[IngestPath], None]


class State(enum.Enum):
    LIVE = "live"
    ENDED = "ended"
    VOD = "vod"  # never ingested here (a transcoded stream), as far as the registry knows


@dataclass(frozen=True, slots=True)
class StreamState:
    state: State
    since: float | None = None  # unix seconds: went live, or ended
    bitrate: float | None = None  # bits/s over the last segments written, all renditions together; live only


VOD = StreamState(State.VOD)


@dataclass(slots=True)
class _Stream:
    publisher: str | None
    since: float  # unix seconds the publication began
    ended: float | None = None  # unix seconds it ended
    target: float = DEFAULT_TARGET_SECONDS
    last_write: float = 0.0  # monotonic
    media_playlists: dict[IngestPath, bool] = field(default_factory=dict)  # -> ended (EXT-X-ENDLIST)
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=MAX_BITRATE_SAMPLES))

    @property
    def live(self) -> bool:
        return self.ended is None


class LiveRegistry:
    def __init__(self, state_dir: Path, store: IngestStore, *, end_after: float,
                 on_playlist_changed: PlaylistChanged | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.path = state_dir / LIVE_FILE
        self._store = store
        self._end_after = end_after
        self._changed = on_playlist_changed or (lambda _path: None)
        self._clock = clock
        self._monotonic = monotonic
        self._streams: dict[str, _Stream] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._save_lock = asyncio.Lock()

    # -- what others read --------------------------------------------------------------------------------------

    def state(self, stream: str) -> StreamState:
        known = self._streams.get(stream)
        if known is None:
            return VOD
        if not known.live:
            return StreamState(State.ENDED, known.ended)
        return StreamState(State.LIVE, known.since, self._bitrate(known))

    def live_streams(self) -> tuple[str, ...]:
        return tuple(sorted(name for name, s in self._streams.items() if s.live))

    def known_streams(self) -> tuple[str, ...]:
        """Every stream ingested here, live or ended."""
        return tuple(sorted(self._streams))

    # -- publishers --------------------------------------------------------------------------------------------

    def check(self, stream: str, grant: Grant) -> None:
        """:class:`Conflict` when another publisher holds ``stream`` while it is live."""
        known = self._streams.get(stream)
        if known is not None and known.live and known.publisher != grant.token_id:
            raise Conflict(f"another publisher is live on {stream}: wait until it ends (no write for "
                           f"{self._end_after:g} target durations) or publish with the same token")

    async def begin(self, stream: str, grant: Grant) -> None:
        """Claim ``stream`` for ``grant`` (its ``jti``): a new publication unless the same one is live."""
        self.check(stream, grant)
        known = self._streams.get(stream)
        now = self._monotonic()
        if known is not None and known.live:
            known.last_write = now
            return
        target = known.target if known is not None else DEFAULT_TARGET_SECONDS
        self._streams[stream] = _Stream(grant.token_id, self._clock(), target=target, last_write=now)
        log.info("%s is live", stream)
        await self._save()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._store.sweep, stream, time.time())
        except (OSError, HLSGateError) as err:  # only housekeeping
            log.warning("could not sweep the temporary files of %s: %s", stream, err)

    def wrote(self, path: IngestPath, size: int, playlist: PlaylistInfo | None = None) -> None:
        """A file of a claimed stream landed: ``size`` bytes; ``playlist`` what a playlist said."""
        known = self._streams.get(path.stream)
        if known is None:
            return
        now = self._monotonic()
        known.last_write = now
        if playlist is None:
            known.samples.append((now, size))
        elif not playlist.multivariant:
            if playlist.target_duration:
                known.target = playlist.target_duration
            known.media_playlists[path] = playlist.ended
            if known.live and all(known.media_playlists.values()):
                known.ended = self._clock()  # the encoder ended every rendition itself (ffmpeg does at its end)
                log.info("%s ended by its publisher", path.stream)
                self._save_soon()

    async def end(self, stream: str) -> None:
        """End ``stream`` now: ``#EXT-X-ENDLIST`` on each of its media playlists, then the state ``ended``."""
        async with self.lock(stream):
            try:
                changed = await asyncio.get_running_loop().run_in_executor(None, self._store.end_playlists, stream)
            except (OSError, HLSGateError) as err:  # a full disk, a planted link: the stream is over all the same
                log.warning("%s ended, but EXT-X-ENDLIST could not be written: %s", stream, err)
                changed = []
            for path in changed:
                self._changed(path)
            known = self._streams.get(stream)
            if known is None:
                known = self._streams[stream] = _Stream(None, self._clock())
            if known.live:
                known.ended = self._clock()
                log.info("%s ended", stream)
        await self._save()

    def lock(self, stream: str) -> asyncio.Lock:
        """Held around a playlist's replacement and around :meth:`end`, so an ENDLIST never overwrites a newer
        playlist."""
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock

    # -- the reaper --------------------------------------------------------------------------------------------

    def silent(self) -> list[str]:
        """Live streams without a write for ``end_after`` target durations."""
        now = self._monotonic()
        return [name for name, s in self._streams.items()
                if s.live and now - s.last_write > self._end_after * s.target]

    async def reap(self) -> list[str]:
        ended = self.silent()
        for stream in ended:
            await self.end(stream)
        return ended

    async def run_reaper(self, tick: float = REAPER_TICK) -> None:
        """End silent streams until cancelled (the app's cleanup_ctx starts and cancels it)."""
        while True:
            await asyncio.sleep(tick)
            try:
                await self.reap()
            except OSError as err:  # the state dir unwritable: the streams are ended in memory, kept next time
                log.warning("could not keep the live state: %s", err)

    # -- persistence -------------------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the kept state (blocking: call at start-up). A stream live at shutdown stays live, with its
        publisher, and the reaper ends it if no write comes within ``end_after`` target durations."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as err:
            raise ConfigError(f"cannot read the live state file {self.path}: {err.strerror}") from err
        try:
            data = json.loads(text)
            streams = data["streams"] if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else None
            if not isinstance(streams, dict):
                raise ValueError("no streams table")
            now = self._monotonic()
            self._streams = {name: _from_json(entry, now) for name, entry in streams.items() if _is_stream(name)}
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"the live state file {self.path} is damaged ({err}); fix or move it away") from err

    def _save_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._save())
        task.add_done_callback(_report)

    async def _save(self) -> None:
        async with self._save_lock:
            snapshot = {name: _to_json(s) for name, s in sorted(self._streams.items())}
            await asyncio.get_running_loop().run_in_executor(None, self._write, snapshot)

    def _write(self, streams: dict[str, dict[str, object]]) -> None:
        body = json.dumps({"version": FORMAT_VERSION, "streams": streams}, indent=1).encode()
        write_atomic(self.path, body)

    def _bitrate(self, known: _Stream) -> float | None:
        now = self._monotonic()
        window = BITRATE_WINDOW * known.target
        recent = [(t, size) for t, size in known.samples if now - t <= window]
        if not recent:
            return None
        span = recent[-1][0] - recent[0][0] + known.target  # n segments cover about n target durations
        return round(8 * sum(size for _, size in recent) / span, 1)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not keep the live state: %s", task.exception())


def _is_stream(name: object) -> bool:
    if not is_id(name):
        raise ValueError(f"{str(name)[:70]!r} is not a stream id")
    return True


def _to_json(s: _Stream) -> dict[str, object]:
    return {"since": s.since, "ended": s.ended, "publisher": s.publisher, "target": s.target}


def _from_json(entry: object, now: float) -> _Stream:
    if not isinstance(entry, dict):
        raise ValueError("a stream entry must be an object")
    since, ended, publisher, target = entry["since"], entry.get("ended"), entry.get("publisher"), entry.get("target")
    if not _number(since) or not (ended is None or _number(ended)) or \
            not (publisher is None or isinstance(publisher, str)) or not (target is None or _number(target)):
        raise ValueError("since, ended, target must be numbers, publisher a string")
    return _Stream(publisher, float(since), None if ended is None else float(ended),
                   float(target) if target else DEFAULT_TARGET_SECONDS, last_write=now)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


