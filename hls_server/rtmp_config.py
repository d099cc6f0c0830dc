"""The nginx configuration ``hlsgate rtmp-config`` prints: nginx with Debian's RTMP module as hlsgate's RTMP edge.

nginx-rtmp takes the RTMP connections (OBS, any encoder); hlsgate decides who publishes (``on_publish``, see
``web/routes/rtmp.py``) and is told when a publisher stops (``on_publish_done``). For each accepted stream nginx
runs ``hlsgate publish`` (``exec_push``), which plays the raw feed back from this nginx over loopback, transcodes
it into the live ladder and pushes it to the origin with the client's own publish token (``--rtmp-args=$args``).

:func:`nginx_config` is pure text from an :class:`RtmpEdge`, tested against an exact text and by running nginx.
What the text guards against, besides the callbacks:

- nginx-rtmp logs each client's arguments (the token) in its default access log and in the error log at ``info``:
  the access log here has its own format without them, and the error log stays at ``notice``;
- an ``exec`` argument that begins with ``>`` or ``<`` (after digits) is a file redirection to nginx-rtmp, so a
  client-controlled value alone in an argument could make nginx truncate a file: every ``$name`` and ``$args``
  is glued to its flag (``--rtmp-args=$args``), and ``$name`` is an id before anything runs (``on_publish``);
- nginx runs its children with an empty environment: ``env`` keeps ``PATH`` (ffmpeg) and ``HLSGATE_FFMPEG``,
  and ``hlsgate`` is named by its absolute path;
- one worker, since a live stream exists only in the worker its publisher reached, and the transcoder must
  find it; only loopback may play, so the raw feeds go to the local transcoder and nobody else.

The token given to ``hlsgate publish`` is in its argv, which local users can read (``ps``); docs/rtmp.md says so
and how to close that (``hidepid``).
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__
from .core.errors import ConfigError
from .core.names import ID_RULE, is_id
from .core.rtmp import ON_PUBLISH_DONE_PATH, ON_PUBLISH_PATH

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"  # Debian's libnginx-mod-rtmp
DEFAULT_RTMP_PORT = 1935
DEFAULT_APP = "live"
IDLE_PUBLISHER = "10s"  # a publisher that sends nothing for this long is dropped (its stream ends)
RESPAWN_TIMEOUT = "2s"  # a transcoder that stops while its publisher is on air is started again after this
WORKER_CONNECTIONS = 1024
# What may stand unquoted in an nginx argument and mean nothing else there, to nginx or to nginx-rtmp's exec.
SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
WILDCARDS = frozenset({"*", "0.0.0.0", "[::]"})  # noqa: S104 (what a listen address may say, not a bind)


@dataclass(frozen=True, slots=True)
class RtmpEdge:
    """What the configuration says: where nginx listens, the origin, the application, how to run hlsgate."""

    host: str
    """The listen address as nginx writes it: ``0.0.0.0``, ``127.0.0.1``, ``[::]``, ``[2001:db8::1]``."""
    port: int
    origin: str
    """The origin's base URL, plain http (nginx-rtmp's callbacks speak nothing else): ``http://127.0.0.1:8080``."""
    prefix: Path
    """The folder for nginx's pid and logs (absolute): nginx needs no root and writes nowhere else."""
    hlsgate: tuple[str, ...]
    """The argv that runs hlsgate (an absolute path first)."""
    app: str = DEFAULT_APP
    ladder: str | None = None
    """``hlsgate publish --ladder`` (``720p,480p``), or its default ladder."""

    @property
    def pull_host(self) -> str:
        """Where the local transcoder plays the feed from: loopback for a wildcard listen, else the address."""
        if self.host in WILDCARDS:
            return "[::1]" if self.host == "[::]" else "127.0.0.1"
        return self.host

    @property
    def pull_address(self) -> str:
        """The address the transcoder plays from, as ``allow play`` writes it (no brackets)."""
        return self.pull_host.strip("[]")


