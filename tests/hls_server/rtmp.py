"""The RTMP tests' shared builders: nginx-rtmp's callback bodies as nginx writes them, a real nginx-rtmp run from
the configuration ``hlsgate rtmp-config`` prints, and ffmpeg as the RTMP client (OBS's stand-in).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

NGINX = "/usr/sbin/nginx"
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
START_SECONDS = 10.0
STOP_SECONDS = 5.0
POLL_SECONDS = 0.02
FLASHVER = "FMLE/3.0 (compatible; Lavf59.27"


def nginx_form(*, call: str = "publish", name: str = "s1", args: str = "", tcurl: str = "rtmp://127.0.0.1/live",
               clientid: str = "7", app: str = "live") -> bytes:
    """A callback body as ngx_rtmp_notify_module writes it: its session fields escaped, then ``call``, ``name``
    (and ``type`` for a publish), then the client's arguments (``args``) exactly as the client sent them."""
    fields = [("app", app), ("flashver", FLASHVER), ("swfurl", ""), ("tcurl", tcurl), ("pageurl", ""),
              ("addr", "192.0.2.10"), ("clientid", clientid), ("call", call), ("name", name)]
    if call == "publish":
        fields.append(("type", "live"))
    body = "&".join(f"{key}={quote(value, safe='/:')}" for key, value in fields)
    return (body + ("&" + args if args else "")).encode("utf-8", "surrogateescape")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Nginx:
    """A running nginx (its master is the test's child) and where it keeps its files."""

    process: subprocess.Popen[bytes]
    prefix: Path
    port: int

    def url(self, app: str, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/{app}/{key}"

    def error_log(self) -> str:
        return self._read("error.log")

    def access_log(self) -> str:
        return self._read("rtmp-access.log")

    def _read(self, name: str) -> str:
        path = self.prefix / name
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_nginx(prefix: Path, config: str, port: int) -> Iterator[Nginx]:
    """``nginx -c PREFIX/nginx.conf -g 'daemon off;'``, the configuration as it is (its paths are under ``prefix``),
    until the block ends; then SIGQUIT (a graceful stop), SIGKILL should it not end in time. As root, the workers
    stay root so that they may run the test's scripts from its private temporary folder (a deployment runs nginx
    as an ordinary user)."""
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    argv = [NGINX, "-c", str(conf), "-g", directives]
    with (prefix / "nginx.stderr").open("wb") as stderr:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, cwd=prefix)
    nginx = Nginx(process, prefix, port)
    try:
        _wait_for_port(nginx)
        yield nginx
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(nginx: Nginx) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if nginx.process.poll() is not None:
            break
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", nginx.port)) == 0:
                return
        time.sleep(POLL_SECONDS)
    stderr = (nginx.prefix / "nginx.stderr").read_text(errors="replace")
    raise AssertionError(f"nginx did not listen on {nginx.port}:\n{stderr}\n{nginx.error_log()}")


@dataclass(frozen=True)
class Published:
    code: int | None
    """ffmpeg's exit status, None while it still runs"""
    seconds: float
    stderr: str


def publish_argv(ffmpeg: str, url: str, seconds: float, extra: Sequence[str] = ()) -> list[str]:
    """ffmpeg publishing a tiny test pattern with a tone over RTMP for ``seconds``, as OBS would (H.264 + AAC);
    ``extra`` are options of the RTMP output (``-rtmp_tcurl ...``)."""
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-f", "lavfi", "-i", "sine=sample_rate=22050",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "aac", "-b:a", "32k",
            *extra, "-f", "flv", url]


def publish(ffmpeg: str, url: str, *, seconds: float = 2.0, extra: Sequence[str] = (),
            timeout: float = 20.0) -> Published:
    """Publish for ``seconds`` and wait for ffmpeg to end: a refused client ends at once with a non-zero code."""
    started = time.monotonic()
    done = subprocess.run(publish_argv(ffmpeg, url, seconds, extra), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return Published(done.returncode, time.monotonic() - started, done.stderr)


def files_under(root: Path, *, skip: Sequence[str] = (".hlsgate",)) -> set[str]:
    """Every file below ``root`` (relative), outside the state directory."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
            and p.relative_to(root).parts[0] not in skip}
