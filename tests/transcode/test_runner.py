from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from transcode.errors import FFmpegFailed, FFmpegNotFound, TranscodeTimeout
from transcode.report import LogLines, describe, format_seconds
from transcode.runner import Progress, parse_progress_block, run_ffmpeg


def fake(script: str) -> list[str]:
    """A stand-in for ffmpeg: a Python child that prints what ffmpeg would print."""
    return [sys.executable, "-c", textwrap.dedent(script)]


def test_parse_progress_block() -> None:
    assert parse_progress_block({"out_time_us": "2500000", "speed": "1.5x", "progress": "continue"}) == \
        (2.5, 1.5, False)
    assert parse_progress_block({"out_time_us": "N/A", "speed": "N/A", "progress": "end"}) == (None, None, True)
    assert parse_progress_block({"out_time_us": "-500", "speed": " 12x"}) == (0.0, 12.0, False)


def test_progress_fraction_and_eta() -> None:
    p = Progress(out_seconds=5.0, duration=20.0, speed=2.5, elapsed=2.0)
    assert (p.fraction, p.eta) == (0.25, 6.0)
    assert Progress(5.0, None, 2.5, 2.0).fraction is None
    assert Progress(25.0, 20.0, None, 2.0).fraction == 1.0
    assert Progress(20.0, 20.0, 2.0, 2.0, done=True).eta == 0.0
    assert describe(p) == " 25%, 5.0/20.0 s, 2.50x real time, ETA 0:06"
    assert describe(Progress(5.0, None, None, 1.0)) == "5.0 s"
    assert [format_seconds(s) for s in (None, 0, 59.6, 3725)] == ["--:--", "0:00", "1:00", "1:02:05"]


async def test_progress_reaches_the_callback() -> None:
    seen: list[Progress] = []
    await run_ffmpeg(fake("""
        for us in (1000000, 2000000):
            print(f"frame=1\\nout_time_us={us}\\nspeed=2x\\nprogress=continue", flush=True)
        print("out_time_us=4000000\\nspeed=2.1x\\nprogress=end", flush=True)
    """), duration=4.0, on_progress=seen.append)
    assert [(p.out_seconds, p.speed, p.done) for p in seen] == [(1.0, 2.0, False), (2.0, 2.0, False),
                                                                 (4.0, 2.1, True)]
    assert seen[-1].fraction == 1.0


async def test_failure_carries_the_stderr_tail() -> None:
    with pytest.raises(FFmpegFailed) as caught:
        await run_ffmpeg(fake("""
            import sys
            for i in range(40):
                print(f"line {i}", file=sys.stderr)
            print("x" * 5000, file=sys.stderr)
            print("Conversion failed!", file=sys.stderr)
            sys.exit(1)
        """))
    err = caught.value
    assert str(err) == "ffmpeg failed (exit status 1): Conversion failed!"
    assert err.returncode == 1
    lines = err.stderr_tail.splitlines()
    assert len(lines) == 15 and lines[0] == "line 27" and lines[-1] == "Conversion failed!"
    assert max(len(line) for line in lines) <= 400


async def test_crash_by_signal_is_named() -> None:
    with pytest.raises(FFmpegFailed, match="ffmpeg was killed by SIGSEGV: about to crash"):
        await run_ffmpeg(fake("""
            import os, signal, sys
            print("about to crash", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)
        """))


async def test_timeout_stops_the_process() -> None:
    started = time.monotonic()
    with pytest.raises(TranscodeTimeout, match=r"did not finish within 0\.5 s"):
        await run_ffmpeg(fake("import time; time.sleep(60)"), timeout=0.5)
    assert time.monotonic() - started < 10


async def test_cancellation_stops_the_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(run_ffmpeg(fake(f"""
        import os, time
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """)))
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


async def test_missing_binary() -> None:
    with pytest.raises(FFmpegNotFound, match="cannot run /nonexistent/ffmpeg"):
        await run_ffmpeg(["/nonexistent/ffmpeg", "-version"])


def test_log_lines_are_throttled_but_end_is_always_said(capsys: pytest.CaptureFixture[str]) -> None:
    import sys as _sys
    log = LogLines(_sys.stderr, "transcode x")
    for tenth in range(1, 10):
        log(Progress(tenth * 1.0, 10.0, 3.0, 0.1 * tenth))
    log(Progress(10.0, 10.0, 3.0, 1.0, done=True))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["transcode x:  10%, 1.0/10.0 s, 3.00x real time, ETA 0:03",
                     "transcode x: 100%, 10.0/10.0 s, 3.00x real time, ETA 0:00"]


async def test_a_write_error_fails_even_when_ffmpeg_exits_0() -> None:
    with pytest.raises(FFmpegFailed) as caught:
        await run_ffmpeg(fake("""
            import sys
            print("[hls @ 0x1] Failed to write segment: No space left on device", file=sys.stderr)
            print("[out#0/hls @ 0x2] video:10kB audio:2kB", file=sys.stderr)
        """))
    assert str(caught.value) == ("ffmpeg could not write its output because the output disk is full: "
                                 "[hls @ 0x1] Failed to write segment: No space left on device")


async def test_an_endless_line_is_dropped_not_fatal() -> None:
    with pytest.raises(FFmpegFailed) as caught:
        await run_ffmpeg(fake("""
            import sys
            sys.stderr.write("x" * (3 << 20))
            sys.stderr.write("\\nthe real reason\\n")
            sys.exit(1)
        """))
    assert str(caught.value) == "ffmpeg failed (exit status 1): the real reason"
    assert "too long to keep was dropped" in caught.value.stderr_tail
