"""The ``hlsgate transcode`` command as a person meets it: one clear line per failure, nothing lost."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HLSGATE, REPO, MakeMedia, partial_dirs, run_cli
from transcode.toolchain import Toolchain

FAST = ("--ladder", "360p,240p", "--segment-seconds", "1", "--preset", "ultrafast")


def assert_one_line_error(stderr: str, fragment: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("transcode ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("hlsgate: error: ") and fragment in lines[0], stderr


@pytest.fixture
def src(make_media: MakeMedia) -> Path:
    return make_media("cli.mp4", seconds=2, size="640x360")


@pytest.fixture(scope="module")
def long_src(make_media: MakeMedia) -> Path:
    """Long enough (at a slow preset) to interrupt mid-encode."""
    return make_media("long.mp4", seconds=20, size="1280x720")


@pytest.fixture(scope="module")
def crashing_ffmpeg(tmp_path_factory: pytest.TempPathFactory, toolchain: Toolchain) -> Path:
    """An ffmpeg that probes like the real one but crashes (SIGSEGV) as soon as it encodes."""
    folder = tmp_path_factory.mktemp("crashing")
    script = folder / "ffmpeg"
    script.write_text(f"""#!/bin/sh
case " $* " in
  *" -progress "*) echo "[h264 @ 0x55] decoding went wrong" >&2; echo "something fatal" >&2; kill -SEGV $$ ;;
  *) exec {toolchain.ffmpeg} "$@" ;;
