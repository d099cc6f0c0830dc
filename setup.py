"""The build steps pyproject.toml cannot describe: the web player, built with npm, packaged into the wheel.

From a checkout, ``build_py`` runs ``npm ci`` and ``npm run build`` in player/ and copies player/dist into the
wheel as ``hls_server/player_dist/``, the folder the installed server serves at ``/player/``.

The sdist carries the player's sources with their lockfile (MANIFEST.in) and, built by ``sdist`` just before
it collects its files, player/dist itself: a wheel built from the sdist packages that build as it is, so
Node.js is needed to make an sdist but not to build or install a wheel from one. An editable install builds
nothing: it serves the checkout's player/dist (``make player``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import ExecError

ROOT = Path(__file__).resolve().parent
PLAYER = ROOT / "player"
PLAYER_DIST = PLAYER / "dist"  # what `npm run build` writes (player/build.mjs)
PACKAGED_PLAYER = ("hls_server", "player_dist")  # inside the package: hls_server/core/settings.py looks there first
SDIST_MARKER = ROOT / "PKG-INFO"  # written at the top of every sdist, never present in a checkout
HLS_JS_LICENSE = "player/dist/vendor/hls.js-LICENSE"
NPM_CI = ("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
NPM_BUILD = ("npm", "run", "--silent", "build")


def build_player() -> Path:
    """``npm ci`` then ``npm run build`` in player/ (the interface the player's sources keep); player/dist."""
    if shutil.which("npm") is None:
        raise ExecError("building the web player needs Node.js and npm (sudo apt-get install npm); "
                        "or build the wheel from an sdist, which carries the built player")
    for argv in (NPM_CI, NPM_BUILD):
        try:
            subprocess.run(argv, cwd=PLAYER, check=True, stdin=subprocess.DEVNULL)
        except subprocess.CalledProcessError as err:
            raise ExecError(f"`{' '.join(argv)}` in {PLAYER} failed with exit code {err.returncode}") from err
    if not (PLAYER_DIST / "index.html").is_file():
        raise ExecError(f"`npm run build` left no index.html in {PLAYER_DIST}")
    return PLAYER_DIST


def player_for_wheel() -> Path:
    """The sdist's prebuilt player when building from one, else a fresh build of the checkout's sources."""
    if SDIST_MARKER.is_file() and (PLAYER_DIST / "index.html").is_file():
        return PLAYER_DIST
    return build_player()


class BuildPyWithPlayer(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib, *PACKAGED_PLAYER)
        shutil.rmtree(target, ignore_errors=True)
        # Dotfiles are the Makefile's stamps (.built), not the player's.
        shutil.copytree(player_for_wheel(), target, ignore=shutil.ignore_patterns(".*"))


class SdistWithPlayer(sdist):
    def run(self) -> None:
        build_player()  # before sdist collects its files, so that MANIFEST.in's `graft player` takes this build
        super().run()


setup(
    cmdclass={"build_py": BuildPyWithPlayer, "sdist": SdistWithPlayer},
    # Not in pyproject.toml: a license-files pattern must match when setuptools starts, and hls.js's licence
    # exists only once the player is built (in a checkout after `make player`, and always in the sdist).
    # None keeps setuptools' default patterns (LICENSE* ...), which match nothing yet.
    license_files=[HLS_JS_LICENSE] if (ROOT / HLS_JS_LICENSE).is_file() else None,
)
