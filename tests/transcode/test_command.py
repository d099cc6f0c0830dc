from __future__ import annotations

from pathlib import Path

import pytest

from transcode.command import EncodeOptions, build_argv, filter_graph, output_frame_rate
from transcode.errors import TranscodeError
from transcode.ladder import load_ladder, plan_renditions
from transcode.probe import AudioStream, MediaInfo, VideoStream

SRC = Path("/in/movie.mov")
VIDEO = VideoStream(index=0, codec="h264", width=1920, height=1080, fps=30.0)
AUDIO = AudioStream(index=1, codec="aac", channels=2, sample_rate=48000)


def argv_for(info: MediaInfo, ladder: str, **options: object) -> list[str]:
    renditions = plan_renditions(info, load_ladder(ladder))
    return build_argv("ffmpeg", SRC, info, renditions, EncodeOptions(**options))  # type: ignore[arg-type]


def test_two_rungs_with_audio_ts() -> None:
    assert argv_for(MediaInfo(20.0, VIDEO, AUDIO), "720p,480p") == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats",
        "-i", "file:/in/movie.mov",
        "-filter_complex",
        "[0:0]split=2[s0][s1];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];"
        "[s1]scale=854:480,setsar=1,format=yuv420p[v1]",
        "-map", "[v0]", "-map", "0:1", "-map", "[v1]", "-map", "0:1",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-sc_threshold", "0",
        "-g", "120", "-keyint_min", "120", "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-b:v:0", "2800000", "-maxrate:v:0", "2996000", "-bufsize:v:0", "4200000",
        "-b:v:1", "1400000", "-maxrate:v:1", "1498000", "-bufsize:v:1", "2100000",
        "-c:a", "aac", "-ac", "2", "-ar", "48000", "-b:a:0", "128000", "-b:a:1", "96000",
        "-max_muxing_queue_size", "4096",
        "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
        "-hls_segment_type", "mpegts",
        "-hls_segment_filename", "%v/seg_%05d.ts",
        "-var_stream_map", "v:0,a:0,name:720p v:1,a:1,name:480p",
        "%v/index.m3u8",
    ]


def test_fmp4_and_fractional_frame_rate_and_segment_length() -> None:
    info = MediaInfo(20.0, VideoStream(0, "h264", 1280, 720, 30000 / 1001), AUDIO)
    argv = argv_for(info, "720p", segment_seconds=2.5, segment_format="fmp4", preset="medium")
    assert argv[argv.index("-g") + 1] == "75"  # round(29.97 * 2.5)
    assert "expr:gte(t,n_forced*2.5)" in argv
    assert argv[argv.index("-preset") + 1] == "medium"
    hls = argv[argv.index("-f"):]
    assert hls == [
        "-f", "hls", "-hls_time", "2.5", "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", "%v/seg_%05d.m4s",
        "-var_stream_map", "v:0,a:0,name:720p", "%v/index.m3u8"]


def test_no_progress_reports_when_nobody_reads_them() -> None:
    info = MediaInfo(20.0, VIDEO, AUDIO)
    renditions = plan_renditions(info, load_ladder("720p"))
    quiet = build_argv("ffmpeg", SRC, info, renditions, EncodeOptions(), progress=False)
    assert quiet[:7] == ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats", "-i"]
    assert quiet == [a for a in argv_for(info, "720p") if a not in ("-progress", "pipe:1")]


def test_video_only_maps_no_audio() -> None:
    argv = argv_for(MediaInfo(5.0, VIDEO, None), "720p,480p")
    assert "-c:a" not in argv and "0:1" not in argv
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,name:720p v:1,name:480p"


def test_audio_only_has_no_filter_graph_and_keeps_mono_and_44k1() -> None:
    mono = AudioStream(index=0, codec="mp3", channels=1, sample_rate=44100)
    assert argv_for(MediaInfo(5.0, None, mono), "720p") == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats",
        "-i", "file:/in/movie.mov", "-map", "0:0", "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:a", "aac", "-ac", "1", "-ar", "44100", "-b:a:0", "128000",
        "-max_muxing_queue_size", "4096",
        "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
        "-hls_segment_type", "mpegts", "-hls_segment_filename", "%v/seg_%05d.ts",
        "-var_stream_map", "a:0,name:audio", "%v/index.m3u8"]


def test_surround_is_downmixed_and_odd_rates_resampled() -> None:
    surround = AudioStream(index=1, codec="ac3", channels=6, sample_rate=32000)
    argv = argv_for(MediaInfo(5.0, VIDEO, surround), "480p")
    assert argv[argv.index("-c:a"):argv.index("-c:a") + 6] == ["-c:a", "aac", "-ac", "2", "-ar", "48000"]


def test_unknown_frame_rate_still_forces_keyframes() -> None:
    argv = argv_for(MediaInfo(5.0, VideoStream(0, "h264", 640, 360, None), None), "360p")
    assert "-g" not in argv
    assert "expr:gte(t,n_forced*4)" in argv


def test_filter_graph_uses_the_probed_stream_index() -> None:
    info = MediaInfo(5.0, VideoStream(3, "h264", 640, 360, 25.0), None)
    graph = filter_graph(info, plan_renditions(info, load_ladder("360p")))
    assert graph == "[0:3]split=1[s0];[s0]scale=640:360,setsar=1,format=yuv420p[v0]"


@pytest.mark.parametrize(("options", "message"), [
    ({"segment_seconds": 0.5}, "--segment-seconds"),
    ({"segment_seconds": 61}, "--segment-seconds"),
    ({"segment_format": "mkv"}, "--format"),
    ({"codec": "vp9"}, "--codec 'vp9' is not supported"),
    ({"preset": "warp"}, "not a libx264 preset"),
])
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(TranscodeError, match=message):
        EncodeOptions(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fps", "expected"), [
    (None, None), (25.0, 25.0), (30000 / 1001, 30000 / 1001), (60.0, 60.0), (60000 / 1001, 60000 / 1001),
    (120.0, 60.0), (240.0, 60.0), (100.0, 50.0), (120000 / 1001, 60000 / 1001), (90.0, 45.0),
])
def test_output_frame_rate(fps: float | None, expected: float | None) -> None:
    assert output_frame_rate(fps) == (pytest.approx(expected) if expected else None)


def test_slow_motion_source_is_brought_down_to_60_fps() -> None:
    info = MediaInfo(5.0, VideoStream(0, "h264", 1280, 720, 240.0), AUDIO)
    argv = argv_for(info, "720p")
    assert argv[argv.index("-filter_complex") + 1].startswith("[0:0]fps=60,split=1[s0];")
    assert argv[argv.index("-g") + 1] == "240"  # 60 fps x 4 s
