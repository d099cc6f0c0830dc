"""Benchmark: hlsgate's origin against nginx on loopback, measured with wrk.

Contenders, each a single process (nginx: one master, one worker) serving the same files on 127.0.0.1:

* ``nginx-static``        nginx as a user would run it, no check (``sendfile on``, Debian's default config);
* ``nginx-secure_link``   the same nginx with ``secure_link`` (an MD5 of expiry, URI and a secret in the query,
                          403 when wrong, 410 when expired): the token-checking baseline a user would pick;
* ``nginx-secure_link+sub_filter``  the same check plus ``sub_filter`` appending the link to every URI of a
                          playlist: nginx doing hlsgate's job (token propagation). Its link covers the stream's
                          folder, not the URI, or a propagated link could not open the segments;
* ``hlsgate-auth``        ``hlsgate serve`` with a play JWT in ``?token=``;
* ``hlsgate-auth-header`` the same server with the JWT in ``Authorization: Bearer``: the token is checked on
                          every request but not written into playlists, which isolates the cost of auth from
                          the cost of propagation (the larger, rewritten playlist);
* ``hlsgate-noauth``      ``hlsgate serve --no-auth``, the same files with no check.

Two workloads, each fetched over and over by wrk (``-t1``, same connections and duration for everyone):

* ``segment``   one MPEG-TS segment of random bytes (1 MiB by default);
* ``playlist``  a VOD media playlist of 300 four-second segments. hlsgate-auth returns it with the token
                appended to every URI (token propagation), so its response is larger; nginx cannot rewrite
                a playlist and serves it verbatim, which a player could not use behind secure_link.

Before anything is timed, every contender must return 200 and the expected body (hlsgate-auth: the playlist
with the token on every segment line), and both token-checking contenders must refuse a request without a
token, with a forged token, and (nginx) an expired link. Each contender is warmed up, then the rounds are
interleaved, each round starting one contender later, and the median requests/s and transfer/s are reported
with the ratios the targets are stated in: auth cost (hlsgate-auth/hlsgate-noauth >= 0.95), segments
(hlsgate-auth/nginx-secure_link >= 0.6) and playlists (hlsgate-auth/nginx-secure_link >= 0.25).

With two CPUs or more, wrk runs on one and the servers on another (``taskset``); the CPU each side used is
shown, since a client at 100% means the figure is the client's limit, not the server's. So is the CPU the
rest of the machine used: it is shared, and a sample during which it took more than ``--max-noise`` of a core
is run again (twice at most); one still noisy is starred and left out of the medians.

``--compare REV`` (repeatable) runs hlsgate at another commit too, as ``hlsgate-auth@<commit>``,
``hlsgate-auth-header@<commit>`` and ``hlsgate-noauth@<commit>``: the commit is checked out into a temporary
detached ``git worktree`` (removed afterwards, on errors and Ctrl-C too) and served by this venv's Python with
``PYTHONPATH`` set to the checkout; where its modules are imported from is checked before anything runs. Its
servers get the same files, token, CPU and checks, in the same rounds, and an ``after/before`` line per workload
gives this tree against the revision with the spread of the per-round ratios and which side was CPU-bound.

    .venv/bin/python bench/origin_throughput.py                      # 5 rounds of 10 s per contender
    .venv/bin/python bench/origin_throughput.py --rounds 9 --out bench/out/origin.md
    .venv/bin/python bench/origin_throughput.py --compare main       # this tree (after) against main (before)
    .venv/bin/python bench/origin_throughput.py --quick              # smoke: 1 round of 1 s, tiny files

The exit status is 0 whether targets are met or missed (the ratio lines say PASS or MISS); it is non-zero
when a tool is missing, a contender fails its checks, does not start, or answers non-2xx under load.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

# bench/processes.py: run as a script, bench/ is on sys.path
from processes import git, interrupt_on_sigterm, stop, worktree

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

HOST = "127.0.0.1"
STREAM = "bench"
RENDITION = "720p"
SEGMENT_NAME = "seg_00000.ts"
SEGMENT_SECONDS = 4.0
LAST_SEGMENT_SECONDS = 2.5
"""A VOD playlist's last segment is usually short; it keeps the playlist looking like ffmpeg's."""
MIB = 1024 * 1024

SEGMENT = "segment"
PLAYLIST = "playlist"
WORKLOADS = (SEGMENT, PLAYLIST)
SEGMENT_PATH = f"/hls/{STREAM}/{RENDITION}/{SEGMENT_NAME}"
PLAYLIST_PATH = f"/hls/{STREAM}/{RENDITION}/index.m3u8"
MASTER_PATH = f"/hls/{STREAM}/master.m3u8"
WORKLOAD_PATHS = {SEGMENT: SEGMENT_PATH, PLAYLIST: PLAYLIST_PATH}

NGINX_STATIC = "nginx-static"
NGINX_SECURE_LINK = "nginx-secure_link"
NGINX_SUB_FILTER = "nginx-secure_link+sub_filter"
HLSGATE_AUTH = "hlsgate-auth"
HLSGATE_NOAUTH = "hlsgate-noauth"
HLSGATE_HEADER = "hlsgate-auth-header"
COMPARED = (HLSGATE_AUTH, HLSGATE_HEADER, HLSGATE_NOAUTH)
"""The contenders a ``--compare`` revision runs as too (``hlsgate-auth@<commit>`` ...)."""
HLSGATE_MODULE = "hls_server.cli"
PROJECT_PACKAGES = ("hls_server", "transcode")
SUBJECT_CHARS = 60

TARGET_AUTH_COST = 0.95
TARGET_SEGMENTS_VS_SECURE_LINK = 0.60
TARGET_PLAYLISTS_VS_SECURE_LINK = 0.25

DEFAULT_ROUNDS = 5
DEFAULT_DURATION_SECONDS = 10
DEFAULT_CONNECTIONS = 32
DEFAULT_SEGMENT_MIB = 1.0
DEFAULT_PLAYLIST_SEGMENTS = 300
DEFAULT_WARMUP_SECONDS = 3
QUICK_SEGMENT_MIB = 1 / 16
QUICK_PLAYLIST_SEGMENTS = 20
QUICK_WARMUP_SECONDS = 1

WRK_THREADS = 1
WRK_TIMEOUT_SECONDS = 5
"""wrk's own per-request timeout (its default is 2 s); a slower answer counts as a timeout error."""
WRK_GRACE_SECONDS = 30.0
TOKEN_TTL_SECONDS = 3600
READY_TIMEOUT_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 10.0
CLI_TIMEOUT_SECONDS = 60.0
LOG_TAIL_CHARS = 2000
SATURATED_CPU = 0.9
"""Below this share of its core, a server was not the bottleneck of its run (wrk or the machine was)."""
DEFAULT_MAX_NOISE = 0.25
"""A run during which the rest of the machine was busier than this share of a core is noisy: it is run again."""
NOISY_RETRIES = 2
NOISY_PAUSE_SECONDS = 5.0

