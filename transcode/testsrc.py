"""Generated sources (ffmpeg lavfi ``testsrc2`` + ``sine``) for the demo, the tests and the benchmarks."""

from __future__ import annotations

import subprocess
from pathlib import Path

GENERATE_TIMEOUT_SECONDS = 600


def testsrc_argv(ffmpeg: str, out: Path, *, seconds: float = 10.0, size: str = "1280x720", rate: int = 30,
                 video: bool = True, audio: bool = True, crf: int = 18) -> list[str]:
    """A moving test pattern with a tone, encoded at high quality so it is a fair source to transcode."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds:g}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={seconds:g}"]
    if video:
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "128k"]
    return [*argv, "-movflags", "+faststart", str(out)]


def generate_testsrc(ffmpeg: str, out: Path, *, seconds: float = 10.0, size: str = "1280x720",
                     rate: int = 30, video: bool = True, audio: bool = True) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = testsrc_argv(ffmpeg, out, seconds=seconds, size=size, rate=rate, video=video, audio=audio)
    subprocess.run(argv, check=True, timeout=GENERATE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    return out
