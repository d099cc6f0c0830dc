"""The ABR ladder as data: which renditions exist, and what each becomes for a given source.

A rung is a bounding box (1280x720 for "720p"; transposed for portrait sources) with its bitrates.
``plan_renditions`` fits the source into each box keeping its aspect ratio, never upscales, and
rounds to even dimensions (4:2:0 chroma needs them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hls_server.core.names import is_id

from .errors import LadderError
from .probe import MediaInfo

MAXRATE_FACTOR = 1.07
"""Capped VBR: peaks stay within 7% of the target, which keeps BANDWIDTH honest for players."""
BUFSIZE_FACTOR = 1.5
AUDIO_ONLY_NAME = "audio"


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    video_bitrate: int
    """Bits per second."""
    audio_bitrate: int
    maxrate: int | None = None
    bufsize: int | None = None

    @property
    def effective_maxrate(self) -> int:
        return self.maxrate or round(self.video_bitrate * MAXRATE_FACTOR)

    @property
    def effective_bufsize(self) -> int:
        return self.bufsize or round(self.video_bitrate * BUFSIZE_FACTOR)


def _rung(name: str, width: int, height: int, video_kbps: int, audio_kbps: int) -> Rung:
    return Rung(name, width, height, video_kbps * 1000, audio_kbps * 1000)


# H.264 at up to 30 fps; in line with Apple's HLS authoring guidance, a little leaner at the top.
RUNG_TABLE: dict[str, Rung] = {r.name: r for r in (
    _rung("2160p", 3840, 2160, 14000, 160),
    _rung("1440p", 2560, 1440, 9000, 160),
    _rung("1080p", 1920, 1080, 5000, 128),
    _rung("720p", 1280, 720, 2800, 128),
    _rung("480p", 854, 480, 1400, 96),
    _rung("360p", 640, 360, 800, 96),
    _rung("240p", 426, 240, 400, 64),
)}
DEFAULT_LADDER: tuple[str, ...] = ("1080p", "720p", "480p")
AUDIO_ONLY_BITRATE = 128_000


@dataclass(frozen=True)
class Rendition:
    """One output of a plan: a rung fitted to this source (width/height 0 for audio only)."""
    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    audio_bitrate: int
    has_video: bool
    has_audio: bool


def parse_bitrate(value: object, *, field: str) -> int:
    """'5000k', '5M', '128000' or 128000 -> bits per second."""
    if isinstance(value, bool):
        raise LadderError(f"{field}: expected a bitrate like '2800k', got {value!r}")
    if isinstance(value, int):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", str(value))
        if match is None:
            raise LadderError(f"{field}: expected a bitrate like '2800k' or '5M', got {value!r}")
        number = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if not 8_000 <= number <= 200_000_000:
        raise LadderError(f"{field}: {value!r} is outside 8k..200M")
    return round(number)


def ladder_from_names(spec: str) -> tuple[Rung, ...]:
    """'720p,480p' -> rungs from the table, in the order given."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise LadderError("empty ladder: name at least one rung, e.g. --ladder 720p,480p")
    unknown = [n for n in names if n not in RUNG_TABLE]
    if unknown:
        raise LadderError(f"unknown rung(s) {', '.join(unknown)}; known: {', '.join(RUNG_TABLE)}")
    return _checked(RUNG_TABLE[n] for n in names)


def ladder_from_file(path: Path) -> tuple[Rung, ...]:
    """A TOML file with ``[[rendition]]`` tables (see docs/transcode.md)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LadderError(f"cannot read ladder file {path}: {err.strerror}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise LadderError(f"ladder file {path} is not valid TOML: {err}") from err
    entries = doc.get("rendition")
    if not isinstance(entries, list) or not entries:
        raise LadderError(f"ladder file {path} has no [[rendition]] entries")
    return _checked(_rung_from_table(entry, f"{path} rendition {i + 1}") for i, entry in enumerate(entries))


def load_ladder(spec: str | None) -> tuple[Rung, ...]:
    """The CLI's ``--ladder``: rung names, or a path to a ``.toml`` ladder file."""
    if spec is None:
        return ladder_from_names(",".join(DEFAULT_LADDER))
    if spec.endswith(".toml") or "/" in spec:
        return ladder_from_file(Path(spec))
    return ladder_from_names(spec)


