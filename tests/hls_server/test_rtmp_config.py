"""``hlsgate rtmp-config``: the nginx configuration it prints, byte for byte, what it refuses, and that nginx takes
it as it is (the real nginx run is in test_rtmp_nginx.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hls_server import __version__
from hls_server.core.errors import ConfigError
from hls_server.rtmp_config import (
    RtmpEdge,
    check_app,
    check_origin,
    check_words,
    current_hlsgate,
    nginx_config,
    parse_listen,
)
from tests.conftest import HLSGATE

from .rtmp import NGINX
from .serving import hlsgate

ANY = "0.0.0.0"  # noqa: S104 (what nginx listens on, written in a test)
EDGE = RtmpEdge(ANY, 1935, "http://127.0.0.1:8080", Path("/srv/rtmp"), ("/opt/hlsgate/bin/hlsgate",))

EXPECTED = f"""\
# nginx-rtmp as hlsgate's RTMP edge, written by `hlsgate rtmp-config` (hlsgate {__version__}). Run it as it is:
#     nginx -c /srv/rtmp/nginx.conf -g 'daemon off;'
# Encoders publish to rtmp://HOST:1935/live with the stream key STREAM?token=PUBLISH_TOKEN (OBS:
# Settings > Stream > Custom). hlsgate checks the token; nginx only carries the bytes. docs/rtmp.md says more.

load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;

# Everything nginx writes goes under /srv/rtmp: run it as the user that runs hlsgate, not as root.
pid /srv/rtmp/nginx.pid;
# Not "info": at info nginx-rtmp logs every client's arguments, that is its publish token.
error_log /srv/rtmp/error.log notice;
# One worker: a live stream exists in the worker its publisher reached, where the transcoder must find it.
worker_processes 1;
# nginx empties the environment of what it runs; hlsgate publish needs these to find ffmpeg.
env PATH;
env HLSGATE_FFMPEG;

events {{
    worker_connections 1024;
}}

rtmp {{
    # No $args, no $tcurl: they carry the publish token.
    log_format hlsgate '$remote_addr [$time_local] $command "$app" "$name" '
                       '$bytes_received $bytes_sent "$flashver" ($session_readable_time)';
    access_log /srv/rtmp/rtmp-access.log hlsgate;
    # A stopped stream ends its transcoder with SIGTERM, which lets it finish its playlists (EXT-X-ENDLIST).
    exec_kill_signal term;

    server {{
        listen 0.0.0.0:1935;

        application live {{
            live on;
            record off;
            drop_idle_publisher 10s;

            # hlsgate decides: 2xx publishes, 401/403 drops the client. Only this nginx may call these.
            notify_method post;
            on_publish http://127.0.0.1:8080/rtmp/on_publish;
            on_publish_done http://127.0.0.1:8080/rtmp/on_publish_done;

            # Only the local transcoder plays the raw feed.
            allow play 127.0.0.1;
            deny play all;

            # For each accepted stream: transcode it into the live ladder and push it to the origin with the
            # client's token. Each $ value is glued to its flag: an argument of its own that began with > or <
            # would be a file redirection to nginx-rtmp's exec.
            exec_push /opt/hlsgate/bin/hlsgate publish rtmp://127.0.0.1:1935/live/$name --stream=$name --server=http://127.0.0.1:8080 --rtmp-args=$args;
            respawn on;
            respawn_timeout 2s;
        }}
    }}
}}
"""


def test_the_configuration_exactly() -> None:
    assert nginx_config(EDGE) == EXPECTED


def test_the_listen_address_decides_where_the_transcoder_plays_from() -> None:
    for host, pull, allowed in ((ANY, "127.0.0.1", "127.0.0.1"), ("*", "127.0.0.1", "127.0.0.1"),
                                ("[::]", "[::1]", "::1"), ("192.0.2.7", "192.0.2.7", "192.0.2.7"),
                                ("[2001:db8::1]", "[2001:db8::1]", "2001:db8::1")):
        text = nginx_config(RtmpEdge(host, 1935, EDGE.origin, EDGE.prefix, EDGE.hlsgate, app="cam"))
        assert f"        listen {host}:1935;\n" in text
        assert "        application cam {\n" in text
        assert f" publish rtmp://{pull}:1935/cam/$name --stream=$name " in text
        assert f"            allow play {allowed};\n            deny play all;\n" in text


def test_every_client_value_in_exec_is_glued_to_a_flag() -> None:
    """nginx-rtmp's exec reads an argument beginning with > or < (after digits) as a file redirection."""
    [line] = [line for line in EXPECTED.splitlines() if line.strip().startswith("exec_push ")]
    for word in line.strip().rstrip(";").split()[1:]:
        assert "$" not in word or word.startswith(("--", "rtmp://")), word


