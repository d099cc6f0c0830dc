"""The origin benchmark must keep working: a quick run, ratios printed (their values mean nothing at this size).

It needs nginx and wrk. Off CI a missing one skips; on CI (which installs nginx-light and wrk) it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SBIN = "/usr/local/sbin:/usr/sbin:/sbin"  # nginx lives here, off a normal user's PATH
RATIOS = (
    "auth cost segments hlsgate-auth/hlsgate-noauth",
    "auth cost playlists hlsgate-auth/hlsgate-noauth",
    "segments hlsgate-auth/nginx-secure_link",
    "playlists hlsgate-auth/nginx-secure_link",
    "segments hlsgate-noauth/nginx-static",
    "playlists hlsgate-noauth/nginx-static",
)


def require_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None and shutil.which(tool, path=SBIN) is None]
    if not missing:
        return
    message = f"the origin benchmark needs {' and '.join(missing)} (apt-get install nginx-light wrk)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI installs them, so this is a CI setup error")
    pytest.skip(message)


def test_quick_run_prints_every_ratio(tmp_path: Path) -> None:
    require_tools()
    out = tmp_path / "origin.json"
    done = subprocess.run([sys.executable, "bench/origin_throughput.py", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in RATIOS:
        assert re.search(rf"^ratio {re.escape(name)}: \d+\.\d{{3}} \(target >= \d\.\d\d\) (PASS|MISS)$|"
                         rf"^ratio {re.escape(name)}: \d+\.\d{{3}} \(no target\)$", done.stdout, re.MULTILINE), \
            done.stdout
    assert "checked: every contender returns 200" in done.stdout
    assert "eyJ" not in done.stdout + done.stderr + out.read_text(), "a JWT was printed"
    assert out.is_file()
