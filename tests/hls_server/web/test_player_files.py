"""The player's files at ``/player/``: the page with its CSP, its scripts, hls.js from the installed npm package,
and nothing else of the player folder (no package.json, no node_modules walk, no traversal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hls_server.core.errors import ConfigError
from hls_server.web.routes.player import HLS_JS_DIST

from ..conftest import Origin, StartOrigin, settings_for
from ..http import expect_error, fetch

HLS_JS = b"/* hls.js stand-in */"


def flag(key: str, value: str) -> dict[str, Any]:
    return {key: value}


@pytest.fixture
def player_dir(tmp_path: Path) -> Path:
    """A built player folder as `npm run build` leaves it, with stand-in files (the real page is tested in the browser)."""
    folder = tmp_path / "player"
    (folder / HLS_JS_DIST).mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>player</title>", encoding="utf-8")
    (folder / "hlsgate-player.js").write_text("window.HlsGatePlayer = class {};", encoding="utf-8")
    (folder / "player.css").write_text("body {}", encoding="utf-8")
    (folder / "package.json").write_text("{}", encoding="utf-8")
    (folder / HLS_JS_DIST / "hls.min.js").write_bytes(HLS_JS)
    (folder / HLS_JS_DIST / "hls.min.js.map").write_text("{}", encoding="utf-8")
    (folder / HLS_JS_DIST / "hls.js").write_text("// unminified", encoding="utf-8")
    return folder


@pytest.fixture
async def served(start_origin: StartOrigin, player_dir: Path) -> Origin:
    started: Origin = await start_origin(**{"player.dir": str(player_dir)})
    return started


async def test_the_page_is_served_with_a_strict_policy(served: Origin) -> None:
    reply = await fetch(served, "/player/?group=g1&token=abc")
    headers = reply.headers
    assert reply.status == 200 and reply.body.startswith(b"<!doctype html>")
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"  # its URL carries a token
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "worker-src 'self' blob:" in csp  # hls.js runs its transmuxer in a blob worker
    assert "base-uri 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_player_without_slash_redirects_keeping_the_query(served: Origin) -> None:
    reply = await fetch(served, "/player?group=g1&token=abc")
    assert reply.status == 301 and reply.headers["Location"] == "/player/?group=g1&token=abc"


@pytest.mark.parametrize(("path", "kind"), [
    ("/player/hlsgate-player.js", "text/javascript"),
    ("/player/player.css", "text/css"),
    ("/player/vendor/hls.min.js", "text/javascript"),
    ("/player/vendor/hls.min.js.map", "application/json"),
])
async def test_scripts_and_styles(served: Origin, path: str, kind: str) -> None:
    reply = await fetch(served, path)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith(kind)
    assert reply.headers["Cache-Control"] == "no-cache" and "ETag" in reply.headers
    if path.endswith("hls.min.js"):
        assert reply.body == HLS_JS


@pytest.mark.parametrize("path", [
    "/player/package.json", "/player/index.html", "/player/node_modules/hls.js/dist/hls.min.js",
    "/player/vendor/hls.js", "/player/vendor/../package.json", "/player/%2e%2e/package.json",
    "/player/vendor/%2e%2e%2fhls.min.js", "/player/missing.js", "/player/.hidden.js", "/player/Player.CSS",
])
async def test_nothing_else_of_the_folder_is_served(served: Origin, path: str) -> None:
    expect_error(await fetch(served, path), 404, "not_found")


async def test_a_player_without_hls_js_says_how_to_install_it(start_origin: StartOrigin, player_dir: Path) -> None:
    (player_dir / HLS_JS_DIST / "hls.min.js").unlink()
    origin = await start_origin(**{"player.dir": str(player_dir)})
    page = await fetch(origin, "/player/")
    assert page.status == 503 and b"make player" in page.body
    assert page.headers["Cache-Control"] == "no-store"
    expect_error(await fetch(origin, "/player/vendor/hls.min.js"), 404, "not_found")


async def test_the_csp_admits_public_url_and_renew_url(start_origin: StartOrigin, player_dir: Path) -> None:
    origin = await start_origin(**{"player.dir": str(player_dir), "public_url": "https://cdn.example.com",
                                   "player.renew_url": "https://www.example.com/token"})
    csp = (await fetch(origin, "/player/")).headers["Content-Security-Policy"]
    assert "connect-src 'self' https://cdn.example.com https://www.example.com;" in csp
    assert "media-src 'self' blob: https://cdn.example.com https://www.example.com;" in csp


def test_player_dir_without_index_is_refused(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    with pytest.raises(ConfigError, match=r"player\.dir .* holds no index\.html"):
        settings_for(tmp_path / "media", None, None, **flag("player.dir", str(tmp_path)))


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("player.renew_url", "http://www.example.com/token", "https://"),
    ("player.renew_url", "javascript:alert(1)", "https://"),
    ("player.renew_url", "token", "https://"),
    ("player.renew_before", "0", "player.renew_before"),
    ("public_url", "ftp://example.com", "public_url"),
    ("public_url", "https://example.com/?q=1", "public_url"),
    ("public_url", "https://user@example.com", "public_url"),
])
def test_player_settings_are_checked(tmp_path: Path, key: str, value: str, fragment: str) -> None:
    (tmp_path / "media").mkdir()
    with pytest.raises(ConfigError, match=fragment):
        settings_for(tmp_path / "media", None, None, **flag(key, value))


@pytest.mark.parametrize("value", ["/my/token", "https://www.example.com/token", "http://127.0.0.1:9000/token"])
def test_renew_urls_accepted(tmp_path: Path, value: str) -> None:
    (tmp_path / "media").mkdir()
    settings = settings_for(tmp_path / "media", None, None, **flag("player.renew_url", value))
    assert settings.player.renew_url == value
