"""The live argv builder (transcode/live.py), tested against exact lists like the VOD one."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from transcode.command import EncodeOptions
from transcode.errors import TranscodeError
from transcode.ladder import load_ladder, plan_renditions
from transcode.live import (
    IngestOutput,
    LiveOptions,
    LiveOutput,
    LiveSource,
    LocalOutput,
    build_live_argv,
    lavfi_test_graph,
    parse_size,
    parse_source,
    redact,
    redact_argv,
)
from transcode.live_cli import token_from_rtmp_args
from transcode.live_run import LiveStatus, ReconnectPolicy, describe_status, ladder_bitrate, parse_live_progress
from transcode.probe import AudioStream, MediaInfo, VideoStream

VIDEO = VideoStream(index=0, codec="rawvideo", width=1280, height=720, fps=30.0)
AUDIO = AudioStream(index=1, codec="pcm_s16le", channels=2, sample_rate=48000)
INFO = MediaInfo(None, VIDEO, AUDIO)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXBlIjoicHVibGlzaCJ9.c2lnbmF0dXJl"  # noqa: S105 (a token-shaped test value)
LAVFI = LiveSource("lavfi", lavfi_test_graph(1280, 720))
INGEST = IngestOutput("http://127.0.0.1:8080", "cam1", TOKEN)

ENCODE_720_480 = [
    "-filter_complex",
    "[0:0]split=2[s0][s1];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];"
    "[s1]scale=854:480,setsar=1,format=yuv420p[v1]",
    "-map", "[v0]", "-map", "0:1", "-map", "[v1]", "-map", "0:1",
    "-map_metadata", "-1", "-map_chapters", "-1",
    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-sc_threshold", "0",
    "-g", "60", "-keyint_min", "60", "-force_key_frames", "expr:gte(t,n_forced*2)",
    "-b:v:0", "2800000", "-maxrate:v:0", "2996000", "-bufsize:v:0", "4200000",
    "-b:v:1", "1400000", "-maxrate:v:1", "1498000", "-bufsize:v:1", "2100000",
    "-c:a", "aac", "-ac", "2", "-ar", "48000", "-b:a:0", "128000", "-b:a:1", "96000",
    "-max_muxing_queue_size", "4096",
]


def argv_for(source: LiveSource, output: LiveOutput, options: LiveOptions | None = None, ladder: str = "720p,480p",
             info: MediaInfo = INFO, start_number: int = 0, progress: bool = True) -> list[str]:
    renditions = plan_renditions(info, load_ladder(ladder))
    return build_live_argv("ffmpeg", source, info, renditions, options or LiveOptions(), output,
                           start_number=start_number, progress=progress)


def test_lavfi_into_the_ingest_over_http_put() -> None:
    assert argv_for(LAVFI, INGEST) == [
        "ffmpeg", "-hide_banner", "-loglevel", "warning", "-progress", "pipe:1", "-nostats",
        "-re", "-f", "lavfi", "-i",
        "testsrc2=size=1280x720:rate=30[out0];sine=frequency=440:beep_factor=4:sample_rate=48000[out1]",
        *ENCODE_720_480,
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
        "-hls_flags", "independent_segments+program_date_time+delete_segments",
        "-hls_segment_type", "mpegts", "-master_pl_name", "master.m3u8",
        "-method", "PUT", "-http_persistent", "1", "-timeout", "10",
        "-headers", f"Authorization: Bearer {TOKEN}\r\n",
        "-hls_segment_filename", "http://127.0.0.1:8080/ingest/cam1/%v/seg_%05d.ts",
        "-var_stream_map", "v:0,a:0,name:720p v:1,a:1,name:480p",
        "http://127.0.0.1:8080/ingest/cam1/%v/index.m3u8",
    ]


def test_looped_file_into_a_local_folder_fmp4_with_dvr() -> None:
    options = LiveOptions(EncodeOptions(segment_seconds=2.0, segment_format="fmp4"), dvr_seconds=31)
    source = LiveSource("file", "/media/clip.mp4", loop=True)
    assert argv_for(source, LocalOutput(Path("/srv/media/cam1")), options) == [
        "ffmpeg", "-hide_banner", "-loglevel", "warning", "-progress", "pipe:1", "-nostats",
        "-re", "-stream_loop", "-1", "-i", "file:/media/clip.mp4",
        *ENCODE_720_480,
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "16",  # ceil(31 / 2)
        "-hls_flags", "independent_segments+program_date_time+delete_segments+temp_file",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4", "-master_pl_name", "master.m3u8",
        "-hls_segment_filename", "%v/seg_%05d.m4s",
        "-var_stream_map", "v:0,a:0,name:720p v:1,a:1,name:480p",
        "%v/index.m3u8",
    ]


def test_file_without_loop_and_ts_local() -> None:
    argv = argv_for(LiveSource("file", "/media/clip.mp4"), LocalOutput(Path("/srv/media/cam1")), ladder="720p")
    assert argv[7:11] == ["-re", "-i", "file:/media/clip.mp4", "-filter_complex"]
    assert argv[argv.index("-f", 11):] == [
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
        "-hls_flags", "independent_segments+program_date_time+delete_segments+temp_file",
        "-hls_segment_type", "mpegts", "-master_pl_name", "master.m3u8",
        "-hls_segment_filename", "%v/seg_%05d.ts", "-var_stream_map", "v:0,a:0,name:720p", "%v/index.m3u8"]


def test_live_url_is_not_paced_and_a_restart_continues_numbers_after_a_discontinuity() -> None:
    source = parse_source("rtmp://127.0.0.1:1935/live/cam1")
    argv = argv_for(source, INGEST, LiveOptions(EncodeOptions(segment_seconds=4.0), list_size=5), ladder="480p",
                    start_number=42)
    assert "-re" not in argv
    assert argv[7:9] == ["-i", "rtmp://127.0.0.1:1935/live/cam1"]
    hls = argv[argv.index("hls") - 1:]
    assert hls == [
        "-f", "hls", "-hls_time", "4", "-hls_list_size", "5",
        "-hls_flags", "independent_segments+program_date_time+delete_segments+discont_start",
        "-start_number", "42", "-hls_segment_type", "mpegts", "-master_pl_name", "master.m3u8",
        "-method", "PUT", "-http_persistent", "1", "-timeout", "10",
        "-headers", f"Authorization: Bearer {TOKEN}\r\n",
        "-hls_segment_filename", "http://127.0.0.1:8080/ingest/cam1/%v/seg_%05d.ts",
        "-var_stream_map", "v:0,a:0,name:480p", "http://127.0.0.1:8080/ingest/cam1/%v/index.m3u8"]
    assert "-g" in argv and argv[argv.index("-g") + 1] == "120"


def test_device_input_and_an_origin_without_publish_auth() -> None:
    source = parse_source("/dev/video0", input_format="v4l2")
    assert source == LiveSource("url", "/dev/video0", input_format="v4l2")
    argv = argv_for(source, IngestOutput("https://origin.example/base/", "cam1", None), ladder="480p",
                    progress=False)
    assert argv[:9] == ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostats",
                         "-f", "v4l2", "-i", "/dev/video0"]
    assert "-headers" not in argv
    assert argv[-1] == "https://origin.example/base/ingest/cam1/%v/index.m3u8"


def test_audio_only_source_is_one_audio_rendition() -> None:
    info = MediaInfo(None, None, AudioStream(0, "aac", 2, 44100))
    argv = argv_for(LiveSource("url", "srt://10.0.0.1:9000"), INGEST, info=info)
    assert "-filter_complex" not in argv
    assert argv[argv.index("-var_stream_map") + 1] == "a:0,name:audio"
    assert argv[argv.index("-c:a"):argv.index("-max_muxing_queue_size")] == [
        "-c:a", "aac", "-ac", "2", "-ar", "44100", "-b:a:0", "128000"]


def test_parse_source() -> None:
    assert parse_source("lavfi:") == LAVFI
    assert parse_source("lavfi:", size=(320, 180)).location.startswith("testsrc2=size=320x180:rate=30[out0];")
    assert parse_source("lavfi:testsrc=size=64x64") == LiveSource("lavfi", "testsrc=size=64x64")
    assert parse_source("srt://host:9000?streamid=x") == LiveSource("url", "srt://host:9000?streamid=x")
    assert parse_source("clip.mp4", loop=True, cwd=Path("/work")) == LiveSource("file", "/work/clip.mp4", loop=True)
    with pytest.raises(TranscodeError, match="--loop applies to a file source only"):
        parse_source("rtmp://h/live/x", loop=True)
    assert parse_size("1280x720") == (1280, 720)
    for bad in ("1280", "1280x", "8x8", "axb"):
        with pytest.raises(TranscodeError, match="--size"):
            parse_size(bad)


def test_options_and_outputs_are_checked() -> None:
    assert LiveOptions().playlist_size == 6
    assert LiveOptions(dvr_seconds=60).playlist_size == 30
    with pytest.raises(TranscodeError, match="--list-size must be at least 3"):
        LiveOptions(list_size=2)
    with pytest.raises(TranscodeError, match="--dvr must be between 6 s"):
        LiveOptions(dvr_seconds=5)
    for server in ("ftp://x", "http://", "http://h/a%v", "http://h/?q=1", "127.0.0.1:8080"):
        with pytest.raises(TranscodeError, match="--server must be"):
            IngestOutput(server, "cam1", TOKEN)
    with pytest.raises(TranscodeError, match="stream id"):
        IngestOutput("http://h", "../x", TOKEN)
    with pytest.raises(TranscodeError, match="white space"):
        IngestOutput("http://h", "cam1", "a b")
    assert TOKEN not in repr(INGEST)


def test_redaction_leaves_no_token_in_a_logged_argv_or_a_message() -> None:
    argv = argv_for(LAVFI, INGEST)
    for text in (shlex.join(argv), " ".join(argv), repr(argv)):
        assert TOKEN not in redact(text)
        assert "Authorization: Bearer [redacted]" in redact(text)
    assert TOKEN not in " ".join(redact_argv(argv))
    assert redact(f"rtmp://h/live/x?token={TOKEN}&a=1") == "rtmp://h/live/x?token=[redacted]&a=1"
    assert redact(f"opaque {TOKEN[:20]}", [TOKEN[:20]]) == "opaque [redacted]"


def test_rtmp_args_token() -> None:
    assert token_from_rtmp_args(f"token={TOKEN}&x=1") == TOKEN
    assert token_from_rtmp_args(f"?x=1&token={TOKEN}") == TOKEN
    assert token_from_rtmp_args("") is None
    assert token_from_rtmp_args("x=1") is None


def test_progress_status_and_backoff() -> None:
    assert parse_live_progress({"out_time_us": "65000000", "fps": "29.97", "speed": "1.01x", "drop_frames": "3",
                                "dup_frames": "1", "progress": "continue"}) == (65.0, 29.97, 1.01, 3, 1)
    assert parse_live_progress({"out_time_us": "N/A", "fps": "nan", "speed": "N/A"}) == (None, None, None, 0, 0)
    renditions = plan_renditions(INFO, load_ladder("720p,480p"))
    assert ladder_bitrate(renditions) == 2800000 + 128000 + 1400000 + 96000
    status = LiveStatus(3723.5, 30.0, 1.0, 2, 0, 4424000, 1)
    assert describe_status("cam1", status) == \
        "live cam1: 1:02:03 on air, 30.0 fps, 1.00x, ladder 4.42 Mb/s, dropped 2, restarts 1"
    assert [ReconnectPolicy().delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
