"""What the benchmark scripts share: stopping a child process group they started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

STOP_GRACE_SECONDS = 5.0


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
