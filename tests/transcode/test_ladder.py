from __future__ import annotations

from pathlib import Path

import pytest

from transcode.errors import LadderError
from transcode.ladder import (
    DEFAULT_LADDER,
    RUNG_TABLE,
    Rung,
    fit,
    ladder_from_file,
    load_ladder,
    parse_bitrate,
    plan_renditions,
)
from transcode.probe import AudioStream, MediaInfo, VideoStream

AUDIO = AudioStream(index=1, codec="aac", channels=2, sample_rate=48000)


def video(width: int, height: int, fps: float = 30.0) -> MediaInfo:
    return MediaInfo(duration=10.0, video=VideoStream(0, "h264", width, height, fps), audio=AUDIO)


def sizes(info: MediaInfo, spec: str | None = None) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_renditions(info, load_ladder(spec))]


def test_default_ladder_is_the_three_rungs() -> None:
    assert DEFAULT_LADDER == ("1080p", "720p", "480p")
    assert sizes(video(1920, 1080)) == [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480)]


@pytest.mark.parametrize(("source", "spec", "expected"), [
    # never upscale: a 480p source with the default ladder keeps only 480p
    ((854, 480), None, [("480p", 854, 480)]),
    # portrait: the rung names the short side
    ((1080, 1920), None, [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854)]),
    ((720, 1280), "720p,480p", [("720p", 720, 1280), ("480p", 480, 854)]),
    # 4:3 fits inside the 16:9 box by height
    ((1440, 1080), "1080p,720p", [("1080p", 1440, 1080), ("720p", 960, 720)]),
    # scope (2.39:1) fits by width and keeps its aspect with even dimensions
    ((1920, 804), "1080p,720p,480p", [("1080p", 1920, 804), ("720p", 1280, 536), ("480p", 854, 358)]),
    # odd sizes come out even
    ((1279, 719), "720p,360p", [("360p", 640, 360)]),
    # smaller than every rung: one rendition at its own size, the smallest rung's bitrates
    ((320, 180), "720p,480p", [("180p", 320, 180)]),
    # order given is order kept
    ((1920, 1080), "480p,720p", [("480p", 854, 480), ("720p", 1280, 720)]),
])
def test_plan_sizes(source: tuple[int, int], spec: str | None, expected: list[tuple[str, int, int]]) -> None:
    assert sizes(video(*source), spec) == expected


def test_every_planned_size_is_even_and_never_larger_than_the_source() -> None:
    for w in range(100, 2000, 37):
        for h in range(100, 1200, 53):
            for r in plan_renditions(video(w, h), tuple(RUNG_TABLE.values())):
                assert r.width % 2 == 0 and r.height % 2 == 0
                assert r.width <= w + 1 and r.height <= h + 1


def test_bitrates_follow_the_rung() -> None:
    (r,) = plan_renditions(video(1280, 720), load_ladder("720p"))
    assert (r.video_bitrate, r.maxrate, r.bufsize, r.audio_bitrate) == (2_800_000, 2_996_000, 4_200_000, 128_000)
    assert r.has_video and r.has_audio


def test_tiny_source_gets_the_smallest_rung_bitrates() -> None:
    (r,) = plan_renditions(video(320, 180), load_ladder("1080p,240p"))
    assert r.video_bitrate == RUNG_TABLE["240p"].video_bitrate


def test_video_only_and_audio_only_sources() -> None:
    silent = MediaInfo(5.0, VideoStream(0, "h264", 640, 360, 30.0), None)
    assert [r.has_audio for r in plan_renditions(silent, load_ladder("360p,240p"))] == [False, False]
    audio_only = MediaInfo(5.0, None, AUDIO)
    (r,) = plan_renditions(audio_only, load_ladder(None))
    assert (r.name, r.has_video, r.has_audio, r.audio_bitrate) == ("audio", False, True, 128_000)


def test_fit_refuses_upscaling() -> None:
    assert fit(640, 360, RUNG_TABLE["720p"]) is None
    assert fit(1280, 720, RUNG_TABLE["720p"]) == (1280, 720)


@pytest.mark.parametrize(("value", "bps"), [("5000k", 5_000_000), ("5M", 5_000_000), ("2.5m", 2_500_000),
                                            (128000, 128_000), (" 96K ", 96_000)])
def test_parse_bitrate(value: object, bps: int) -> None:
    assert parse_bitrate(value, field="x") == bps


@pytest.mark.parametrize("value", ["fast", "", "-5k", "1k", "9999M", True, "5 Mbps"])
def test_parse_bitrate_rejects(value: object) -> None:
    with pytest.raises(LadderError, match="x"):
        parse_bitrate(value, field="x")


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty ladder"),
    (",", "empty ladder"),
    ("720p,999p", "unknown rung.*999p"),
    ("720p,720p", "listed twice"),
    ("720P", "unknown rung"),
])
def test_bad_ladder_names(spec: str, message: str) -> None:
    with pytest.raises(LadderError, match=message):
        load_ladder(spec)


def test_ladder_file(tmp_path: Path) -> None:
    path = tmp_path / "ladder.toml"
    path.write_text('[[rendition]]\nname = "720p"\n\n'
                    '[[rendition]]\nname = "mobile"\nwidth = 640\nheight = 360\nvideo_bitrate = "700k"\n'
                    'audio_bitrate = "64k"\nmaxrate = "800k"\n')
    assert load_ladder(str(path)) == (
        RUNG_TABLE["720p"],
        Rung("mobile", 640, 360, 700_000, 64_000, maxrate=800_000))


@pytest.mark.parametrize(("text", "message"), [
    ("not toml [", "not valid TOML"),
    ("x = 1", "no \\[\\[rendition\\]\\]"),
    ('[[rendition]]\nwidth = 640', "'name' is required"),
    ('[[rendition]]\nname = "new"\nwidth = 640\nheight = 360', "'video_bitrate' is required"),
    ('[[rendition]]\nname = "720p"\nheight = 1.5', "'height' must be a whole number"),
    ('[[rendition]]\nname = "720p"\ncolour = "red"', "unknown key.*colour"),
    ('[[rendition]]\nname = "../evil"\nwidth = 640\nheight = 360\nvideo_bitrate = "1M"\naudio_bitrate = "64k"',
     "not allowed"),
    ('[[rendition]]\nname = "audio"\nwidth = 640\nheight = 360\nvideo_bitrate = "1M"\naudio_bitrate = "64k"',
     "not allowed"),
])
def test_bad_ladder_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ladder.toml"
    path.write_text(text)
    with pytest.raises(LadderError, match=message):
        ladder_from_file(path)


def test_missing_ladder_file(tmp_path: Path) -> None:
    with pytest.raises(LadderError, match="cannot read ladder file"):
        load_ladder(str(tmp_path / "nope.toml"))
