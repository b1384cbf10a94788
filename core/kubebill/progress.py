"""Progress of long work (package, export steps and days, backfills, merges of many days).

On a terminal (stderr is a TTY and logs are text) a phase redraws one line: its name, a bar, the count,
what it is on and the time spent. Anywhere else it stays quiet: one log line when the phase ends (with
`--log-format json`, one JSON object per phase). Work deep in the code calls `tick()`, which advances the
innermost open phase and does nothing when none is open (the functions never open one).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kubebill import log

_ACTIVE: list[Phase] = []
_BAR = 24


def _on_terminal() -> bool:
    handlers = logging.getLogger("kubebill").handlers
    text = not any(isinstance(h.formatter, log.JsonFormatter) for h in handlers)
    return text and sys.stderr.isatty()


class Phase:
    """One named phase of `total` items (None: unknown)."""

    def __init__(self, name: str, total: int | None) -> None:
        self.name, self.total, self.done = name, total, 0
        self.started = time.monotonic()
        self.drawn = 0.0
        self.terminal = _on_terminal()
        self.closed = False

    def tick(self, detail: str = "", *, items: int = 1) -> None:
        self.done += items
        now = time.monotonic()
        if self.terminal:  # ticks are steps, days or phases: few enough to draw each
            self.drawn = now
            if self.total:
                filled = _BAR * min(self.done, self.total) // self.total
                count = f"[{'#' * filled}{'.' * (_BAR - filled)}] {self.done}/{self.total}"
            else:
                count = str(self.done)
            line = f"{self.name} {count} {detail} {now - self.started:.0f}s"
            sys.stderr.write("\r" + line[:160].ljust(80))
            sys.stderr.flush()

    def close(self, *, ok: bool = True) -> None:
        """End the phase: a newline on a terminal; elsewhere one log line when it ended well (a failure is
        reported by whoever handles it)."""
        if self.closed:
            return
        self.closed = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        seconds = round(time.monotonic() - self.started, 3)
        if self.terminal:
            if self.drawn:
                sys.stderr.write("\n")
                sys.stderr.flush()
            return
        if not ok:
            return
        log.get("progress").info(
            "%s: %d item(s) in %.1fs", self.name, self.done, seconds,
            extra={"phase": self.name, "items": self.done, "seconds": seconds},
        )  # fmt: skip


@contextmanager
def phase(name: str, total: int | None = None) -> Iterator[Phase]:
    """Open a phase; `tick()` anywhere inside advances it."""
    current = Phase(name, total)
    _ACTIVE.append(current)
    try:
        yield current
    except BaseException:
        current.close(ok=False)
        raise
    current.close()


def tick(detail: str = "") -> None:
    """Advance the innermost open phase (nothing when none is open)."""
    if _ACTIVE:
        _ACTIVE[-1].tick(detail)
