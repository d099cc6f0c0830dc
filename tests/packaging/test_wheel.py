"""The wheel as a user gets it: built by ``python -m build`` (the sdist, then the wheel from the sdist), installed
into a fresh venv and run on a PATH without Node.js, from a directory that is not the checkout.

The sdist is made from a copy of this checkout's files (what ``git ls-files`` lists, no build outputs), so its
build runs ``npm ci`` and ``npm run build`` from nothing; the wheel is then built from the unpacked sdist on the
Node-free PATH. One build and one venv serve the whole module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

import pytest

from hls_server import __version__
from tests.conftest import REPO
from tests.hls_server.serving import exchange, redacted, running_demo, serve_env, serving

BUILD_SECONDS = 300.0  # each of: the sdist (npm ci from the registry or npm's cache), the wheel, pip's install
RUN_SECONDS = 60.0
PACKAGED_PLAYER = "hls_server/player_dist/"
HLS_JS_FILES = ("vendor/hls.min.js", "vendor/hls.js-LICENSE")
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".ico": "image/x-icon",
               ".png": "image/png"}


@dataclass(frozen=True)
class Installed:
    checkout: Path  # the copy the sdist was made from (its player now built)
    wheel: Path
    player_build: frozenset[str]  # the files `npm run build` wrote into the sdist's player/dist
    bin: Path  # the fresh venv's scripts
    env: dict[str, str]  # this process's environment, less HLSGATE_* and Python's, on a PATH of `bin` alone
    home: Path  # a directory with nothing of the project in it: every command runs there

    def hlsgate(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run([str(self.bin / "hlsgate"), *args], env=self.env, cwd=self.home, timeout=RUN_SECONDS)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    checkout, dist, venv, home = root / "checkout", root / "dist", root / "venv", root / "home"
    home.mkdir()
    _copy_checkout(checkout)
    _run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(checkout)], timeout=BUILD_SECONDS)
    (sdist,) = dist.glob("hlsgate-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "sdist", filter="data")
    (unpacked,) = (root / "sdist").iterdir()

    _run([sys.executable, "-m", "venv", str(venv)], timeout=BUILD_SECONDS)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HLSGATE_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = str(bin_dir)
    for tool in ("node", "npm"):
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is on the PATH meant to have no Node.js"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(unpacked)], env=env,
         timeout=BUILD_SECONDS)
    (wheel,) = dist.glob("hlsgate-*.whl")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-input", str(wheel)], env=env,
         cwd=home, timeout=BUILD_SECONDS)
    player_dist = unpacked / "player" / "dist"
    built = frozenset(p.relative_to(player_dist).as_posix() for p in player_dist.rglob("*") if p.is_file())
    return Installed(checkout, wheel, built, bin_dir, env, home)


def test_the_wheel_holds_the_player_build_and_lists_the_hls_js_licence(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        info = f"hlsgate-{__version__}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    packaged = {name.removeprefix(PACKAGED_PLAYER) for name in names if name.startswith(PACKAGED_PLAYER)}
    assert packaged == installed.player_build
    assert {"index.html", *HLS_JS_FILES} <= packaged
    assert metadata["Version"] == __version__
    licences = metadata.get_all("License-File") or []
    assert any(PurePosixPath(lf).name == "hls.js-LICENSE" for lf in licences), licences
    assert all(f"{info}/licenses/{lf}" in names for lf in licences)
    assert not [name for name in names if "node_modules" in name]


def test_a_wheel_from_a_checkout_without_npm_says_what_it_needs(installed: Installed, tmp_path: Path) -> None:
    done = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(installed.checkout)],
                env=installed.env, timeout=BUILD_SECONDS, ok=False)
    assert done.returncode != 0
    assert "building the web player needs Node.js and npm" in done.stdout + done.stderr
    assert not list(tmp_path.glob("*.whl"))


def test_version_from_the_installed_package(installed: Installed) -> None:
    done = installed.hlsgate("--version")
    assert done.stdout == f"hlsgate {__version__}\n"
    where = _run([str(installed.bin / "python"), "-c", "import hls_server; print(hls_server.__file__)"],
                 env=installed.env, cwd=installed.home, timeout=RUN_SECONDS)
    assert Path(where.stdout.strip()).is_relative_to(installed.bin.parent), "the checkout was imported"


def test_serve_serves_the_player_and_every_file_its_page_references(installed: Installed) -> None:
    media = installed.home / "media"
    media.mkdir()
    secrets = {name: value for name, value in serve_env().items() if name.startswith("HLSGATE_")}
    assert len(secrets["HLSGATE_JWT_SECRET"].encode()) >= 32  # made at run time (tests/hls_server/conftest.py)
    env = {**installed.env, **secrets}
    with serving(installed.home / "serve", "--media-root", str(media), env=env,
                 command=[str(installed.bin / "hlsgate")], cwd=installed.home) as served:
        _check_player(f"{served.url}/player/")


def test_demo_serves_its_urls_and_the_player(installed: Installed) -> None:
    # No ffmpeg on this PATH either: the demo transcodes with the one inside the imageio-ffmpeg wheel.
    with running_demo(installed.home / "demo", "--seconds", "2", "--ladder", "360p", "--preset", "ultrafast",
                      env=installed.env, command=[str(installed.bin / "hlsgate")], cwd=installed.home) as demo:
        for url in (demo.player_url, demo.vod_url):
            status, _, body = exchange(url)
            assert status == 200, f"{redacted(url)}: {status} {body[:200]!r}"
        _check_player(demo.player_url)
    assert (installed.home / "demo-media" / "demo" / "master.m3u8").is_file()  # the default media root, in cwd


# -- helpers ---------------------------------------------------------------------------------------------------


def _run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float,
         ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``argv`` to its end within ``timeout``; unless ``ok`` is false, it must succeed."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"{' '.join(argv)} took more than {timeout:g}s") from err
    assert done.returncode == 0 or not ok, f"{' '.join(argv)} exited with {done.returncode}:\n{done.stdout[-4000:]}" \
                                 f"\n{done.stderr[-4000:]}"
    return done


def _copy_checkout(target: Path) -> None:
    """The checkout's files as a fresh clone has them, with any uncommitted edits, and no build output."""
    listed = _run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                  timeout=RUN_SECONDS)
    for name in listed.stdout.split("\0"):
        source = REPO / name
        if name and source.is_file():  # a file deleted but not yet staged is still listed
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


