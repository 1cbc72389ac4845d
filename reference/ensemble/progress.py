"""A one-line text progress bar for a running ensemble, written to stderr.

The bar owns the last line of the terminal: whatever else is written to stderr while it is
drawn (a child's stderr, forwarded to logging) goes on lines of its own above it, through
:meth:`ProgressBar.write_above`, so that the two never run together on one line.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ProgressBar:
    """Redraws ``[#####.....] 12/20 done, 1 failed`` in place as tasks finish."""

    width = 30

    def __init__(self, total: int) -> None:
        self.total = total
        self.stream = sys.stderr  # looked up now, so a redirected stderr is honoured
        self.done = 0
        self.failed = 0
        self._shown = ""  # the bar as it stands on the last line; "" when none is there
        self._lock = threading.Lock()  # tasks log from worker threads while the bar redraws

    def update(self, *, failed: bool) -> None:
        """Count one finished task and redraw."""
        with self._lock:
            self.done += 1
            self.failed += failed
            filled = self.width * self.done // max(self.total, 1)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} done"
            if self.failed:
                line += f", {self.failed} failed"
            self.stream.write(f"\r{line}")
            if self.done == self.total:
                self.stream.write("\n")
            self._shown = "" if self.done == self.total else line
            self.stream.flush()

    def write_above(self, text: str) -> None:
        """Write ``text`` on lines of its own, above the bar, and draw the bar again below."""
        with self._lock:
            if self._shown:
                self.stream.write("\r" + " " * len(self._shown) + "\r")
            self.stream.write(text if text.endswith("\n") else text + "\n")
            self.stream.write(self._shown)
            self.stream.flush()

    @contextmanager
    def logs_above(self) -> Iterator[None]:
        """While drawn, write log records above the bar, if the program configured no
        logging: such records would reach stderr anyway (through logging's last resort, at
        WARNING and above), only without a line of their own. A program that configured
        handlers keeps its own routing."""
        root = logging.getLogger()
        if root.handlers:
            yield
            return
        handler = _AboveTheBar(self)
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


class _AboveTheBar(logging.Handler):
    """Hands each record to :meth:`ProgressBar.write_above`, formatted as the last resort
    formats it (the message alone)."""

    def __init__(self, bar: ProgressBar) -> None:
        super().__init__(logging.WARNING)
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record above the bar (a logging hook)."""
        try:
            self.bar.write_above(self.format(record))
        except Exception:  # logging's contract: a broken stream must not kill the caller
            self.handleError(record)
