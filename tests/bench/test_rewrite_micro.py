"""The micro-benchmark must keep working: a tiny run, every ratio printed (their values mean nothing at this size)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

SMOKE_TIMEOUT_SECONDS = 120


def test_smoke_run_prints_every_ratio() -> None:
    done = subprocess.run([sys.executable, "bench/rewrite_micro.py", "--segments", "20", "--repeat", "1"],
                          capture_output=True, text=True, timeout=SMOKE_TIMEOUT_SECONDS, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for playlist in ("media", "master"):
        for name in ("render/m3u8-roundtrip", "render/regex", "compile\\+render/m3u8-roundtrip",
                     "compile\\+render/regex"):
            assert re.search(rf"^ratio {playlist} {name}: \d+\.\d{{4}}", done.stdout, re.MULTILINE), done.stdout
