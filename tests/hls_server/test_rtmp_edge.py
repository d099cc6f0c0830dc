"""``deploy/rtmp-edge``, the one command that starts the origin and nginx-rtmp on one machine (docs/rtmp.md): both
come up, a publisher without a token is dropped, one with a publish token is let in, and Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO
from transcode.toolchain import Toolchain

from .conftest import make_token
from .rtmp import free_port, publish
from .serving import http, serve_env

SCRIPT = REPO / "deploy" / "rtmp-edge"
START_SECONDS = 30.0
STOP_SECONDS = 15.0


def up(rtmp_port: int, http_port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "rtmp-edge ended while starting"
        with socket.socket() as s:
            rtmp_up = s.connect_ex(("127.0.0.1", rtmp_port)) == 0
        try:
            http_up = http(f"http://127.0.0.1:{http_port}/healthz")[0] == 200
        except OSError:
            http_up = False
        if rtmp_up and http_up:
            return
        time.sleep(0.1)
    raise AssertionError("rtmp-edge did not bring both up")


def test_one_command_starts_both_and_ctrl_c_stops_both(toolchain: Toolchain, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    rtmp_port, http_port = free_port(), free_port()
    env = serve_env(HLSGATE_RTMP_PREFIX=str(tmp_path / "nginx"), HLSGATE=str(Path(sys.executable).parent / "hlsgate"))
    with (tmp_path / "out").open("wb") as out:
        process = subprocess.Popen([str(SCRIPT), str(media), str(rtmp_port), str(http_port)], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   start_new_session=True)
    try:
        up(rtmp_port, http_port, process)
        refused = publish(toolchain.ffmpeg, f"rtmp://127.0.0.1:{rtmp_port}/live/e1", seconds=3.0)
        assert refused.code not in (0, None) and refused.seconds < 5.0, refused.stderr
        token = make_token(type="publish", streamId="e1")
        accepted = publish(toolchain.ffmpeg, f"rtmp://127.0.0.1:{rtmp_port}/live/e1?token={token}", seconds=1.0)
        assert accepted.code == 0, accepted.stderr
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in its terminal
        assert process.wait(timeout=STOP_SECONDS) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    printed = (tmp_path / "out").read_text(errors="replace")
    assert '"POST /rtmp/on_publish" 401' in printed and '"POST /rtmp/on_publish" 204' in printed, printed
    assert token[-24:] not in printed
    for port in (rtmp_port, http_port):  # both are gone
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