def nginx_config(edge: RtmpEdge) -> str:
    """The complete nginx configuration, ready for ``nginx -c FILE -g 'daemon off;'``."""
    prefix = edge.prefix
    pull = f"rtmp://{edge.pull_host}:{edge.port}/{edge.app}/$name"
    ladder = [f"--ladder={edge.ladder}"] if edge.ladder else []
    command = " ".join([*edge.hlsgate, "publish", pull, "--stream=$name", f"--server={edge.origin}", *ladder,
                        "--rtmp-args=$args"])
    return f"""\
# nginx-rtmp as hlsgate's RTMP edge, written by `hlsgate rtmp-config` (hlsgate {__version__}). Run it as it is:
#     nginx -c {prefix}/nginx.conf -g 'daemon off;'
# Encoders publish to rtmp://HOST:{edge.port}/{edge.app} with the stream key STREAM?token=PUBLISH_TOKEN (OBS:
# Settings > Stream > Custom). hlsgate checks the token; nginx only carries the bytes. docs/rtmp.md says more.

load_module {RTMP_MODULE};

# Everything nginx writes goes under {prefix}: run it as the user that runs hlsgate, not as root.
pid {prefix}/nginx.pid;
# Not "info": at info nginx-rtmp logs every client's arguments, that is its publish token.
error_log {prefix}/error.log notice;
# One worker: a live stream exists in the worker its publisher reached, where the transcoder must find it.
worker_processes 1;
# nginx empties the environment of what it runs; hlsgate publish needs these to find ffmpeg.
env PATH;
env HLSGATE_FFMPEG;

events {{
    worker_connections {WORKER_CONNECTIONS};
}}

rtmp {{
    # No $args, no $tcurl: they carry the publish token.
    log_format hlsgate '$remote_addr [$time_local] $command "$app" "$name" '
                       '$bytes_received $bytes_sent "$flashver" ($session_readable_time)';
    access_log {prefix}/rtmp-access.log hlsgate;
    # A stopped stream ends its transcoder with SIGTERM, which lets it finish its playlists (EXT-X-ENDLIST).
    exec_kill_signal term;

    server {{
        listen {edge.host}:{edge.port};

        application {edge.app} {{
            live on;
            record off;
            drop_idle_publisher {IDLE_PUBLISHER};

            # hlsgate decides: 2xx publishes, 401/403 drops the client. Only this nginx may call these.
            notify_method post;
            on_publish {edge.origin}{ON_PUBLISH_PATH};
            on_publish_done {edge.origin}{ON_PUBLISH_DONE_PATH};

            # Only the local transcoder plays the raw feed.
            allow play {edge.pull_address};
            deny play all;

            # For each accepted stream: transcode it into the live ladder and push it to the origin with the
            # client's token. Each $ value is glued to its flag: an argument of its own that began with > or <
            # would be a file redirection to nginx-rtmp's exec.
            exec_push {command};
            respawn on;
            respawn_timeout {RESPAWN_TIMEOUT};
        }}
    }}
}}
"""


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``0.0.0.0:1935``, ``[::]:1935``, ``127.0.0.1:1935``) -> (host as nginx writes it, port); a
    bare port listens on every IPv4 address. Addresses only: a name would resolve differently for nginx."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "0.0.0.0", value  # noqa: S104 (a public RTMP service is the point)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"--listen {value!r}: give HOST:PORT with a port within 1..65535, e.g. 0.0.0.0:1935")
    if host in WILDCARDS:
        return host, int(port_text)
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise ConfigError(f"--listen {value!r}: the host must be an IP address (0.0.0.0, 127.0.0.1, [::]), "
                          "not a name") from None
    if address.version == 6 and not bracketed:
        raise ConfigError(f"--listen {value!r}: write an IPv6 address in brackets, e.g. [::1]:1935")
    return (f"[{address.compressed}]" if address.version == 6 else address.compressed), int(port_text)


def check_origin(url: str) -> str:
    """The origin's base URL for the callbacks and the push: ``http://host:port[/prefix]``, no trailing ``/``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc \
            or not SAFE_WORD.fullmatch(url):
        raise ConfigError(f"--origin {url!r}: give the origin's plain-http base URL, e.g. http://127.0.0.1:8080 "
                          "(nginx-rtmp's callbacks speak no https: run the origin beside nginx or on a private "
                          "network)")
    return url.rstrip("/")


def check_app(app: str) -> str:
    if not is_id(app):
        raise ConfigError(f"--app {app!r}: an application name is {ID_RULE}")
    return app


def check_words(words: Sequence[str], what: str, *, command: bool = True) -> tuple[str, ...]:
    """Words nginx reads as one argument each and nginx-rtmp's exec passes on as they are; a ``command`` begins
    with an absolute path."""
    if not words:
        raise ConfigError(f"{what} is empty")
    for word in words:
        if not SAFE_WORD.fullmatch(word):
            raise ConfigError(f"{what}: {word!r} holds characters nginx would read otherwise (spaces, quotes, $, ;, "
                              "braces): use a path without them")
    if command and not words[0].startswith("/"):
        raise ConfigError(f"{what}: {words[0]!r} is not an absolute path (nginx runs it with an empty PATH)")
    return tuple(words)


def current_hlsgate() -> tuple[str, ...]:
    """The hlsgate running now: its console script beside this Python if there is one, else ``python -m``."""
    script = Path(sys.executable).parent / "hlsgate"
    if script.is_file():
        return (str(script),)
    return (sys.executable, "-m", "hls_server.cli")