class _References(HTMLParser):
    """The ``<script src>`` and ``<link href>`` of a page, with the stylesheets told apart."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (rel, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.scripts.append(found["src"] or "")
        elif tag == "link" and found.get("href"):
            self.links.append((found.get("rel") or "", found["href"] or ""))


def _check_player(page_url: str) -> None:
    """The page answers 200 as HTML, and so does every script and stylesheet it references, each typed as such."""
    status, headers, body = exchange(page_url)
    assert status == 200, f"{redacted(page_url)}: {status} {body[:200]!r}"
    assert headers.get_content_type() == "text/html"
    page = _References()
    page.feed(body.decode())
    assert page.scripts and any(rel == "stylesheet" for rel, _ in page.links), "the page references no assets"
    assert any(PurePosixPath(urlsplit(src).path).name == "hls.min.js" for src in page.scripts)
    expected: dict[str, str] = {}
    for src in page.scripts:
        expected[src] = "text/javascript"
    for rel, href in page.links:
        if href.startswith("data:"):
            continue  # inline: nothing to fetch
        expected[href] = "text/css" if rel == "stylesheet" else ASSET_TYPES[PurePosixPath(urlsplit(href).path).suffix]
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(page_url))
    for reference, media_type in expected.items():
        url = urljoin(page_url, reference)
        assert url.startswith(origin), f"{reference} is not served by the origin"
        status, headers, body = exchange(url)
        assert status == 200 and body, f"{url}: {status}"
        assert headers.get_content_type() == media_type, f"{url}: {headers['Content-Type']}"