def _rung_from_table(entry: Any, where: str) -> Rung:
    if not isinstance(entry, dict):
        raise LadderError(f"{where}: expected a table")
    known = {"name", "width", "height", "video_bitrate", "audio_bitrate", "maxrate", "bufsize"}
    if extra := set(entry) - known:
        raise LadderError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    name = entry.get("name")
    if not isinstance(name, str):
        raise LadderError(f"{where}: 'name' is required")
    base = RUNG_TABLE.get(name)
    fields: dict[str, Any] = {}
    for key in ("width", "height"):
        value = entry.get(key, getattr(base, key, None))
        if not isinstance(value, int) or isinstance(value, bool) or not 16 <= value <= 8192:
            raise LadderError(f"{where}: '{key}' must be a whole number of pixels (16..8192)")
        fields[key] = value
    for key in ("video_bitrate", "audio_bitrate"):
        if key in entry:
            fields[key] = parse_bitrate(entry[key], field=f"{where} {key}")
        elif base is not None:
            fields[key] = getattr(base, key)
        else:
            raise LadderError(f"{where}: '{key}' is required for a rung not in the table")
    for key in ("maxrate", "bufsize"):
        if key in entry:
            fields[key] = parse_bitrate(entry[key], field=f"{where} {key}")
    return Rung(name=name, **fields)


def _checked(rungs: Iterable[Rung]) -> tuple[Rung, ...]:
    result = tuple(rungs)
    seen: set[str] = set()
    for rung in result:
        if not is_id(rung.name) or rung.name == AUDIO_ONLY_NAME:
            raise LadderError(f"rendition name {rung.name!r} is not allowed: use 1-64 of A-Z a-z 0-9 _ -")
        if rung.name in seen:
            raise LadderError(f"rendition {rung.name!r} is listed twice")
        seen.add(rung.name)
    return result


def even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def fit(src_w: int, src_h: int, rung: Rung) -> tuple[int, int] | None:
    """The rung's size for this source, or None where it would need upscaling."""
    box_w, box_h = (rung.width, rung.height) if src_w >= src_h else (rung.height, rung.width)
    scale = min(box_w / src_w, box_h / src_h)
    if scale > 1:
        return None
    return even(src_w * scale), even(src_h * scale)


def plan_renditions(info: MediaInfo, ladder: Sequence[Rung]) -> tuple[Rendition, ...]:
    """Fit every rung to the source; drop those that would upscale or repeat a size.

    A source smaller than every rung still gets one rendition, at its own size with the smallest
    rung's bitrates. An audio-only source gets one audio rendition.
    """
    has_audio = info.audio is not None
    if info.video is None:
        return (Rendition(AUDIO_ONLY_NAME, 0, 0, 0, 0, 0, AUDIO_ONLY_BITRATE, False, has_audio),)
    src_w, src_h = info.video.width, info.video.height
    planned: list[Rendition] = []
    sizes: set[tuple[int, int]] = set()
    for rung in ladder:
        size = fit(src_w, src_h, rung)
        if size is None or size in sizes:
            continue
        sizes.add(size)
        planned.append(_rendition(rung, size, has_audio))
    if not planned:
        smallest = min(ladder, key=lambda r: r.width * r.height)
        native = replace(smallest, name=f"{min(src_w, src_h)}p")
        planned.append(_rendition(native, (even(src_w), even(src_h)), has_audio))
    return tuple(planned)


def _rendition(rung: Rung, size: tuple[int, int], has_audio: bool) -> Rendition:
    return Rendition(name=rung.name, width=size[0], height=size[1], video_bitrate=rung.video_bitrate,
                     maxrate=rung.effective_maxrate, bufsize=rung.effective_bufsize,
                     audio_bitrate=rung.audio_bitrate, has_video=True, has_audio=has_audio)
