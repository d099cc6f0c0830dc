"""The transcoder's entry points: one source in, a published HLS ABR ladder out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shlex
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from hls_server.core.names import MASTER_PLAYLIST

from .command import EncodeOptions, build_argv, output_frame_rate
from .errors import CorruptInput, OutputError
from .ladder import Rendition, Rung, load_ladder, plan_renditions
from .playlist import RenditionResult, measure_rendition, write_master
from .probe import MediaInfo, probe
from .publish import Publication
from .runner import ProgressCallback, run_ffmpeg
from .toolchain import Toolchain, locate_toolchain, with_version

log = logging.getLogger("hlsgate.transcode")
P = ParamSpec("P")
T = TypeVar("T")

DISK_FULL_FREE_BYTES = 1 << 20
SHORTFALL_MIN_SECONDS = 2.0
SHORTFALL_FRACTION = 0.05
"""An output shorter than the source's declared duration by more than this is a damaged source."""


@dataclass(frozen=True)
class TranscodeResult:
    stream_id: str
    path: Path
    master: Path
    source: MediaInfo
    renditions: tuple[RenditionResult, ...]
    toolchain: Toolchain
    argv: tuple[str, ...]
    wall_seconds: float

    @property
    def duration(self) -> float:
        return self.renditions[0].duration

    @property
    def speed(self) -> float:
        """Media seconds encoded per wall-clock second (all renditions at once)."""
        return self.duration / self.wall_seconds if self.wall_seconds > 0 else 0.0


async def transcode_vod_async(source: Path | str, outdir: Path | str, *,
                              ladder: Sequence[Rung] | None = None,
                              options: EncodeOptions | None = None,
                              toolchain: Toolchain | None = None,
                              force: bool = False,
                              on_progress: ProgressCallback | None = None,
                              timeout: float | None = None) -> TranscodeResult:
    """Transcode ``source`` into the stream directory ``outdir`` (whose name is the stream id).

    Nothing appears at ``outdir`` unless the whole ladder was encoded and measured; a failure or a
    cancellation leaves ``outdir`` as it was. Raises a TranscodeError subclass on every expected failure.
    """
    started = time.monotonic()
    source, outdir = Path(source), Path(outdir)
    options = options or EncodeOptions()
    rungs = tuple(ladder) if ladder is not None else load_ladder(None)
    if toolchain is None:
        toolchain = await asyncio.to_thread(locate_toolchain)
    # Asking ffmpeg its version overlaps the probe; a binary that is not ffmpeg is reported as such
    # rather than as an input ffmpeg cannot read.
    versioned, probed = await asyncio.gather(with_version(toolchain), probe(source, toolchain),
                                             return_exceptions=True)
    if isinstance(versioned, BaseException):
        raise versioned
    if isinstance(probed, BaseException):
        raise probed
    toolchain, info = versioned, probed
    log.debug("probed %s in %.3f s", source, time.monotonic() - started)
    renditions = plan_renditions(info, rungs)
    publication = Publication(outdir, force=force)
    try:
        argv = build_argv(toolchain.ffmpeg, source, info, renditions, options, progress=on_progress is not None)
        log.debug("running in %s: %s", publication.workdir, shlex.join(argv))
        encode_started = time.monotonic()
        await run_ffmpeg(argv, cwd=publication.workdir, duration=info.duration, on_progress=on_progress,
                         timeout=timeout)
        publish_started = time.monotonic()
        results = await _uninterrupted(asyncio.to_thread(_finish, publication, info, renditions, options, source))
        log.debug("encoded in %.3f s, measured and published in %.3f s", publish_started - encode_started,
                  time.monotonic() - publish_started)
    except BaseException:
        publication.abort()
        raise
    return TranscodeResult(stream_id=publication.stream_id, path=publication.outdir,
                           master=publication.outdir / MASTER_PLAYLIST, source=info, renditions=results,
                           toolchain=toolchain, argv=tuple(argv), wall_seconds=time.monotonic() - started)


async def _uninterrupted(work: Coroutine[Any, Any, T]) -> T:
    """The commit point. Once ffmpeg has succeeded, measuring and publishing (milliseconds) run to
    the end even if the caller is cancelled meanwhile: an abort must never race a rename, and a caller
    told "cancelled" must not find the stream published. A cancellation that arrives here is therefore
    answered with the published result; one whose publication failed still raises CancelledError."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            return await task
        raise


def _blocking(coroutine_function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    @functools.wraps(coroutine_function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(coroutine_function(*args, **kwargs))
    return run


transcode_vod = _blocking(transcode_vod_async)
"""Blocking form of ``transcode_vod_async`` for scripts and tests (same arguments)."""


def _finish(publication: Publication, info: MediaInfo, renditions: Sequence[Rendition],
            options: EncodeOptions, source: Path) -> tuple[RenditionResult, ...]:
    try:
        return _measure_and_publish(publication, info, renditions, options, source)
    except OSError as err:  # disk full while writing the master, a folder removed under us ...
        raise OutputError(f"cannot finish {publication.outdir}: {err.strerror or err}") from err


def _check_disk(workdir: Path) -> None:
    """ffmpeg's HLS muxer can meet a full disk, log nothing and exit 0; a disk left (nearly) full
    after the encode is taken as that, whatever the files look like."""
    stats = os.statvfs(workdir)
    free = stats.f_bavail * stats.f_frsize
    if free < DISK_FULL_FREE_BYTES:
        raise OutputError(f"the output disk is full ({free // 1024} KiB free under {workdir.parent}); "
                          "nothing was published")


def _measure_and_publish(publication: Publication, info: MediaInfo, renditions: Sequence[Rendition],
                         options: EncodeOptions, source: Path) -> tuple[RenditionResult, ...]:
    _check_disk(publication.workdir)
    fps = output_frame_rate(info.video.fps) if info.video else None
    results = tuple(measure_rendition(publication.workdir, r, fps, options.segment_format) for r in renditions)
    encoded = results[0].duration
    if info.duration and info.duration - encoded > max(SHORTFALL_MIN_SECONDS, SHORTFALL_FRACTION * info.duration):
        raise CorruptInput(f"{source} decoded to {encoded:.1f} s of its {info.duration:.1f} s: "
                           "the file is truncated or damaged")
    write_master(publication.workdir, results)
    publication.commit()
    return results
