"""The benchmark must keep working: a tiny run, ratios printed (their values mean nothing at this size)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_smoke_run_prints_every_ratio(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "bench/transcode_ladder.py", "--seconds", "2", "--size", "320x180",
                           "--repeat", "1", "--preset", "ultrafast", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("hlsgate/hand-written", "hlsgate/naive-sequential", "hlsgate/naive-concurrent"):
        assert re.search(rf"^ratio {name}: \d+\.\d{{3}}", done.stdout, re.MULTILINE), done.stdout
