"""The running ensemble's progress bar on stderr: a tqdm bar that also counts failed tasks.

It reads ``[#####.....] 12/20 done, 1 failed`` and stays as the final summary line once every
task has finished. Like every bar of the ``damaris-ref`` commands, it is drawn only when its
stream is a terminal unless told otherwise (``--progress``/``--no-progress``). The bar owns the
last line of the terminal: whatever else is written to stderr while it is drawn (a child's
stderr, forwarded to logging) goes on lines of its own above it, through
:meth:`ProgressBar.write_above`, so that the two never run together.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

#: what the bar shows; tqdm puts ", " before the postfix (the failure count) when there is one
BAR_FORMAT = "[{bar:30}] {n_fmt}/{total_fmt} done{postfix}"


class ProgressBar:
    """Redraws the bar in place as tasks finish; :meth:`close` leaves it as the last line."""

    def __init__(self, total: int, stream: TextIO | None = None, *, draw: bool | None = None):
        """``draw``: True or False; None draws only when ``stream`` is a terminal."""
        self.stream = sys.stderr if stream is None else stream  # looked up now: a redirect holds
        self.failed = 0
        self._bar = tqdm(
            total=total,
            file=self.stream,
            bar_format=BAR_FORMAT,
            ascii=".#",  # empty and full cells, as plain text on any terminal
            mininterval=0,  # tasks are seconds apart: draw every one
            miniters=1,
            disable=None if draw is None else not draw,  # tqdm's None: a terminal only
        )

    def update(self, *, failed: bool) -> None:
        """Count one finished task and redraw."""
        if failed:
            self.failed += 1
            self._bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self._bar.update()

    def close(self) -> None:
        """Draw the bar a last time and end its line."""
        self._bar.close()

    def write_above(self, text: str) -> None:
        """Write ``text`` on lines of its own, above the bar, and draw the bar again below."""
        tqdm.write(text.removesuffix("\n"), file=self.stream)

    @contextmanager
    def shown(self) -> Iterator[ProgressBar]:
        """The bar while the block runs, closed after it; meanwhile log records go above it
        if the program configured no logging: such records would reach stderr anyway (through
        logging's last resort, at WARNING and above), only without a line of their own. A
        program that configured handlers keeps its own routing."""
        root = logging.getLogger()
        handler = None if root.handlers else _AboveTheBar(self)
        if handler is not None:
            root.addHandler(handler)
        try:
            yield self
        finally:
            if handler is not None:
                root.removeHandler(handler)
            self.close()


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