esac
""")
    script.chmod(0o755)
    return script


def test_success_prints_a_summary_and_progress_lines(src: Path, out_parent: Path) -> None:
    run = run_cli("transcode", str(src), str(out_parent / "clip"), *FAST)
    assert run.code == 0, run.stderr
    assert (out_parent / "clip" / "master.m3u8").is_file()
    assert "published stream 'clip'" in run.stdout
    assert "360p     640x360" in run.stdout and "ffmpeg " in run.stdout
    progress = [line for line in run.stderr.splitlines() if line.startswith("transcode clip: ")]
    assert progress and progress[-1].startswith("transcode clip: 100%, 2.0/2.0 s")


def test_quiet_prints_nothing(src: Path, out_parent: Path) -> None:
    run = run_cli("transcode", str(src), str(out_parent / "clip"), *FAST, "--quiet")
    assert (run.code, run.stdout, run.stderr) == (0, "", "")


def test_terminal_gets_a_progress_bar(src: Path, out_parent: Path) -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen([*HLSGATE, "transcode", str(src), str(out_parent / "tty"), *FAST],
                            stdout=child, stderr=child, stdin=subprocess.DEVNULL, cwd=REPO)
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "100%|" in text and "x real time" in text and "ETA" in text


def test_version_names_the_ffmpeg_in_use() -> None:
    run = run_cli("transcode", "--version")
    assert run.code == 0
    assert run.stdout.startswith("ffmpeg ") and "(PATH: " in run.stdout and "ffprobe: " in run.stdout


def test_explicit_ffmpeg_wins_over_path(toolchain: Toolchain) -> None:
    run = run_cli("transcode", "--version", env={"HLSGATE_FFMPEG": toolchain.ffmpeg})
    assert "(explicit: " in run.stdout


def test_missing_arguments_is_a_usage_error() -> None:
    run = run_cli("transcode")
    assert run.code == 2 and "INPUT and OUTDIR are required" in run.stderr


@pytest.mark.parametrize(("case", "fragment"), [
    ("missing", "input not found"),
    ("garbage", "is not media ffmpeg can read"),
    ("moov-truncated", "is not media ffmpeg can read"),
    ("tail-truncated", "the file is truncated or damaged"),
    ("subtitles", "holds no audio or video stream"),
    ("unwritable", "cannot write to"),
    ("bad-id", "stream id 'my movie' (the output folder's name) is not valid"),
    ("bad-ladder", "unknown rung(s) 4k"),
    ("bad-segment", "--segment-seconds must be between 1 and 60"),
    ("no-ffmpeg", "ffmpeg not found at '/nonexistent/ffmpeg'"),
    ("not-ffmpeg", "does not answer like ffmpeg"),
])
def test_bad_input_gets_one_clear_line(case: str, fragment: str, src: Path, out_parent: Path,
                                       make_media: MakeMedia, toolchain: Toolchain) -> None:
    source, outdir, extra, env = src, out_parent / "movie", list(FAST), {}
    if case == "missing":
        source = out_parent.parent / "nope.mp4"
    elif case == "garbage":
        source = out_parent.parent / "notes.mp4"
        source.write_text("shopping list\n" * 200)
    elif case == "moov-truncated":  # index at the end, cut off: unreadable
        whole = make_media("moov-last.mp4", seconds=4, extra=("-movflags", "-faststart"))
        source = out_parent.parent / "cut.mp4"
        source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    elif case == "tail-truncated":  # index first, media cut off halfway: decodes, but only half
        whole = make_media("long-fast-start.mp4", seconds=8)
        source = out_parent.parent / "half.mp4"
        source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    elif case == "subtitles":
        source = out_parent.parent / "captions.srt"
        source.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    elif case == "unwritable":
        (out_parent / "file").write_text("")
        outdir = out_parent / "file" / "movie"
    elif case == "bad-id":
        outdir = out_parent / "my movie"
    elif case == "bad-ladder":
        extra = ["--ladder", "4k"]
    elif case == "bad-segment":
        extra = ["--segment-seconds", "0.2"]
    elif case == "no-ffmpeg":
        env = {"HLSGATE_FFMPEG": "/nonexistent/ffmpeg"}
    elif case == "not-ffmpeg":
        env = {"HLSGATE_FFMPEG": "true"}
    run = run_cli("transcode", str(source), str(outdir), *extra, env=env)
    assert run.code == 1
    assert_one_line_error(run.stderr, fragment)
    assert not outdir.exists()


def test_crashing_ffmpeg_shows_its_last_words(src: Path, out_parent: Path, crashing_ffmpeg: Path) -> None:
    run = run_cli("transcode", str(src), str(out_parent / "movie"), *FAST, "--ffmpeg", str(crashing_ffmpeg))
    assert run.code == 1 and "Traceback" not in run.stderr
    first, *rest = [line for line in run.stderr.strip().splitlines() if not line.startswith("transcode ")]
    assert first == "hlsgate: error: ffmpeg was killed by SIGSEGV: something fatal"
    assert rest == ["ffmpeg's last words:", "  | [h264 @ 0x55] decoding went wrong", "  | something fatal"]
    assert not (out_parent / "movie").exists()


def test_existing_output_needs_force_and_survives_a_failed_replace(
        src: Path, out_parent: Path, crashing_ffmpeg: Path) -> None:
    out = out_parent / "movie"
    assert run_cli("transcode", str(src), str(out), *FAST, "--quiet").code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    refused = run_cli("transcode", str(src), str(out), *FAST)
    assert refused.code == 1
    assert_one_line_error(refused.stderr, "already exists; pass --force")

    failed = run_cli("transcode", str(src), str(out), *FAST, "--force", "--ffmpeg", str(crashing_ffmpeg))
    assert failed.code == 1
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    replaced = run_cli("transcode", str(src), str(out), "--ladder", "240p", "--segment-seconds", "1",
                       "--preset", "ultrafast", "--force", "--quiet")
    assert replaced.code == 0
    assert sorted(p.name for p in out.iterdir()) == ["240p", "master.m3u8"]


def start_slow_encode(src: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*HLSGATE, "transcode", str(src), str(out), "--ladder", "720p,480p",
                             "--preset", "slower", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=REPO)


def wait_for_first_segment(parent: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.suffix == ".ts" for d in partial_dirs(parent) for p in d.rglob("*")):
            return
        time.sleep(0.05)
    pytest.fail("the encode never wrote a segment")


def ffmpeg_children(pid: int) -> list[int]:
    done = subprocess.run(["pgrep", "-P", str(pid), "ffmpeg"], capture_output=True, text=True, check=False)
    return [int(x) for x in done.stdout.split()]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_publishes_nothing_and_stops_ffmpeg(sig: signal.Signals, long_src: Path,
                                                      out_parent: Path) -> None:
    proc = start_slow_encode(long_src, out_parent / "movie")
    wait_for_first_segment(out_parent, proc)
    children = ffmpeg_children(proc.pid)
    assert children
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["hlsgate: interrupted; nothing was published"]
    assert not (out_parent / "movie").exists()
    for child in children:
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)


def test_ffmpeg_killed_mid_encode(long_src: Path, out_parent: Path) -> None:
    proc = start_slow_encode(long_src, out_parent / "movie")
    wait_for_first_segment(out_parent, proc)
    for child in ffmpeg_children(proc.pid):
        os.kill(child, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert_one_line_error(err, "ffmpeg was killed by SIGKILL")
    assert not (out_parent / "movie").exists()


def test_timeout(long_src: Path, out_parent: Path) -> None:
    run = run_cli("transcode", str(long_src), str(out_parent / "movie"), "--preset", "slower",
                  "--timeout", "1")
    assert run.code == 1
    assert "hlsgate: error: ffmpeg did not finish within 1 s and was stopped" in run.stderr
    assert not (out_parent / "movie").exists()


def test_demo_transcodes_a_generated_clip(tmp_path: Path) -> None:
    run = run_cli("demo", "--media-root", str(tmp_path / "media"), "--seconds", "2", "--ladder", "360p",
                  "--preset", "ultrafast", "--no-serve")
    assert run.code == 0, run.stderr
    assert (tmp_path / "media" / "demo" / "master.m3u8").is_file()
    assert "published stream 'demo'" in run.stdout


def test_hostile_paths_are_just_paths(src: Path, tmp_path: Path) -> None:
    """An input named like an ffmpeg protocol, an output path with pattern and protocol characters."""
    (tmp_path / "concat:x.mp4").write_bytes(src.read_bytes())
    parent = tmp_path / "100%d:odd dir"
    run = run_cli("transcode", "concat:x.mp4", str(parent / "clip"), *FAST, "--quiet", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert (parent / "clip" / "360p" / "index.m3u8").is_file()


def test_disk_full_is_reported_and_leaves_nothing(src: Path, tmp_path: Path) -> None:
    """A real full disk: a 200 KiB tmpfs in a private mount namespace (needs root, as CI is)."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    script = (f"mount -t tmpfs -o size=200k tmpfs {mountpoint} || exit 99; "
              f"{sys.executable} -m hls_server.cli transcode {src} {mountpoint}/media/movie "
              f"{' '.join(FAST)}; code=$?; echo left: $(ls -A {mountpoint}/media); exit $code")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("hlsgate: error:")]
    assert errors and "the output disk is full" in errors[0], done.stderr
    assert done.stdout.strip() == "left:"