@pytest.mark.parametrize(("value", "expected"), [
    (f"{ANY}:1935", (ANY, 1935)), ("1935", (ANY, 1935)), ("127.0.0.1:19350", ("127.0.0.1", 19350)),
    ("[::]:1935", ("[::]", 1935)), ("[::1]:1935", ("[::1]", 1935)), ("[2001:DB8::0:1]:1", ("[2001:db8::1]", 1)),
    ("*:1935", ("*", 1935)),
])
def test_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["", ":", "0.0.0.0:", "0.0.0.0:0", "0.0.0.0:65536", "0.0.0.0:-1", "host:1935",
                                   "localhost:1935", "::1:1935", "1.2.3:1935", "0.0.0.0:19 35", "0.0.0.0:1935;",
                                   "[::1]:1935 ssl"])
def test_listen_refuses(value: str) -> None:
    with pytest.raises(ConfigError, match="--listen"):
        parse_listen(value)


def test_origin() -> None:
    assert check_origin("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_origin("http://origin.internal/video") == "http://origin.internal/video"
    for bad in ("https://127.0.0.1:8080", "127.0.0.1:8080", "http://", "http://a@b", "http://h/?x=1", "http://h/#x",
                "http://h/a;b", "http://h/a b", "http://h/${x}", "ftp://h", "http://h/'"):
        with pytest.raises(ConfigError, match="--origin"):
            check_origin(bad)


def test_app_and_words() -> None:
    assert check_app("live") == "live"
    for app in ("", "a/b", "live;", "a b"):
        with pytest.raises(ConfigError, match="--app"):
            check_app(app)
    assert check_words(["/usr/bin/python3", "-m", "hls_server.cli"], "--hlsgate") == (
        "/usr/bin/python3", "-m", "hls_server.cli")
    for words in ([], ["hlsgate"], ["/a b"], ["/bin/x", "$name"], ["/bin/x;"], ["/bin/x", "{"], ["/bin/x", '"']):
        with pytest.raises(ConfigError, match="--hlsgate"):
            check_words(words, "--hlsgate")


def test_the_current_hlsgate_is_an_absolute_command() -> None:
    command = current_hlsgate()
    assert command[0].startswith("/")
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == f"hlsgate {__version__}"


def test_the_command_prints_the_configuration(tmp_path: Path) -> None:
    done = hlsgate("rtmp-config", "--listen", "0.0.0.0:1935", "--origin", "http://127.0.0.1:8080/",
                   "--hlsgate", "/opt/hlsgate/bin/hlsgate", "--prefix", "/srv/rtmp")
    assert (done.code, done.stderr) == (0, "")
    assert done.stdout == EXPECTED
    default = hlsgate("rtmp-config", "--listen", "1935", "--origin", "http://127.0.0.1:8080")
    assert default.code == 0, default.stderr
    assert f"exec_push {sys.executable} -m hls_server.cli publish " in default.stdout or \
        f"exec_push {Path(sys.executable).parent / 'hlsgate'} publish " in default.stdout
    assert f"pid {Path.cwd()}/nginx.pid;" in default.stdout
    ladder = hlsgate("rtmp-config", "--listen", "1935", "--origin", "http://127.0.0.1:8080", "--ladder", "720p,360p",
                     "--hlsgate", "/opt/hlsgate/bin/hlsgate", "--prefix", "/srv/rtmp")
    assert ladder.stdout == EXPECTED.replace("--server=http://127.0.0.1:8080 ",
                                             "--server=http://127.0.0.1:8080 --ladder=720p,360p ")


@pytest.mark.parametrize(("args", "says"), [
    (["--listen", "localhost:1935", "--origin", "http://127.0.0.1:8080"], "--listen"),
    (["--listen", "1935", "--origin", "https://video.example.com"], "--origin"),
    (["--listen", "1935", "--origin", "http://127.0.0.1:8080", "--app", "a/b"], "--app"),
    (["--listen", "1935", "--origin", "http://127.0.0.1:8080", "--hlsgate", "hlsgate"], "--hlsgate"),
    (["--listen", "1935", "--origin", "http://127.0.0.1:8080", "--hlsgate", "'/opt/x"], "quotation"),
    (["--listen", "1935", "--origin", "http://127.0.0.1:8080", "--prefix", "/srv/my rtmp"], "--prefix"),
    (["--listen", "1935", "--origin", "http://127.0.0.1:8080", "--ladder", "720p;360p"], "--ladder"),
])
def test_the_command_refuses_in_one_line(args: list[str], says: str) -> None:
    done = hlsgate("rtmp-config", *args)
    assert done.code == 2
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("hlsgate rtmp-config: error: ") and says in line, line


def test_nginx_takes_the_printed_configuration(tmp_path: Path) -> None:
    done = subprocess.run([*HLSGATE, "rtmp-config", "--listen", "127.0.0.1:1935", "--origin", "http://127.0.0.1:8080",
                           "--prefix", str(tmp_path)], capture_output=True, text=True, timeout=60, check=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(done.stdout)
    tested = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60, check=False)
    assert tested.returncode == 0, tested.stderr
    assert "test is successful" in tested.stderr
    assert "[warn]" not in tested.stderr and "[alert]" not in tested.stderr, tested.stderr
