"""Which ffmpeg (and ffprobe) to run.

Order: an explicit path (``--ffmpeg`` / ``HLSGATE_FFMPEG``, passed in by the caller), then ``PATH``,
then the static build inside the ``imageio-ffmpeg`` wheel. That bundled build has no ffprobe, so
``ffprobe`` may be ``None``; probing then falls back to parsing ``ffmpeg -i`` (see ``probe.py``).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .errors import FFmpegNotFound

Source = Literal["explicit", "PATH", "imageio-ffmpeg"]

VERSION_TIMEOUT_SECONDS = 15
UNKNOWN_VERSION = "(version not asked yet)"
_VERSION_RE = re.compile(r"^ffmpeg version (\S+)")


@dataclass(frozen=True)
class Toolchain:
    ffmpeg: str
    ffprobe: str | None
    source: Source
    version: str = UNKNOWN_VERSION

    def describe(self) -> str:
        probe = self.ffprobe or "none (probing through ffmpeg -i)"
        return f"ffmpeg {self.version} ({self.source}: {self.ffmpeg}); ffprobe: {probe}"


def find_toolchain(explicit: str | None = None) -> Toolchain:
    """Locate ffmpeg, its version and a matching ffprobe, or raise FFmpegNotFound."""
    located = locate_toolchain(explicit)
    return replace(located, version=ffmpeg_version(located.ffmpeg))


async def with_version(toolchain: Toolchain) -> Toolchain:
    """``toolchain`` with its version asked of ffmpeg (off the event loop, so it can overlap probing)."""
    if toolchain.version != UNKNOWN_VERSION:
        return toolchain
    return replace(toolchain, version=await asyncio.to_thread(ffmpeg_version, toolchain.ffmpeg))


def locate_toolchain(explicit: str | None = None) -> Toolchain:
    """Find the binaries without running them (the version stays unknown), or raise FFmpegNotFound."""
    if explicit:
        ffmpeg = _resolve(explicit)
        if ffmpeg is None:
            raise FFmpegNotFound(f"ffmpeg not found at {explicit!r} (from --ffmpeg / HLSGATE_FFMPEG)")
        source: Source = "explicit"
    elif (on_path := shutil.which("ffmpeg")) is not None:
        ffmpeg, source = on_path, "PATH"
    else:
        ffmpeg, source = _bundled_ffmpeg(), "imageio-ffmpeg"
    return Toolchain(ffmpeg=ffmpeg, ffprobe=_sibling_ffprobe(ffmpeg), source=source)


def ffmpeg_version(ffmpeg: str) -> str:
    try:
        done = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise FFmpegNotFound(f"cannot run ffmpeg at {ffmpeg}: {err}") from err
    match = _VERSION_RE.match(done.stdout)
    if done.returncode != 0 or match is None:
        raise FFmpegNotFound(f"{ffmpeg} does not answer like ffmpeg (-version exited {done.returncode})")
    return match.group(1)


def _resolve(path: str) -> str | None:
    if Path(path).is_file():
        return str(Path(path).resolve())
    return shutil.which(path)


def _sibling_ffprobe(ffmpeg: str) -> str | None:
    """ffprobe from the same build if it sits beside ffmpeg, else the one on PATH."""
    beside = Path(ffmpeg).with_name("ffprobe")
    if beside.is_file():
        return str(beside)
    return shutil.which("ffprobe")


def _bundled_ffmpeg() -> str:
    try:
        import imageio_ffmpeg  # imported late: only needed as the last resort
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as err:
        raise FFmpegNotFound(
            "no ffmpeg found: install it (apt-get install ffmpeg), put it on PATH, "
            "or set HLSGATE_FFMPEG to its path"
        ) from err