SECRET_QUERY = re.compile(r"\b(token|md5)=[^&\s'\"]+")
RESULT_MARK = "BENCH-RESULT "
IMPORT_PROBE = f"""\
# Run with the server's Python, environment and working directory: where does its hlsgate come from?
import importlib, json, pkgutil, sys
import {HLSGATE_MODULE}
import hls_server
for info in pkgutil.walk_packages(hls_server.__path__, "hls_server.", onerror=lambda name: None):
    if not info.name.endswith(".__main__"):
        try:
            importlib.import_module(info.name)
        except Exception:
            pass  # a module this venv cannot import: the server would not use it either
print(json.dumps({{name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                  if name.partition(".")[0] in {PROJECT_PACKAGES!r}}}))
"""
WRK_SCRIPT = """\
-- Written by bench/origin_throughput.py: exact totals once at the end (a per-request Lua callback would slow
-- wrk down and become the bottleneck).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('<MARK>{"duration_us": %.0f, "requests": %.0f, "bytes": %.0f, "connect": %.0f, '
    .. '"read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, "p50_us": %.0f, "p99_us": %.0f, '
    .. '"max_us": %.0f}\\n', summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
""".replace("<MARK>", RESULT_MARK)

NGINX_CONF = """\
# Written by bench/origin_throughput.py: one nginx (one worker) with two servers over the same files.
# Like Debian's default nginx.conf where it matters (sendfile on, tcp_nopush on); access log off, as hlsgate's.
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
    }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    server {{
        listen {host}:{static_port};
        root {www};
        location = /healthz {{
            return 200 "ok\\n";
        }}
    }}

    server {{
        listen {host}:{secure_port};
        root {www};
        location = /healthz {{
            return 200 "ok\\n";
        }}
        location /hls/ {{
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri {secret}";
            if ($secure_link = "") {{
                return 403;
            }}
            if ($secure_link = "0") {{
                return 410;
            }}
        }}
    }}

    server {{
        listen {host}:{sub_filter_port};
        root {www};
        location = /healthz {{
            return 200 "ok\n";
        }}
        location ~ ^(?<stream_dir>/hls/[A-Za-z0-9_-]+/) {{
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$stream_dir {secret}";
            if ($secure_link = "") {{
                return 403;
            }}
            if ($secure_link = "0") {{
                return 410;
            }}
            sub_filter_types application/vnd.apple.mpegurl;
            sub_filter_once off;
            sub_filter '.ts' '.ts?md5=$arg_md5&expires=$arg_expires';
            sub_filter '.m3u8' '.m3u8?md5=$arg_md5&expires=$arg_expires';
        }}
    }}
}}
"""


class BenchError(Exception):
    """A tool is missing, a contender did not start, failed its checks or answered errors under load."""


@dataclass(frozen=True)
class Settings:
    rounds: int
    duration: int
    connections: int
    segment_bytes: int
    playlist_segments: int
    warmup: int
    hlsgate: tuple[str, ...]
    nginx: str
    wrk: str
    out: Path | None
    quick: bool
    max_noise: float
    retries: int
    compare: tuple[str, ...] = ()
    """Git revisions whose hlsgate runs too (``--compare``), as given."""


@dataclass(frozen=True)
class Media:
    www: Path
    """nginx's root; ``www/hls`` is hlsgate's media root, so both map ``/hls/...`` to the same file."""
    segment: bytes
    playlist: str
    master: str

    @property
    def media_root(self) -> Path:
        return self.www / "hls"


@dataclass(frozen=True)
class Contender:
    key: str
    port: int
    pid: int
    """The server process (nginx's master), whose process tree is charged for CPU."""
    queries: Mapping[str, str]
    """URL path -> the query string that makes the request valid for this contender ('' for none)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Request headers every request of this contender carries (the Authorization form of the token)."""

    @property
    def family(self) -> str:
        """What kind of contender this is: the key without a revision's ``@commit``."""
        return self.key.partition("@")[0]

    def target(self, path: str) -> str:
        query = self.queries.get(path, "")
        return f"{path}?{query}" if query else path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{self.target(path)}"


@dataclass(frozen=True)
class Sample:
    requests_per_s: float
    bytes_per_s: float
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    server_cpu: float | None
    """Share of one core used by the server's processes during the run (None without /proc)."""
    client_cpu: float
    """Share of one core used by wrk."""
    other_cpu: float | None
    """Cores' worth of busy time charged to neither (other processes, interrupts, steal): the machine's noise."""

    def noisy(self, max_noise: float) -> bool:
        return self.other_cpu is not None and self.other_cpu > max_noise

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_per_s / self.requests_per_s if self.requests_per_s else 0.0


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass(frozen=True)
class Revision:
    """Another commit of hlsgate, served from a temporary checkout by this venv's Python and dependencies."""
    given: str
    """As on the command line (``HEAD``, ``main~3``, a hash)."""
    commit: str
    short: str
    subject: str

    def key(self, family: str) -> str:
        return f"{family}@{self.short}"


@dataclass
class Results:
    max_noise: float
    samples: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)
    """workload -> contender -> one sample per round."""
    problems: list[str] = field(default_factory=list)

    def counted(self, workload: str, key: str) -> list[Sample]:
        """The samples the medians are taken over: the quiet ones, or all when every one was noisy."""
        runs = self.samples[workload][key]
        return [s for s in runs if not s.noisy(self.max_noise)] or runs

    def noisy_count(self) -> tuple[int, int]:
        runs = [s for by_key in self.samples.values() for r in by_key.values() for s in r]
        return sum(s.noisy(self.max_noise) for s in runs), len(runs)


# --- media --------------------------------------------------------------------------------------

