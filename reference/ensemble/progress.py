"""A one-line text progress bar for a running ensemble, written to stderr."""

from __future__ import annotations

import sys


class ProgressBar:
    """Redraws ``[#####.....] 12/20 done, 1 failed`` in place as tasks finish."""

    width = 30

    def __init__(self, total: int) -> None:
        self.total = total
        self.stream = sys.stderr  # looked up now, so a redirected stderr is honoured
        self.done = 0
        self.failed = 0

    def update(self, *, failed: bool) -> None:
        """Count one finished task and redraw."""
        self.done += 1
        self.failed += failed
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r[{bar}] {self.done}/{self.total} done"
        if self.failed:
            line += f", {self.failed} failed"
        self.stream.write(line)
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()
