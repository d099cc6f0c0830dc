"""How progress reaches a person: a bar on a terminal, plain log lines otherwise, or nothing."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from .runner import Progress

LOG_MIN_INTERVAL_SECONDS = 2.0
LOG_STEP_FRACTION = 0.10


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:d}:{rest % 60:02d}"


def describe(p: Progress) -> str:
    """'35% 7.0/20.0 s, 2.13x real time, ETA 0:06' (parts left out when ffmpeg does not know them)."""
    parts = []
    if p.fraction is not None:
        parts.append(f"{p.fraction * 100:3.0f}%")
    parts.append(f"{p.out_seconds:.1f}/{p.duration:.1f} s" if p.duration else f"{p.out_seconds:.1f} s")
    if p.speed is not None:
        parts.append(f"{p.speed:.2f}x real time")
    if p.eta is not None:
        parts.append(f"ETA {format_seconds(p.eta)}")
    return ", ".join(parts)


class LogLines:
    """One line every 10% (at most one every two seconds), and always the last one."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self._next_fraction = LOG_STEP_FRACTION
        self._last_line_at = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        fraction = p.fraction or 0.0
        due = fraction >= self._next_fraction and now - self._last_line_at >= LOG_MIN_INTERVAL_SECONDS
        if not (due or p.done):
            return
        self._next_fraction = (int(fraction / LOG_STEP_FRACTION) + 1) * LOG_STEP_FRACTION
        self._last_line_at = now
        print(f"{self.label}: {describe(p)}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class TerminalBar:
    """A tqdm bar driven by ffmpeg's own clock: percent, speed as a multiple of real time, ETA."""

    def __init__(self, stream: TextIO, label: str) -> None:
        # Sizes from shutil, which falls back to 80x24 where a terminal reports 0 (a fresh pty): left to
        # itself, tqdm 4.70 guesses nrows=-1 and then draws nothing at all.
        from tqdm import tqdm  # only a terminal needs it; keeps start-up short for scripts and services

        size = shutil.get_terminal_size()
        self._bar = tqdm(total=1000, file=stream, desc=label, leave=True, ncols=size.columns,
                         nrows=max(size.lines, 2),
                         bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}")
        self._done = 0

    def __call__(self, p: Progress) -> None:
        target = round((p.fraction or 0.0) * 1000)
        if target > self._done:
            self._bar.update(target - self._done)
            self._done = target
        speed = f"{p.speed:.2f}x real time" if p.speed is not None else "speed --"
        self._bar.set_postfix_str(f"{speed}, ETA {format_seconds(p.eta)}", refresh=True)

    def close(self) -> None:
        self._bar.close()