def media_playlist(segments: int) -> str:
    """A VOD media playlist as ffmpeg's HLS muxer writes it (relative names, six-decimal EXTINF)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:4", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for index in range(segments):
        seconds = LAST_SEGMENT_SECONDS if index == segments - 1 and segments > 1 else SEGMENT_SECONDS
        lines += [f"#EXTINF:{seconds:.6f},", f"seg_{index:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist() -> str:
    return ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            '#EXT-X-STREAM-INF:BANDWIDTH=3296000,AVERAGE-BANDWIDTH=2928000,RESOLUTION=1280x720,FRAME-RATE=30.000,'
            'CODECS="avc1.64001f,mp4a.40.2"\n'
            f"{RENDITION}/index.m3u8\n")


def write_media(www: Path, segment_bytes: int, playlist_segments: int) -> Media:
    """Only the first segment exists: it is the one fetched, and the playlist's names are never followed.
    Everything is world-readable, since nginx started as root runs its worker as ``nobody``."""
    media = Media(www, os.urandom(segment_bytes), media_playlist(playlist_segments), master_playlist())
    rendition = media.media_root / STREAM / RENDITION
    rendition.mkdir(parents=True)
    (rendition / SEGMENT_NAME).write_bytes(media.segment)
    (rendition / "index.m3u8").write_text(media.playlist, encoding="utf-8")
    (rendition.parent / "master.m3u8").write_text(media.master, encoding="utf-8")
    for path in (www.parent, www, *www.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return media


# --- processes ----------------------------------------------------------------------------------

def say(text: str = "") -> None:
    print(text, flush=True)


def find_tool(name: str, given: str | None) -> str:
    """PATH first, then the sbin directories (nginx is in /usr/sbin, not on a normal user's PATH)."""
    found = given or shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if found is None:
        raise BenchError(f"{name} is not installed: apt-get install nginx wrk ffmpeg (or pass --{name} PATH)")
    return found


def pinning() -> tuple[list[str], list[str], str]:
    """taskset prefixes for wrk and for the servers, and how that was decided (for the report)."""
    cpus = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if len(cpus) < 2 or taskset is None:
        reason = "fewer than 2 CPUs" if len(cpus) < 2 else "no taskset"
        return [], [], f"not pinned ({reason}): wrk and the servers share the CPUs"
    return ([taskset, "-c", str(cpus[0])], [taskset, "-c", str(cpus[1])],
            f"wrk on CPU {cpus[0]}, the servers on CPU {cpus[1]}")


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out; all held open together so they are distinct."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def start(name: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Server:
    """In its own session, so stop() reaches the whole tree (nginx's worker too); in the log's directory, so
    nothing a server writes relative to its working directory lands in the checkout."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=log.parent, start_new_session=True)
    return Server(name, proc, log)


def log_tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[-LOG_TAIL_CHARS:]
    except OSError:
        return ""


def wait_ready(server: Server, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with status {server.proc.returncode} before it was ready:\n"
                             f"{log_tail(server.log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if fetch(port, "/healthz")[0] == 200:
                return
        time.sleep(0.05)
    raise BenchError(f"{server.name} did not answer 200 on /healthz within {READY_TIMEOUT_SECONDS:g} s:\n"
                     f"{log_tail(server.log)}")


def process_tree(root_pid: int) -> dict[int, float]:
    """pid -> user + system CPU seconds, for a process and its descendants (from /proc; empty without it)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # the command name may contain spaces: skip past it
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
    tree = {root_pid} if root_pid in cpu else set()
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: cpu[pid] for pid in tree}


