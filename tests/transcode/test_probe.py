from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from transcode.errors import InputError, InputNotFound, NoDecodableStream, NotMedia
from transcode.probe import AudioStream, MediaInfo, VideoStream, parse_ffmpeg_banner, probe
from transcode.toolchain import Toolchain

BANNER_ROTATED = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 9012 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 8850 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
    Metadata:
      handler_name    : Core Media Video
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 96 kb/s (default)
At least one output file must be specified
"""

BANNER_COVER_ART = """\
Input #0, mp3, from 'song.mp3':
  Duration: 00:03:00.00, start: 0.025057, bitrate: 192 kb/s
  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 192 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
"""

BANNER_ANAMORPHIC = """\
Input #0, mpeg, from 'dvd.mpg':
  Duration: N/A, start: 0.500000, bitrate: N/A
  Stream #0:0[0x1e0]: Video: mpeg2video (Main), yuv420p(tv, top first), 720x576 [SAR 64:45 DAR 16:9], 25 fps, 25 tbr, 90k tbn
  Stream #0:1[0x80]: Audio: ac3, 48000 Hz, 5.1(side), fltp, 448 kb/s
"""


def test_banner_rotation_swaps_to_portrait() -> None:
    assert parse_ffmpeg_banner(BANNER_ROTATED) == MediaInfo(
        duration=62.5, video=VideoStream(0, "h264", 1080, 1920, 29.97), audio=AudioStream(1, "aac", 1, 44100))


def test_banner_cover_art_is_not_video() -> None:
    assert parse_ffmpeg_banner(BANNER_COVER_ART) == MediaInfo(
        duration=180.0, video=None, audio=AudioStream(0, "mp3", 2, 44100))


def test_banner_anamorphic_gives_square_pixel_size() -> None:
    info = parse_ffmpeg_banner(BANNER_ANAMORPHIC)
    assert info == MediaInfo(duration=None, video=VideoStream(0, "mpeg2video", 1024, 576, 25.0),
                             audio=AudioStream(1, "ac3", 6, 48000))


def test_banner_without_streams() -> None:
    assert parse_ffmpeg_banner("Input #0, srt, from 'x.srt':\n  Duration: 00:00:01.00\n") == \
        MediaInfo(1.0, None, None)


@pytest.fixture(scope="module")
def odd_sources(make_media: MakeMedia, toolchain: Toolchain, media_dir: Path) -> dict[str, Path]:
    plain = make_media("probe-plain.mp4", seconds=1, size="640x360")
    rotated = media_dir / "probe-rotated.mp4"
    subprocess.run([toolchain.ffmpeg, "-v", "error", "-y", "-i", str(plain), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(rotated)], check=True, timeout=60)
    anamorphic = make_media("probe-anamorphic.mp4", seconds=1, size="480x360", extra=("-vf", "setsar=4/3"))
    cover = media_dir / "probe-cover.m4a"
    tone = make_media("probe-tone.m4a", seconds=1, video=False)
    subprocess.run([toolchain.ffmpeg, "-v", "error", "-y", "-i", str(tone), "-f", "lavfi", "-i",
                    "color=red:size=64x64:duration=1", "-frames:v", "1", "-map", "0", "-map", "1",
                    "-c:a", "copy", "-c:v", "mjpeg", "-disposition:v:0", "attached_pic", str(cover)],
                   check=True, timeout=60)
    return {"plain": plain, "rotated": rotated, "anamorphic": anamorphic, "cover": cover, "tone": tone,
            "silent": make_media("probe-silent.mp4", seconds=1, audio=False)}


def shape(video: VideoStream | None) -> tuple[int, int, int, str] | None:
    return (video.index, video.width, video.height, video.codec) if video else None


@pytest.mark.parametrize(("name", "size", "has_audio"), [
    ("plain", (640, 360), True),
    ("rotated", (360, 640), True),
    ("anamorphic", (640, 360), True),
    ("cover", None, True),
    ("tone", None, True),
    ("silent", (640, 360), False),
])
async def test_ffprobe_and_fallback_agree(odd_sources: dict[str, Path], toolchain: Toolchain,
                                          no_probe: Toolchain, name: str, size: tuple[int, int] | None,
                                          has_audio: bool) -> None:
    with_ffprobe = await probe(odd_sources[name], toolchain)
    without = await probe(odd_sources[name], no_probe)
    got_size = (with_ffprobe.video.width, with_ffprobe.video.height) if with_ffprobe.video else None
    assert got_size == size
    assert (with_ffprobe.audio is not None) == has_audio
    assert with_ffprobe.duration == pytest.approx(1.0, abs=0.1)
    assert shape(without.video) == shape(with_ffprobe.video)
    if with_ffprobe.video and without.video:
        assert without.video.fps == pytest.approx(with_ffprobe.video.fps, rel=1e-3)
    assert without.audio == with_ffprobe.audio
    assert without.duration == pytest.approx(with_ffprobe.duration, abs=0.02)


async def test_probe_errors(tmp_path: Path, toolchain: Toolchain, no_probe: Toolchain) -> None:
    garbage = tmp_path / "notes.mp4"
    garbage.write_text("these are my notes, not a video\n" * 100)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    subtitles = tmp_path / "captions.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    for tc in (toolchain, no_probe):
        with pytest.raises(InputNotFound, match="input not found"):
            await probe(tmp_path / "missing.mp4", tc)
        with pytest.raises(InputError, match="is a directory"):
            await probe(tmp_path, tc)
        with pytest.raises(InputError, match="not a regular file"):
            await probe(fifo, tc)
        with pytest.raises(NotMedia, match="not media ffmpeg can read"):
            await probe(garbage, tc)
        with pytest.raises(NoDecodableStream, match="no audio or video stream"):
            await probe(subtitles, tc)
