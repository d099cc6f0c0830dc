"""What the benchmark scripts share: stopping a child process group they started, a SIGTERM that unwinds like
Ctrl-C, and a temporary checkout of another revision to run."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

STOP_GRACE_SECONDS = 5.0
GIT_TIMEOUT_SECONDS = 120.0


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's session, a grace period, then SIGKILL. No-op once it has exited."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def interrupt_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt, so a killed run unwinds its ``finally`` blocks (servers stopped,
    checkouts removed) as an interrupted one does."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS``'s stdout, stripped; CalledProcessError (with stderr) when git fails."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=True)
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(repo: Path, commit: str, path: Path) -> Iterator[Path]:
    """``commit`` checked out, detached, at ``path`` (which must not exist), removed on the way out whatever
    happened: an error, Ctrl-C, or SIGTERM after :func:`interrupt_on_sigterm`. Hooks are not run."""
    try:
        git(repo, "-c", "core.hooksPath=/dev/null", "worktree", "add", "--quiet", "--detach", str(path), commit)
        yield path
    finally:
        remove_worktree(repo, path)


def remove_worktree(repo: Path, path: Path) -> None:
    try:
        git(repo, "worktree", "remove", "--force", str(path))
    except (OSError, subprocess.SubprocessError):
        # Half-created, or its directory went first: delete what is left, then forget checkouts whose directory
        # is gone (git's own bookkeeping; it leaves every checkout that still exists alone).
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            git(repo, "worktree", "prune")
