"""The live benchmarks must keep working: quick runs of both sides, figures printed (their values mean
nothing at this size), no write refused, no token printed."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.bench.test_origin_throughput import require_tools
from tests.conftest import REPO

RUN_TIMEOUT_SECONDS = 240


def test_quick_run_measures_both_sides() -> None:
    require_tools()
    done = subprocess.run([sys.executable, "bench/live_ingest.py", "--quick"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for side in ("hlsgate", "nginx"):
        assert re.search(rf"^  {side} +median +\d+\.\d ms +p99 +\d+\.\d ms +samples +[1-9]\d* +lost 0 ", done.stdout,
                         re.MULTILINE), done.stdout
        assert re.search(rf"^capacity {side}: ", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^  ratio median hlsgate/nginx \d+\.\d\d$", done.stdout, re.MULTILINE), done.stdout
    assert "failed writes" not in done.stdout
    assert "eyJ" not in done.stdout + done.stderr, "a JWT was printed"


def test_quick_latency_run_measures_both_sides() -> None:
    """bench/live_latency.py: the same encoder onto disk and into the origin, the origin's share printed."""
    require_tools()
    done = subprocess.run([sys.executable, "bench/live_latency.py", "--quick"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for side in ("disk", "hlsgate"):
        assert re.search(rf"^  {side} +median +-?\d+ ms +p99 +-?\d+ ms +segments +[1-9]", done.stdout, re.MULTILINE), \
            done.stdout
    assert re.search(r"^ratio median hlsgate/disk -?\d+\.\d\d; the origin's share", done.stdout, re.MULTILINE)
    assert "eyJ" not in done.stdout + done.stderr, "a JWT was printed"