def tree_cpu_seconds(root_pid: int) -> float | None:
    tree = process_tree(root_pid)
    return sum(tree.values()) if tree else None


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent not idle (all cores, /proc/stat), or None without /proc."""
    try:
        first = Path("/proc/stat").read_text(encoding="ascii").partition("\n")[0].split()
    except OSError:
        return None
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the servers --------------------------------------------------------------------------------

def start_nginx(nginx: str, pin: Sequence[str], prefix: Path, media: Media, secret: str,
                static_port: int, secure_port: int, sub_filter_port: int) -> Server:
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, www=media.www, host=HOST, static_port=static_port,
                                      secure_port=secure_port, sub_filter_port=sub_filter_port, secret=secret),
                    encoding="utf-8")
    base = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")]
    done = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS,
                          check=False)
    if done.returncode != 0:
        raise BenchError(f"nginx rejected the generated configuration {conf}:\n{done.stderr.strip()}")
    return start("nginx", [*pin, *base], prefix / "stdout.log")


def hlsgate_env(secret: str, source: Path | None = None) -> dict[str, str]:
    """The caller's environment without any other HLSGATE_ setting that could change what is measured.
    With ``source`` (a revision's checkout), PYTHONPATH is that tree alone, so it comes before the editable
    install of this one and nothing the caller put on PYTHONPATH can shadow it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSGATE_")}
    env["HLSGATE_JWT_SECRET"] = secret
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def check_hlsgate_serves(hlsgate: Sequence[str], env: Mapping[str, str] | None = None,
                         cwd: Path | None = None) -> None:
    done = subprocess.run([*hlsgate, "serve", "--help"], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=CLI_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise BenchError(f"`{shlex.join(hlsgate)} serve` is not available (exit status {done.returncode}): "
                         f"this benchmark needs the origin server\n{done.stderr.strip()[-LOG_TAIL_CHARS:]}")
    if "--no-auth" not in done.stdout:
        raise BenchError(f"`{shlex.join(hlsgate)} serve` has no --no-auth option: the auth cost cannot be measured")


def mint_token(hlsgate: Sequence[str], secret: str) -> str:
    done = subprocess.run([*hlsgate, "token", "--stream", STREAM, "--type", "play", "--ttl", str(TOKEN_TTL_SECONDS)],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, env=hlsgate_env(secret),
                          stdin=subprocess.DEVNULL, check=False)
    token = done.stdout.strip()
    if done.returncode != 0 or token.count(".") != 2 or any(c.isspace() for c in token):
        raise BenchError(f"`hlsgate token` did not print one JWT (exit status {done.returncode}):\n"
                         f"{done.stderr.strip()[-LOG_TAIL_CHARS:]}")
    return token


def secure_link_query(uri: str, secret: str, expires: int) -> str:
    """nginx's secure_link_md5 "$secure_link_expires$uri SECRET": base64url MD5, no padding."""
    digest = hashlib.md5(f"{expires}{uri} {secret}".encode(), usedforsecurity=False).digest()
    return f"md5={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}&expires={expires}"


def start_hlsgate(name: str, hlsgate: Sequence[str], pin: Sequence[str], media: Media, port: int, secret: str,
                  log: Path, *, auth: bool, source: Path | None = None) -> Server:
    argv = [*pin, *hlsgate, "serve", "--media-root", str(media.media_root), "--host", HOST, "--port", str(port),
            "--no-access-log", *([] if auth else ["--no-auth"])]
    return start(name, argv, log, hlsgate_env(secret, source))


# --- other revisions ----------------------------------------------------------------------------

def revision_command() -> list[str]:
    """How a revision's checkout is run: this venv's Python (its dependencies), the checkout's sources."""
    return [sys.executable, "-m", HLSGATE_MODULE]


def resolve_revisions(given: Sequence[str]) -> list[Revision]:
    """Each ``--compare`` argument as a commit of this repository (the same commit twice is run once)."""
    revisions: list[Revision] = []
    for rev in given:
        try:
            commit = git(REPO, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
            short = git(REPO, "rev-parse", "--short", commit)
            subject = git(REPO, "log", "-1", "--format=%s", commit)
        except subprocess.CalledProcessError as err:
            raise BenchError(f"--compare {rev}: not a commit of the repository at {REPO} "
                             f"({(err.stderr or '').strip() or 'git rev-parse found nothing'})") from err
        except (OSError, subprocess.SubprocessError) as err:
            raise BenchError(f"--compare needs git and a git checkout at {REPO}: {err}") from err
        if any(r.commit == commit for r in revisions):
            continue
        revisions.append(Revision(rev, commit, short, subject))
    return revisions


def check_imported(python: str, env: Mapping[str, str], cwd: Path, root: Path, what: str) -> int:
    """Run the import probe exactly as the server will be run (Python, environment, working directory) and
    raise BenchError unless every hlsgate module it loads comes from ``root``. Returns how many it checked."""
    done = subprocess.run([python, "-c", IMPORT_PROBE], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=CLI_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise BenchError(f"{what}: `import {HLSGATE_MODULE}` failed (exit status {done.returncode}):\n"
                         f"{done.stderr.strip()[-LOG_TAIL_CHARS:]}")
    modules: dict[str, str | None] = json.loads(done.stdout.strip().rpartition("\n")[2])
    wrong = {name: file for name, file in modules.items()
             if file is None or not Path(file).resolve().is_relative_to(root.resolve())}
    if wrong or "hls_server" not in modules:
        shown = ", ".join(f"{name} from {file}" for name, file in sorted(wrong.items())[:3])
        found = f"{len(wrong)} of its {len(modules)} modules come from elsewhere ({shown} ...)" if wrong else \
            "it did not import hls_server"
        raise BenchError(f"{what} would not run the sources at {root}: {found}. Its figures would belong to "
                         "another tree; nothing was timed")
    return len(modules)


# --- checking every contender before timing it --------------------------------------------------

def fetch(port: int, target: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_SECONDS)
    try:
        conn.request("GET", target, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def expect(contender: Contender, target: str, statuses: Sequence[int], what: str) -> bytes:
    status, body = fetch(contender.port, target, contender.headers)
    if status not in statuses:
        raise BenchError(f"{contender.key}: {what} gave {status}, expected {' or '.join(map(str, statuses))} "
                         f"(GET {redact(target)})")
    return body


def redact(text: str) -> str:
    """No token or link signature in a message (STYLE: never echo a token)."""
    return SECRET_QUERY.sub(r"\1=<\1>", text)


def check_propagated(key: str, body: str, original: str, param: str, what: str) -> None:
    """Tag lines unchanged; every URI line is the original URI plus ``param`` (the token or link) in its query."""
    got, want = body.splitlines(), original.splitlines()
    if len(got) != len(want):
        raise BenchError(f"{key}: the {what} has {len(got)} lines, the file {len(want)}")
    for line, source in zip(got, want, strict=True):
        is_uri = bool(source) and not source.startswith("#")
        uri, _, query = line.partition("?")
        if not is_uri and line != source:
            raise BenchError(f"{key}: the {what} changed a tag line: {redact(line)!r} (file: {source!r})")
        if is_uri and (uri != source or not set(param.split("&")) <= set(query.split("&"))):
            raise BenchError(f"{key}: the {what} line {redact(line)!r} is not {source!r} with the token appended")


def verify(contenders: Mapping[str, Contender], media: Media, token: str, link_secret: str) -> None:
    """Every contender gives 200 and the right body; the token-checking ones refuse what they must.
    Raises BenchError, so a misconfigured run cannot report figures."""
    playlist, master = media.playlist.encode(), media.master.encode()
    for key, contender in contenders.items():
        if expect(contender, contender.target(SEGMENT_PATH), (200,), "the segment") != media.segment:
            raise BenchError(f"{key}: the segment's body differs from the file")
        for path, original, what in ((PLAYLIST_PATH, playlist, "media playlist"), (MASTER_PATH, master, "master")):
            body = expect(contender, contender.target(path), (200,), f"the {what}")
            if contender.family == HLSGATE_AUTH:
                check_propagated(key, body.decode(errors="replace"), original.decode(), f"token={token}", what)
            elif contender.family == NGINX_SUB_FILTER:
                check_propagated(key, body.decode(errors="replace"), original.decode(),
                                 contender.queries[path], what)
            elif body != original:
                raise BenchError(f"{key}: the {what} was not served verbatim")
    checking = [c for c in contenders.values() if c.family in (HLSGATE_AUTH, NGINX_SECURE_LINK)]
    for contender in checking:
        for path in (SEGMENT_PATH, PLAYLIST_PATH):
            expect(contender, path, (401, 403), f"a request for {path} without a token")
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'A' * len(signature)}"
    for contender in contenders.values():
        if contender.family == HLSGATE_AUTH:
            expect(contender, f"{SEGMENT_PATH}?token={forged}", (401,), "a forged token (signature replaced)")
        elif contender.family == HLSGATE_HEADER:
            expect(replace(contender, headers={"Authorization": f"Bearer {forged}"}), SEGMENT_PATH, (401,),
                   "a forged token in Authorization (signature replaced)")
    link = contenders[NGINX_SECURE_LINK]
    expired = int(time.time()) - 60
    expect(link, f"{SEGMENT_PATH}?{secure_link_query(SEGMENT_PATH, link_secret, expired)}", (410,), "an expired link")
    wrong = secure_link_query(SEGMENT_PATH, link_secret + "x", int(time.time()) + TOKEN_TTL_SECONDS)
    expect(link, f"{SEGMENT_PATH}?{wrong}", (403,), "a link signed with another secret")
    other = contenders[NGINX_SECURE_LINK].queries[SEGMENT_PATH]
    expect(link, f"{PLAYLIST_PATH}?{other}", (403,), "the segment's link used for the playlist")
    if NGINX_SUB_FILTER in contenders:
        folder = contenders[NGINX_SUB_FILTER]
        expect(folder, PLAYLIST_PATH, (403,), "a playlist without its link")
        expect(folder, f"{SEGMENT_PATH}?{wrong}", (403,), "a folder link signed with another secret")


# --- running wrk --------------------------------------------------------------------------------

def run_wrk(settings: Settings, pin: Sequence[str], script: Path, contender: Contender, path: str,
            seconds: int) -> Sample:
    argv = [*pin, settings.wrk, f"-t{WRK_THREADS}", f"-c{settings.connections}", f"-d{seconds}s",
            "--timeout", f"{WRK_TIMEOUT_SECONDS}s", "-s", str(script),
            *[arg for name, value in contender.headers.items() for arg in ("-H", f"{name}: {value}")],
            contender.url(path)]
    server_before = tree_cpu_seconds(contender.pid)
    client_before = children_cpu_seconds()
    busy_before = machine_busy_seconds()
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + WRK_GRACE_SECONDS,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"wrk did not finish within {seconds + WRK_GRACE_SECONDS:g} s against {contender.key}") \
            from err
    wall = time.monotonic() - started
    server_after = tree_cpu_seconds(contender.pid)
    busy_after = machine_busy_seconds()
    client_cpu = (children_cpu_seconds() - client_before) / wall
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed against {contender.key} (exit status {done.returncode}):\n"
                         f"{redact(done.stdout + done.stderr).strip()[-LOG_TAIL_CHARS:]}")
    raw: dict[str, float] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    duration = raw["duration_us"] / 1e6
    server_cpu = None if server_before is None or server_after is None else (server_after - server_before) / wall
    other_cpu = None
    if server_cpu is not None and busy_before is not None and busy_after is not None:
        other_cpu = max(0.0, (busy_after - busy_before) / wall - server_cpu - client_cpu)
    return Sample(
        requests_per_s=raw["requests"] / duration, bytes_per_s=raw["bytes"] / duration, requests=int(raw["requests"]),
        p50_ms=raw["p50_us"] / 1e3, p99_ms=raw["p99_us"] / 1e3, max_ms=raw["max_us"] / 1e3,
        non_2xx=int(raw["status"]),
        socket_errors={kind: int(raw[kind]) for kind in ("connect", "read", "write", "timeout") if raw[kind]},
        server_cpu=server_cpu, client_cpu=client_cpu, other_cpu=other_cpu)


def sample_line(sample: Sample) -> str:
    text = (f"{sample.requests_per_s:10.1f} req/s {sample.bytes_per_s / MIB:9.1f} MiB/s  p50 {sample.p50_ms:7.2f} ms"
            f"  p99 {sample.p99_ms:7.2f} ms  max {sample.max_ms:8.2f} ms  cpu server {share(sample.server_cpu)} wrk "
            f"{share(sample.client_cpu)} other {share(sample.other_cpu)}")
    return text + problem_text(sample)


def share(value: float | None, width: int = 4) -> str:
    return "-".rjust(width) if value is None else f"{value:{width}.0%}"


def median_share(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    return share(statistics.median(known) if known else None, 7)


def problem_text(sample: Sample) -> str:
    parts = [f"{sample.non_2xx} non-2xx"] if sample.non_2xx else []
    parts += [f"{count} {kind} errors" for kind, count in sample.socket_errors.items()]
    return f"  [{', '.join(parts)}]" if parts else ""


def run_rounds(settings: Settings, pin: Sequence[str], script: Path, contenders: Mapping[str, Contender]) -> Results:
    results = Results(settings.max_noise, {w: {key: [] for key in contenders} for w in WORKLOADS})
    say(f"warming up every contender ({settings.warmup} s per workload) ...")
    for workload in WORKLOADS:
        for contender in contenders.values():
            warm = run_wrk(settings, pin, script, contender, WORKLOAD_PATHS[workload], settings.warmup)
            if warm.non_2xx:
                raise BenchError(f"{contender.key} answered {warm.non_2xx} non-2xx responses to the {workload} "
                                 "during the warm-up")
    order = list(contenders.values())
    for round_no in range(1, settings.rounds + 1):
        # Each round starts one contender later, so none always runs right after the same neighbour.
        shift = (round_no - 1) % len(order)
        for workload in WORKLOADS:
            for contender in order[shift:] + order[:shift]:
                label = f"round {round_no}/{settings.rounds}  {workload:<8} {contender.key:<17}"
                for attempt in range(settings.retries + 1):
                    sample = run_wrk(settings, pin, script, contender, WORKLOAD_PATHS[workload], settings.duration)
                    if not sample.noisy(settings.max_noise) or attempt == settings.retries:
                        break
                    # The machine is shared: another job's burst would be charged to whichever contender ran.
                    say(f"{label} {sample_line(sample)}  noisy: again in {NOISY_PAUSE_SECONDS:g} s")
                    time.sleep(NOISY_PAUSE_SECONDS)
                results.samples[workload][contender.key].append(sample)
                say(f"{label} {sample_line(sample)}{'  noisy' if sample.noisy(settings.max_noise) else ''}")
                if sample.non_2xx or sample.socket_errors:
                    results.problems.append(f"round {round_no} {workload} {contender.key}:{problem_text(sample)}")
    return results


# --- reporting ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    name: str
    value: float
    target: float | None

    @property
    def verdict(self) -> str | None:
        return None if self.target is None else "PASS" if self.value >= self.target else "MISS"

    def line(self) -> str:
        if self.target is None:
            return f"ratio {self.name}: {self.value:.3f} (no target)"
        return f"ratio {self.name}: {self.value:.3f} (target >= {self.target:.2f}) {self.verdict}"


def median_rps(results: Results, workload: str, key: str) -> float:
    return statistics.median(s.requests_per_s for s in results.counted(workload, key))


def ratios(results: Results) -> list[Ratio]:
    def ratio(workload: str, a: str, b: str, target: float | None, label: str = "") -> Ratio:
        return Ratio(f"{label}{workload}s {a}/{b}", median_rps(results, workload, a) / median_rps(results, workload, b),
                     target)

    return [
        ratio(SEGMENT, HLSGATE_AUTH, HLSGATE_NOAUTH, TARGET_AUTH_COST, "auth cost "),
        ratio(PLAYLIST, HLSGATE_AUTH, HLSGATE_NOAUTH, TARGET_AUTH_COST, "auth cost "),
        ratio(SEGMENT, HLSGATE_HEADER, HLSGATE_NOAUTH, TARGET_AUTH_COST, "auth cost, header token: "),
        ratio(PLAYLIST, HLSGATE_HEADER, HLSGATE_NOAUTH, TARGET_AUTH_COST, "auth cost, header token (no propagation): "),
        ratio(SEGMENT, HLSGATE_AUTH, NGINX_SECURE_LINK, TARGET_SEGMENTS_VS_SECURE_LINK),
        ratio(PLAYLIST, HLSGATE_AUTH, NGINX_SECURE_LINK, TARGET_PLAYLISTS_VS_SECURE_LINK),
        ratio(PLAYLIST, HLSGATE_AUTH, NGINX_SUB_FILTER, None, "same work: "),
        ratio(SEGMENT, HLSGATE_NOAUTH, NGINX_STATIC, None),
        ratio(PLAYLIST, HLSGATE_NOAUTH, NGINX_STATIC, None),
        ratio(SEGMENT, NGINX_SECURE_LINK, NGINX_STATIC, None),
        ratio(PLAYLIST, NGINX_SECURE_LINK, NGINX_STATIC, None),
    ]


@dataclass(frozen=True)
class Side:
    """One side of an after/before comparison: a contender and the CPU it and wrk used (medians)."""
    key: str
    server_cpu: float | None
    client_cpu: float | None

    @property
    def bound(self) -> str:
        if self.server_cpu is not None and self.server_cpu >= SATURATED_CPU:
            return "server-bound"
        if self.client_cpu is not None and self.client_cpu >= SATURATED_CPU:
            return "wrk-bound"
        return "not CPU-bound"

    def text(self) -> str:
        return f"{self.key} server {share(self.server_cpu, 0)} wrk {share(self.client_cpu, 0)} {self.bound}"


@dataclass(frozen=True)
class Comparison:
    """This tree's contender against the same contender at another revision, on one workload."""
    workload: str
    after: Side
    before: Side
    value: float
    """Median requests/s after / median before."""
    per_round: tuple[float, ...]
    """after/before within each round (both samples run minutes apart at most): the noise estimate."""

    @property
    def noise(self) -> float | None:
        """Half the spread of the per-round ratios; None with fewer than two rounds."""
        return (max(self.per_round) - min(self.per_round)) / 2 if len(self.per_round) > 1 else None

    @property
    def verdict(self) -> str:
        """Within noise when the rounds disagree on which side is faster (with n rounds agreeing by chance
        with probability 2/2^n: 5 rounds make a 6% false alarm)."""
        if len(self.per_round) < 2:
            return "noise unknown (one round; use --rounds 5 or more)"
        if min(self.per_round) <= 1.0 <= max(self.per_round):
            return "within noise"
        return "SLOWER beyond noise" if max(self.per_round) < 1.0 else "faster beyond noise"

    def line(self) -> str:
        spread = (f"per round {min(self.per_round):.3f}-{max(self.per_round):.3f} over {len(self.per_round)}, "
                  f"noise +-{self.noise:.1%}" if self.noise is not None else
                  f"per round {self.per_round[0]:.3f} over 1" if self.per_round else "no round with both quiet")
        return (f"ratio after/before {self.workload}s {self.after.key}/{self.before.key}: {self.value:.3f} "
                f"({spread}) {self.verdict}; cpu {self.after.text()}, {self.before.text()}")


def side(results: Results, workload: str, key: str) -> Side:
    runs = results.counted(workload, key)
    server = [s.server_cpu for s in runs if s.server_cpu is not None]
    return Side(key, statistics.median(server) if server else None, statistics.median(s.client_cpu for s in runs))


def comparisons(results: Results, revisions: Sequence[Revision]) -> list[Comparison]:
    """For every revision, each compared contender of this tree against the revision's, per workload. Rounds
    in which either sample was noisy are left out of the per-round ratios (unless every round was)."""
    found: list[Comparison] = []
    for revision in revisions:
        for family in COMPARED:
            before = revision.key(family)
            for workload in WORKLOADS:
                pairs = list(zip(results.samples[workload][family], results.samples[workload][before], strict=True))
                quiet = [(a, b) for a, b in pairs if not a.noisy(results.max_noise) and not b.noisy(results.max_noise)]
                per_round = tuple(a.requests_per_s / b.requests_per_s for a, b in quiet or pairs if b.requests_per_s)
                found.append(Comparison(workload, side(results, workload, family), side(results, workload, before),
                                        median_rps(results, workload, family) / median_rps(results, workload, before),
                                        per_round))
    return found


def report_lines(results: Results, media: Media, revisions: Sequence[Revision] = ()) -> list[str]:
    lines = ["", f"{'workload':<9} {'contender':<28} {'req/s':>10} {'MiB/s':>9} {'B/req':>8} {'p50 ms':>8} "
                 f"{'p99 ms':>8} {'max ms':>8} {'srv cpu':>7} {'wrk cpu':>7} {'other':>7}  req/s per round"]
    for workload, by_key in results.samples.items():
        for key, every in by_key.items():
            runs = results.counted(workload, key)
            rps = statistics.median(s.requests_per_s for s in runs)
            mibs = statistics.median(s.bytes_per_s for s in runs) / MIB
            per_request = statistics.median(s.bytes_per_request for s in runs)
            lines.append(
                f"{workload:<9} {key:<28} {rps:10.1f} {mibs:9.1f} {per_request:8.0f} "
                f"{statistics.median(s.p50_ms for s in runs):8.2f} {statistics.median(s.p99_ms for s in runs):8.2f} "
                f"{max(s.max_ms for s in every):8.2f} {median_share([s.server_cpu for s in runs])} "
                f"{median_share([s.client_cpu for s in runs])} {median_share([s.other_cpu for s in runs])}  "
                + " ".join(f"{s.requests_per_s:.0f}{'*' if s.noisy(results.max_noise) else ''}" for s in every))
    lines += ["", *(r.line() for r in ratios(results)), ""]
    if revisions:
        lines += [*(c.line() for c in comparisons(results, revisions)), ""]
    noisy, total = results.noisy_count()
    lines += [
        f"notes: medians over the rounds' quiet samples (max ms: the largest of all); B/req includes headers. The "
        f"segment is {len(media.segment):,d} bytes, the media playlist file {len(media.playlist.encode()):,d} bytes.",
        f"  * marks a noisy sample: the rest of the machine took more than {results.max_noise:.0%} of a core, even "
        f"after retries; left out of the medians unless all of a contender's are. Noisy samples: {noisy}/{total}.",
        "  nginx-secure_link serves the playlist verbatim, so a player behind it would get segment URIs without a "
        "link; hlsgate-auth's playlist carries the token on every URI and is larger. nginx-secure_link+sub_filter "
        "does the same work as hlsgate-auth (the link appended to every URI, checked above).",
        "  The playlist auth-cost ratio includes that rewriting (hlsgate-noauth serves the file verbatim).",
        "  Access logs are off in both servers; nginx has sendfile on (as in Debian's default nginx.conf).",
        "  Every request carries the same token, so a verification cache in the server hits every time (as for one "
        "viewer's requests; each new viewer costs one full verification more).",
        "  cpu: share of one core during the run taken by the server's processes, by wrk, and by everything else on "
        "the machine (other processes, interrupts; a high 'other' marks a noisy run).",
    ]
    if revisions:
        lines.append(
            "  after/before: this tree's contender against the same one at the revision (its sources, this venv's "
            "Python and dependencies, the same token, files and CPU), in the same rounds. Noise: half the spread of "
            "the per-round ratios; within noise when the rounds disagree on which is faster. A side that is not "
            "server-bound measured wrk or the machine, not the code.")
    starved = sorted({f"{w} {k}" for w, by_key in results.samples.items() for k in by_key
                      if (cpu := [s.server_cpu for s in results.counted(w, k) if s.server_cpu is not None])
                      and statistics.median(cpu) < SATURATED_CPU})
    if starved:
        lines.append(f"  Not CPU-bound (server under {SATURATED_CPU:.0%} of its core, so wrk or the machine set the "
                     f"pace, and the figure is a lower bound for the server): {', '.join(starved)}.")
    all_noisy = [f"{w} {k}" for w, by_key in results.samples.items() for k, runs in by_key.items()
                 if all(s.noisy(results.max_noise) for s in runs)]
    if all_noisy:
        lines.append(f"  Every sample was noisy, so these medians are unreliable: {', '.join(all_noisy)}.")
    if results.problems:
        lines += ["", "errors under load:", *(f"  {p}" for p in results.problems)]
    return lines


def machine_lines(settings: Settings, pin_note: str) -> list[str]:
    return [
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform(terse=True)}, "
        f"Python {platform.python_version()}; {pin_note}",
        f"tools: {tool_version([settings.nginx, '-v'])}; {tool_version([settings.wrk, '-v'])}; "
        f"hlsgate {hlsgate_revision()} via `{shlex.join(settings.hlsgate)}`",
        f"wrk: -t{WRK_THREADS} -c{settings.connections} -d{settings.duration}s --timeout {WRK_TIMEOUT_SECONDS}s, "
        f"rounds: {settings.rounds}, after a {settings.warmup} s warm-up; segment {settings.segment_bytes:,d} bytes, "
        f"playlist of {settings.playlist_segments} segments",
    ]


def tool_version(argv: Sequence[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False)
        first = (done.stdout + done.stderr).strip().partition("\n")[0]  # "nginx version: ...", "wrk 4.1.0 [epoll] ..."
        if first:
            return first.split("Copyright")[0].strip()
    return f"{Path(argv[0]).name} (version unknown)"


def hlsgate_revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=CLI_TIMEOUT_SECONDS, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "hls_server"],
                               capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=True).stdout.strip()
        return f"{head}{' + uncommitted changes in hls_server/' if dirty else ''}"
    return "(no git revision)"


def load_line(when: str) -> str:
    return f"load average {when}: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def write_out(path: Path, settings: Settings, header: Sequence[str], lines: Sequence[str], results: Results,
              revisions: Sequence[Revision] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        document: dict[str, Any] = {
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
            "header": list(header),
            "samples": {w: {k: [{**asdict(s), "noisy": s.noisy(results.max_noise)} for s in runs]
                            for k, runs in by_key.items()}
                        for w, by_key in results.samples.items()},
            "medians": {w: {k: {"requests_per_s": median_rps(results, w, k),
                                "bytes_per_s": statistics.median(s.bytes_per_s for s in results.counted(w, k))}
                            for k, runs in by_key.items()} for w, by_key in results.samples.items()},
            "ratios": [{**asdict(r), "verdict": r.verdict} for r in ratios(results)],
            "revisions": [asdict(r) for r in revisions],
            "after_before": [{**asdict(c), "noise": c.noise, "verdict": c.verdict}
                             for c in comparisons(results, revisions)],
            "problems": results.problems,
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    else:
        text = "\n".join(["# Origin throughput (bench/origin_throughput.py)", "", "```", *header, *lines, "```"])
        path.write_text(text + "\n", encoding="utf-8")


# --- main ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def servers_running() -> Iterator[list[Server]]:
    """Whatever is appended is stopped on the way out, whatever happened."""
    running: list[Server] = []
    try:
        yield running
    finally:
        for server in running:
            stop(server.proc)


def report_server_logs(servers: Sequence[Server], prefix: Path) -> None:
    """Anything a server wrote (a traceback under load, an nginx alert) is worth seeing next to its figures."""
    logs = [(s.name, s.log) for s in servers] + [("nginx error.log", prefix / "error.log")]
    for name, log in logs:
        tail = log_tail(log)
        if tail:
            say(f"\n{name} wrote:\n  " + redact(tail).replace("\n", "\n  "))


def run(settings: Settings) -> int:
    wrk_pin, server_pin, pin_note = pinning()
    check_hlsgate_serves(settings.hlsgate)
    revisions = resolve_revisions(settings.compare)
    header = machine_lines(settings, pin_note)
    for line in header:
        say(line)
    jwt_secret = secrets.token_urlsafe(48)
    link_secret = secrets.token_urlsafe(24)
    token = mint_token(settings.hlsgate, jwt_secret)  # a revision's server checks the same HS256 token
    with tempfile.TemporaryDirectory(prefix="hlsgate-origin-bench-") as tmp, contextlib.ExitStack() as checkouts, \
            servers_running() as servers:
        # Exits in reverse: the servers stop, then the checkouts they run from go, then the directory.
        work = Path(tmp)
        sources = {r.short: checkouts.enter_context(worktree(REPO, r.commit, work / f"hlsgate-{r.short}"))
                   for r in revisions}
        source_lines = check_sources(settings, revisions, sources, jwt_secret, work)
        for line in source_lines:
            say(line)
        header += source_lines
        media = write_media(work / "www", settings.segment_bytes, settings.playlist_segments)
        script = work / "result.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        static_port, secure_port, sub_filter_port, auth_port, noauth_port, *revision_ports = \
            free_ports(5 + 2 * len(revisions))
        servers.append(start_nginx(settings.nginx, server_pin, work / "nginx", media, link_secret, static_port,
                                   secure_port, sub_filter_port))
        servers.append(start_hlsgate(HLSGATE_AUTH, settings.hlsgate, server_pin, media, auth_port, jwt_secret,
                                     work / "hlsgate-auth.log", auth=True))
        servers.append(start_hlsgate(HLSGATE_NOAUTH, settings.hlsgate, server_pin, media, noauth_port, jwt_secret,
                                     work / "hlsgate-noauth.log", auth=False))
        nginx, auth, noauth = servers
        ports = {nginx.name: static_port, auth.name: auth_port, noauth.name: noauth_port}
        for index, revision in enumerate(revisions):
            for family, port in ((HLSGATE_AUTH, revision_ports[2 * index]),
                                 (HLSGATE_NOAUTH, revision_ports[2 * index + 1])):
                name = revision.key(family)
                servers.append(start_hlsgate(name, revision_command(), server_pin, media, port, jwt_secret,
                                             work / f"{name}.log", auth=family == HLSGATE_AUTH,
                                             source=sources[revision.short]))
                ports[name] = port
        for server in servers:
            wait_ready(server, ports[server.name])
        wait_ready(nginx, secure_port)
        wait_ready(nginx, sub_filter_port)
        expires = int(time.time()) + TOKEN_TTL_SECONDS
        link = {path: secure_link_query(path, link_secret, expires) for path in (SEGMENT_PATH, PLAYLIST_PATH,
                                                                                 MASTER_PATH)}
        folder = secure_link_query(f"/hls/{STREAM}/", link_secret, expires)  # sub_filter propagates one link
        folder_link = {path: folder for path in (SEGMENT_PATH, PLAYLIST_PATH, MASTER_PATH)}
        contenders = {
            NGINX_STATIC: Contender(NGINX_STATIC, static_port, nginx.proc.pid, {}),
            NGINX_SECURE_LINK: Contender(NGINX_SECURE_LINK, secure_port, nginx.proc.pid, link),
            NGINX_SUB_FILTER: Contender(NGINX_SUB_FILTER, sub_filter_port, nginx.proc.pid, folder_link),
        }
        by_name = {s.name: s for s in servers}
        for suffix in ["", *(f"@{r.short}" for r in revisions)]:
            auth_server, noauth_server = by_name[HLSGATE_AUTH + suffix], by_name[HLSGATE_NOAUTH + suffix]
            for contender in hlsgate_contenders(suffix, ports[auth_server.name], auth_server.proc.pid,
                                                ports[noauth_server.name], noauth_server.proc.pid, token):
                contenders[contender.key] = contender
        verify(contenders, media, token, link_secret)
        processes = ", ".join(f"{s.name} {len(process_tree(s.proc.pid))}" for s in servers)
        also = f" The same checks passed for {', '.join(k for k in contenders if '@' in k)}." if revisions else ""
        say(f"checked: every contender returns 200 and the expected bodies (hlsgate-auth: the token on every "
            f"playlist URI); no token gives 401/403, a forged JWT 401, an expired link 410, a wrong link 403. "
            f"Processes per server: {processes}.{also}")
        say(load_line("before"))
        results = run_rounds(settings, wrk_pin, script, contenders)
        say(load_line("after"))
        lines = report_lines(results, media, revisions)
        for line in lines:
            say(line)
        report_server_logs(servers, work / "nginx")
        if settings.out is not None:
            write_out(settings.out, settings, header, lines, results, revisions)
            say(f"\nresults written to {settings.out}")
    non_2xx = [p for p in results.problems if "non-2xx" in p]
    if non_2xx:
        raise BenchError(f"{len(non_2xx)} runs had non-2xx responses under load (see above): their figures count "
                         "errors, not served files")
    return 0


def hlsgate_contenders(suffix: str, auth_port: int, auth_pid: int, noauth_port: int, noauth_pid: int,
                       token: str) -> list[Contender]:
    """hlsgate-auth, hlsgate-auth-header and hlsgate-noauth of one tree (``suffix``: '' or ``@<commit>``)."""
    with_token = {path: f"token={token}" for path in (SEGMENT_PATH, PLAYLIST_PATH, MASTER_PATH)}
    return [
        Contender(HLSGATE_AUTH + suffix, auth_port, auth_pid, with_token),
        Contender(HLSGATE_HEADER + suffix, auth_port, auth_pid, {}, {"Authorization": f"Bearer {token}"}),
        Contender(HLSGATE_NOAUTH + suffix, noauth_port, noauth_pid, {}),
    ]


def check_sources(settings: Settings, revisions: Sequence[Revision], sources: Mapping[str, Path], secret: str,
                  work: Path) -> list[str]:
    """Which sources each hlsgate will run, asked of the same Python, environment and working directory as its
    server's. A revision importing anything from outside its checkout is an error; so is this tree's server
    when revisions are compared (otherwise the line only says where it comes from)."""
    lines = []
    python, *rest = settings.hlsgate
    if rest == ["-m", HLSGATE_MODULE]:
        try:
            count = check_imported(python, hlsgate_env(secret), work, REPO, "this tree's hlsgate")
            lines.append(f"sources: this tree's hlsgate imports its {count} modules from {REPO}")
        except BenchError as err:
            if revisions:
                raise
            lines.append(f"sources: not this checkout's ({err})")
    elif revisions:
        raise BenchError(f"--compare needs this tree run as `PYTHON -m {HLSGATE_MODULE}` (--hlsgate), to check "
                         "which sources it runs")
    for revision in revisions:
        source = sources[revision.short]
        env = hlsgate_env(secret, source)
        what = f"hlsgate@{revision.short}"
        check_hlsgate_serves(revision_command(), env, work)
        count = check_imported(sys.executable, env, work, source, what)
        subject = revision.subject[:SUBJECT_CHARS] + ("..." if len(revision.subject) > SUBJECT_CHARS else "")
        lines.append(f"sources: {what} = --compare {revision.given} ({revision.commit[:12]} {subject!r}) checked out "
                     f"at {source}, run as `{shlex.join(revision_command())}` with PYTHONPATH set to it; "
                     f"its {count} modules imported from there")
    return lines


def parse_args(argv: Sequence[str] | None) -> Settings:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, help=f"interleaved rounds (default {DEFAULT_ROUNDS}; --quick: 1)")
    p.add_argument("--duration", type=int, metavar="SECONDS",
                   help=f"seconds of wrk per contender, workload and round (default {DEFAULT_DURATION_SECONDS}; "
                        "--quick: 1)")
    p.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS,
                   help=f"wrk connections, one thread (default {DEFAULT_CONNECTIONS})")
    p.add_argument("--segment-mib", type=float, help=f"segment size in MiB (default {DEFAULT_SEGMENT_MIB:g}; "
                                                     f"--quick: {QUICK_SEGMENT_MIB:g})")
    p.add_argument("--playlist-segments", type=int,
                   help=f"segments in the media playlist (default {DEFAULT_PLAYLIST_SEGMENTS}; "
                        f"--quick: {QUICK_PLAYLIST_SEGMENTS})")
    p.add_argument("--warmup", type=int, metavar="SECONDS",
                   help=f"wrk warm-up per contender and workload (default {DEFAULT_WARMUP_SECONDS}; "
                        f"--quick: {QUICK_WARMUP_SECONDS})")
    p.add_argument("--max-noise", type=float, default=DEFAULT_MAX_NOISE, metavar="CORES",
                   help="re-run a sample (up to twice) when the rest of the machine took more CPU than this, in cores "
                        f"(default {DEFAULT_MAX_NOISE:g}; a large value turns the check off)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the results: FILE.json as JSON, else markdown")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s, tiny files (figures mean nothing)")
    p.add_argument("--hlsgate", default=shlex.join([sys.executable, "-m", "hls_server.cli"]), metavar="COMMAND",
                   help="how to run hlsgate (default: this Python with -m hls_server.cli)")
    p.add_argument("--compare", action="append", default=[], metavar="REV",
                   help="also run hlsgate at git revision REV (checked out into a temporary worktree, run by this "
                        "venv's Python) as hlsgate-auth@REV, -auth-header@REV and -noauth@REV, and print after/before "
                        "ratios of this tree against it; repeatable")
    p.add_argument("--nginx", help="nginx binary (default: from PATH, then /usr/sbin)")
    p.add_argument("--wrk", help="wrk binary (default: from PATH)")
    args = p.parse_args(argv)
    quick: bool = args.quick
    rounds: int = args.rounds or (1 if quick else DEFAULT_ROUNDS)
    duration: int = args.duration or (1 if quick else DEFAULT_DURATION_SECONDS)
    warmup: int = args.warmup or (QUICK_WARMUP_SECONDS if quick else DEFAULT_WARMUP_SECONDS)
    segment_mib: float = args.segment_mib or (QUICK_SEGMENT_MIB if quick else DEFAULT_SEGMENT_MIB)
    playlist_segments: int = args.playlist_segments or (QUICK_PLAYLIST_SEGMENTS if quick else DEFAULT_PLAYLIST_SEGMENTS)
    if rounds < 1 or not 1 <= duration <= 600 or not 1 <= warmup <= 60:
        p.error("--rounds must be at least 1, --duration 1 to 600 and --warmup 1 to 60")
    if args.max_noise < 0:
        p.error("--max-noise must not be negative")
    if not 1 <= args.connections <= 1000:
        p.error("--connections must be 1 to 1000")
    if not 1 / 1024 <= segment_mib <= 256:
        p.error("--segment-mib must be between 1/1024 (1 KiB) and 256")
    if not 1 <= playlist_segments <= 100_000:
        p.error("--playlist-segments must be 1 to 100000")
    if any(not rev or rev.startswith("-") for rev in args.compare):
        p.error("--compare takes a git revision (a hash, a branch, HEAD~1 ...)")
    try:
        return Settings(rounds=rounds, duration=duration, connections=args.connections,
                        segment_bytes=round(segment_mib * MIB), playlist_segments=playlist_segments, warmup=warmup,
                        hlsgate=tuple(shlex.split(args.hlsgate)), nginx=find_tool("nginx", args.nginx),
                        wrk=find_tool("wrk", args.wrk), out=args.out, quick=quick,
                        max_noise=args.max_noise, retries=0 if quick else NOISY_RETRIES, compare=tuple(args.compare))
    except BenchError as err:
        p.error(str(err))


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    interrupt_on_sigterm()
    try:
        return run(settings)
    except (BenchError, OSError, subprocess.SubprocessError, http.client.HTTPException) as err:
        print(f"origin_throughput: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\norigin_throughput: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
