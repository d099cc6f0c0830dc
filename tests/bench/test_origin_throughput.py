"""The origin benchmark must keep working: a quick run, ratios printed (their values mean nothing at this size).

It needs nginx and wrk. Off CI a missing one skips; on CI (which installs nginx and wrk) it fails.
``--compare`` runs another commit from a temporary git worktree, which must be gone afterwards however the run ends.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))  # the benchmark runs as a script, with bench/ on its path
from origin_throughput import Comparison, Side

SBIN = "/usr/local/sbin:/usr/sbin:/sbin"  # nginx lives here, off a normal user's PATH
RATIOS = (
    "auth cost segments hlsgate-auth/hlsgate-noauth",
    "auth cost playlists hlsgate-auth/hlsgate-noauth",
    "segments hlsgate-auth/nginx-secure_link",
    "playlists hlsgate-auth/nginx-secure_link",
    "segments hlsgate-noauth/nginx-static",
    "playlists hlsgate-noauth/nginx-static",
)
COMPARED = ("hlsgate-auth", "hlsgate-auth-header", "hlsgate-noauth")
RUN_TIMEOUT_SECONDS = 240
STARTED_TIMEOUT_SECONDS = 120
CHECKOUT = re.compile(r"^sources: hlsgate@([0-9a-f]{7,}) = --compare HEAD \(.*\) checked out at (\S+), ", re.MULTILINE)


def require_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None and shutil.which(tool, path=SBIN) is None]
    if not missing:
        return
    message = f"the origin benchmark needs {' and '.join(missing)} (apt-get install nginx wrk)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI installs them, so this is a CI setup error")
    pytest.skip(message)


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bench/origin_throughput.py", *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, cwd=REPO, check=False)


def assert_checkout_removed(stdout: str) -> str:
    """The run's checkout (named in its 'sources:' line) is gone from disk and from git's list; its commit."""
    found = CHECKOUT.search(stdout)
    assert found, stdout
    commit, path = found.groups()
    assert not Path(path).exists(), f"{path} is still there"
    listed = subprocess.run(["git", "-C", str(REPO), "worktree", "list", "--porcelain"], capture_output=True,
                            text=True, check=True).stdout
    assert f"worktree {path}\n" not in listed, listed
    return commit


def test_quick_run_prints_every_ratio(tmp_path: Path) -> None:
    require_tools()
    out = tmp_path / "origin.json"
    done = bench("--quick", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    for name in RATIOS:
        assert re.search(rf"^ratio {re.escape(name)}: \d+\.\d{{3}} \(target >= \d\.\d\d\) (PASS|MISS)$|"
                         rf"^ratio {re.escape(name)}: \d+\.\d{{3}} \(no target\)$", done.stdout, re.MULTILINE), \
            done.stdout
    assert "checked: every contender returns 200" in done.stdout
    assert "eyJ" not in done.stdout + done.stderr + out.read_text(), "a JWT was printed"
    assert out.is_file()


def test_quick_compare_head_prints_after_before(tmp_path: Path) -> None:
    require_tools()
    out = tmp_path / "origin.json"
    done = bench("--quick", "--compare", "HEAD", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    commit = assert_checkout_removed(done.stdout)
    assert "sources: this tree's hlsgate imports its" in done.stdout
    assert f"The same checks passed for hlsgate-auth@{commit}, hlsgate-auth-header@{commit}, " \
           f"hlsgate-noauth@{commit}." in done.stdout
    for family in COMPARED:
        for workload in ("segments", "playlists"):
            assert re.search(rf"^ratio after/before {workload} {family}/{family}@{commit}: \d+\.\d{{3}} "
                             rf"\(per round \d+\.\d{{3}} over 1\) noise unknown \(one round; .*\); "
                             rf"cpu {family} server +\d+% wrk +\d+% (server-bound|wrk-bound|not CPU-bound), "
                             rf"{family}@{commit} server +\d+% wrk +\d+% ", done.stdout, re.MULTILINE), done.stdout
    for workload in ("segment", "playlist"):
        assert re.search(rf"^{workload} +hlsgate-auth@{commit} +\d", done.stdout, re.MULTILINE), done.stdout
    assert "eyJ" not in done.stdout + done.stderr + out.read_text(), "a JWT was printed"
    assert '"after_before": [' in out.read_text()


def test_a_failed_run_removes_its_checkout() -> None:
    require_tools()
    done = bench("--quick", "--compare", "HEAD", "--nginx", "/bin/false")  # fails after the checkout, at nginx -t
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nginx rejected the generated configuration" in done.stderr
    assert_checkout_removed(done.stdout)


def test_an_unknown_revision_is_refused() -> None:
    require_tools()
    done = bench("--quick", "--compare", "no-such-revision-anywhere")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--compare no-such-revision-anywhere: not a commit" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_removes_its_checkout(signum: signal.Signals) -> None:
    require_tools()
    proc = subprocess.Popen([sys.executable, "bench/origin_throughput.py", "--quick", "--warmup", "30",
                             "--compare", "HEAD"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, cwd=REPO)
    seen = b""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + STARTED_TIMEOUT_SECONDS
        while b"warming up" not in seen:  # the servers of both trees run, wrk is under way
            assert time.monotonic() < deadline and proc.poll() is None, seen.decode()
            if select.select([proc.stdout], [], [], 1.0)[0]:
                seen += os.read(proc.stdout.fileno(), 65536)  # unbuffered: select() sees all that is unread
        proc.send_signal(signum)
        rest, errors = proc.communicate(timeout=STARTED_TIMEOUT_SECONDS)
    finally:
        stop_gently(proc)
    output = (seen + rest).decode()
    assert proc.returncode == 130, output + errors.decode()
    assert b"interrupted" in errors
    assert_checkout_removed(output)


def stop_gently(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, so the script cleans up (a SIGKILL would leave its servers and checkout behind); then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=STARTED_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def side(server_cpu: float | None, client_cpu: float | None = 0.3) -> Side:
    return Side("hlsgate-auth", server_cpu, client_cpu)


@pytest.mark.parametrize(("per_round", "verdict"), [
    ((1.01,), "noise unknown (one round; use --rounds 5 or more)"),
    ((), "noise unknown (one round; use --rounds 5 or more)"),
    ((0.98, 1.02, 1.00), "within noise"),
    ((1.0, 1.03), "within noise"),
    ((0.95, 0.97, 0.99), "SLOWER beyond noise"),
    ((1.01, 1.04), "faster beyond noise"),
])
def test_after_before_verdict(per_round: tuple[float, ...], verdict: str) -> None:
    assert Comparison("segment", side(0.97), side(0.97), 1.0, per_round).verdict == verdict


@pytest.mark.parametrize(("server_cpu", "client_cpu", "bound"), [
    (0.97, 0.95, "server-bound"),
    (0.5, 0.95, "wrk-bound"),
    (0.5, 0.5, "not CPU-bound"),
    (None, None, "not CPU-bound"),
])
def test_side_bound(server_cpu: float | None, client_cpu: float | None, bound: str) -> None:
    assert side(server_cpu, client_cpu).bound == bound


def test_after_before_line_gives_the_spread() -> None:
    line = Comparison("playlist", side(0.99), Side("hlsgate-auth@abc1234", 0.98, 0.4), 0.99, (0.97, 1.01)).line()
    assert line == ("ratio after/before playlists hlsgate-auth/hlsgate-auth@abc1234: 0.990 (per round 0.970-1.010 "
                    "over 2, noise +-2.0%) within noise; cpu hlsgate-auth server 99% wrk 30% server-bound, "
                    "hlsgate-auth@abc1234 server 98% wrk 40% server-bound")
