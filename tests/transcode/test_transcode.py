"""End to end with real ffmpeg: what a player needs from the published stream."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import m3u8
import pytest

from tests.conftest import MakeMedia, ffprobe
from transcode import EncodeOptions, TranscodeResult, load_ladder, transcode_vod_async
from transcode.command import build_argv
from transcode.ladder import plan_renditions
from transcode.toolchain import Toolchain, find_toolchain

FAST = EncodeOptions(segment_seconds=1, preset="ultrafast")
H264_PROFILE_IDC = {"Constrained Baseline": 0x42, "Baseline": 0x42, "Main": 0x4D, "High": 0x64}

Encode = Callable[..., TranscodeResult]


@pytest.fixture(scope="module")
def encode(tmp_path_factory: pytest.TempPathFactory, toolchain: Toolchain) -> Encode:
    """encode(source, name, ladder=..., options=..., toolchain=...) -> result, in a fresh media root."""
    def run(source: Path, name: str, *, ladder: str | None = "360p,240p", options: EncodeOptions = FAST,
            tc: Toolchain | None = None) -> TranscodeResult:
        root = tmp_path_factory.mktemp("root")
        return asyncio.run(transcode_vod_async(source, root / name, ladder=load_ladder(ladder),
                                               options=options, toolchain=tc or toolchain))
    return run


@pytest.fixture(scope="module")
def ts_stream(make_media: MakeMedia, encode: Encode) -> TranscodeResult:
    return encode(make_media("landscape.mp4", seconds=4.5, size="640x360"), "landscape")


@pytest.fixture(scope="module")
def fmp4_stream(make_media: MakeMedia, encode: Encode) -> TranscodeResult:
    return encode(make_media("landscape.mp4", seconds=4.5, size="640x360"), "cmaf",
                  options=EncodeOptions(segment_seconds=1, preset="veryfast", segment_format="fmp4"))


def variants(result: TranscodeResult) -> list[m3u8.Playlist]:
    master = m3u8.load(str(result.master))
    assert master.is_variant
    return list(master.playlists)


def media(result: TranscodeResult, uri: str) -> m3u8.M3U8:
    return m3u8.load(str(result.path / uri))


def decode_all(tc: Toolchain, playlist: Path) -> str:
    """Decode every stream of every variant; return ffmpeg's complaints (empty when clean)."""
    done = subprocess.run([tc.ffmpeg, "-v", "error", "-i", str(playlist), "-map", "0", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr.strip()


def keyframe_times(tc: Toolchain, playlist: Path) -> list[float]:
    doc = ffprobe(tc, playlist, "-select_streams", "v:0", "-skip_frame", "nokey",
                  "-show_entries", "frame=pts_time")
    return [round(float(f["pts_time"]), 3) for f in doc["frames"]]


def h264_facts(tc: Toolchain, playlist: Path) -> tuple[int, int, bool]:
    """(profile_idc, level_idc, has AAC-LC audio) as ffprobe sees the encoded streams."""
    streams = ffprobe(tc, playlist, "-show_streams")["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert video["codec_name"] == "h264"
    audio = [s for s in streams if s["codec_type"] == "audio"]
    assert all((a["codec_name"], a["profile"]) == ("aac", "LC") for a in audio)
    return H264_PROFILE_IDC[video["profile"]], int(video["level"]), bool(audio)


def assert_codecs_match(codecs: str, tc: Toolchain, playlist: Path) -> None:
    video, *audio = codecs.split(",")
    profile_idc, level_idc, has_audio = h264_facts(tc, playlist)
    assert video.startswith("avc1.") and len(video) == 11
    assert (int(video[5:7], 16), int(video[9:11], 16)) == (profile_idc, level_idc)
    assert audio == (["mp4a.40.2"] if has_audio else [])


def test_master_lists_every_rendition_with_full_attributes(ts_stream: TranscodeResult) -> None:
    found = variants(ts_stream)
    assert [v.uri for v in found] == ["360p/index.m3u8", "240p/index.m3u8"]
    assert [v.stream_info.resolution for v in found] == [(640, 360), (426, 240)]
    for v in found:
        info = v.stream_info
        assert info.bandwidth >= info.average_bandwidth > 0
        assert info.frame_rate == 30.0
        assert info.codecs.count(",") == 1
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in ts_stream.master.read_text()


def test_measured_bandwidth_matches_the_files(ts_stream: TranscodeResult) -> None:
    for v in variants(ts_stream):
        playlist = media(ts_stream, v.uri)
        folder = ts_stream.path / Path(v.uri).parent
        bits = sum((folder / s.uri).stat().st_size * 8 for s in playlist.segments)
        seconds = sum(s.duration for s in playlist.segments)
        assert v.stream_info.average_bandwidth == pytest.approx(bits / seconds, rel=1e-6)
        peak = max((folder / s.uri).stat().st_size * 8 / s.duration for s in playlist.segments)
        assert v.stream_info.bandwidth == pytest.approx(peak, rel=1e-6)


def test_media_playlists_are_complete_vod(ts_stream: TranscodeResult) -> None:
    for v in variants(ts_stream):
        playlist = media(ts_stream, v.uri)
        assert playlist.playlist_type == "vod" and playlist.is_endlist
        durations = [s.duration for s in playlist.segments]
        assert all(d <= playlist.target_duration + 0.001 for d in durations)
        assert all(d == pytest.approx(1.0, abs=0.04) for d in durations[:-1])
        assert sum(durations) == pytest.approx(4.5, abs=0.1)
        assert all(s.uri.endswith(".ts") and "/" not in s.uri for s in playlist.segments)


def test_renditions_cut_at_the_same_instants(ts_stream: TranscodeResult, toolchain: Toolchain) -> None:
    found = variants(ts_stream)
    durations = [[s.duration for s in media(ts_stream, v.uri).segments] for v in found]
    assert all(d == durations[0] for d in durations)
    keyframes = [keyframe_times(toolchain, ts_stream.path / v.uri) for v in found]
    assert all(k == keyframes[0] for k in keyframes)
    # one keyframe per segment, at its start: no scene-cut or GOP keyframes in between
    assert len(keyframes[0]) == len(durations[0])
    starts = [keyframes[0][0] + sum(durations[0][:i]) for i in range(len(durations[0]))]
    assert keyframes[0] == pytest.approx(starts, abs=0.02)


def test_every_variant_decodes_end_to_end(ts_stream: TranscodeResult, toolchain: Toolchain) -> None:
    assert decode_all(toolchain, ts_stream.master) == ""
    for v in variants(ts_stream):
        assert decode_all(toolchain, ts_stream.path / v.uri) == ""


def test_codecs_strings_match_the_streams(ts_stream: TranscodeResult, toolchain: Toolchain) -> None:
    for v in variants(ts_stream):
        assert_codecs_match(v.stream_info.codecs, toolchain, ts_stream.path / v.uri)


def test_result_reports_the_argv_the_builder_makes(ts_stream: TranscodeResult) -> None:
    argv = list(ts_stream.argv)
    source = Path(argv[argv.index("-i") + 1].removeprefix("file:"))
    assert source.is_absolute() and source.name == "landscape.mp4"
    renditions = plan_renditions(ts_stream.source, load_ladder("360p,240p"))
    assert argv == build_argv(ts_stream.toolchain.ffmpeg, source, ts_stream.source, renditions, FAST,
                              progress=False)
    assert ts_stream.speed > 0 and ts_stream.duration == pytest.approx(4.5, abs=0.1)


def test_fmp4_has_init_segments_and_decodes(fmp4_stream: TranscodeResult, toolchain: Toolchain) -> None:
    for v in variants(fmp4_stream):
        playlist = media(fmp4_stream, v.uri)
        assert playlist.segment_map and playlist.segment_map[0].uri.endswith(".mp4")
        folder = fmp4_stream.path / Path(v.uri).parent
        assert (folder / playlist.segment_map[0].uri).is_file()
        assert all(s.uri.endswith(".m4s") for s in playlist.segments)
        assert "#EXT-X-MAP:" in (fmp4_stream.path / v.uri).read_text()
        assert_codecs_match(v.stream_info.codecs, toolchain, fmp4_stream.path / v.uri)
        assert v.stream_info.codecs.startswith("avc1.64")  # veryfast keeps the High profile
    assert decode_all(toolchain, fmp4_stream.master) == ""


def test_portrait_source(make_media: MakeMedia, encode: Encode) -> None:
    result = encode(make_media("portrait.mp4", seconds=2, size="360x640"), "portrait")
    assert [v.stream_info.resolution for v in variants(result)] == [(360, 640), (240, 426)]


def test_480p_source_is_never_upscaled(make_media: MakeMedia, encode: Encode, toolchain: Toolchain) -> None:
    result = encode(make_media("sd.mp4", seconds=2, size="854x480"), "sd", ladder=None)
    assert [(v.uri, v.stream_info.resolution) for v in variants(result)] == [("480p/index.m3u8", (854, 480))]
    stream = ffprobe(toolchain, result.path / "480p/index.m3u8", "-show_streams", "-select_streams", "v")
    assert (stream["streams"][0]["width"], stream["streams"][0]["height"]) == (854, 480)


def test_video_only_source(make_media: MakeMedia, encode: Encode, toolchain: Toolchain) -> None:
    result = encode(make_media("silent.mp4", seconds=2, audio=False), "silent")
    for v in variants(result):
        assert "mp4a" not in v.stream_info.codecs
        types = [s["codec_type"] for s in ffprobe(toolchain, result.path / v.uri, "-show_streams")["streams"]]
        assert types == ["video"]
    assert decode_all(toolchain, result.master) == ""


def test_audio_only_source(make_media: MakeMedia, encode: Encode, toolchain: Toolchain) -> None:
    result = encode(make_media("tone.m4a", seconds=3, video=False), "radio")
    (v,) = variants(result)
    assert (v.uri, v.stream_info.codecs, v.stream_info.resolution) == ("audio/index.m3u8", "mp4a.40.2", None)
    assert 100_000 < v.stream_info.average_bandwidth < 200_000
    assert decode_all(toolchain, result.master) == ""


def test_bundled_ffmpeg_without_ffprobe(make_media: MakeMedia, encode: Encode, toolchain: Toolchain) -> None:
    """The imageio-ffmpeg wheel alone is enough: its static ffmpeg, no ffprobe anywhere."""
    import imageio_ffmpeg

    bundled = replace(find_toolchain(imageio_ffmpeg.get_ffmpeg_exe()), ffprobe=None, source="imageio-ffmpeg")
    result = encode(make_media("landscape.mp4", seconds=4.5, size="640x360"), "bundled", tc=bundled)
    assert result.toolchain.ffprobe is None and "imageio" in result.toolchain.ffmpeg
    assert [v.stream_info.resolution for v in variants(result)] == [(640, 360), (426, 240)]
    assert decode_all(toolchain, result.master) == ""


def test_slow_motion_source_comes_out_at_60_fps(make_media: MakeMedia, encode: Encode,
                                                toolchain: Toolchain) -> None:
    result = encode(make_media("slowmo.mp4", seconds=2, size="426x240", rate=120), "slowmo", ladder="240p")
    (v,) = variants(result)
    assert v.stream_info.frame_rate == 60.0
    stream = ffprobe(toolchain, result.path / v.uri, "-show_streams", "-select_streams", "v")["streams"][0]
    assert stream["r_frame_rate"] == "60/1"
    assert len(keyframe_times(toolchain, result.path / v.uri)) == len(media(result, v.uri).segments)
