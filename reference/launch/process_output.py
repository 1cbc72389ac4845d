"""A child's captured output, read to its end with bounded memory.

A thread reads the stream line by line: the last lines are kept for error messages (a bounded
tail), and the first lines go to logging, one record each, up to a cap, followed by one
``... N more lines not logged`` record. A line longer than the read size comes in pieces that
only extend the tail, so neither a 50 MB stream nor a 50 MB line is ever held whole.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from dataclasses import dataclass
from typing import IO

#: lines and characters of a captured stream kept for error messages
TAIL_LINES = 20
TAIL_CHARS = 4000
#: lines of a captured stream sent to logging; the rest is counted in one closing record
LOG_LINES = 200
#: characters of one line sent to logging
LOG_LINE_CHARS = 1000
#: bytes read at a time: a line longer than this comes in pieces
_CHUNK = 65536


@dataclass(frozen=True)
class OutputLog:
    """Where a captured stream goes: ``logger`` at ``level``, and how much of it."""

    logger: logging.Logger
    level: int = logging.WARNING
    max_lines: int = LOG_LINES
    tail_lines: int = TAIL_LINES
    tail_chars: int = TAIL_CHARS


class OutputReader(threading.Thread):
    """Reads a stream (a pipe's read end) to its end into a bounded tail and to logging."""

    def __init__(self, fd: int, log: OutputLog, label: str) -> None:
        super().__init__(name=f"output of {label}"[:60], daemon=True)
        self._fd, self._log, self._label = fd, log, label
        self._tail: collections.deque[str] = collections.deque(maxlen=log.tail_lines)
        self._lock = threading.Lock()
        self._in_line = False  # the last piece read did not end its line
        self._logged = self._skipped = 0

    def run(self) -> None:
        with open(self._fd, "rb") as stream:
            for piece in iter(lambda: stream.readline(_CHUNK), b""):
                self._add(piece)
        if self._skipped:
            self._emit(f"... {self._skipped} more lines not logged")

    def _add(self, piece: bytes) -> None:
        text = piece.decode(errors="replace").rstrip("\r\n")
        chars = self._log.tail_chars
        with self._lock:
            if self._in_line:  # a long line's next piece: it only extends the tail
                self._tail[-1] = (self._tail[-1] + text)[-chars:]
            else:
                self._tail.append(text[-chars:])
        if not self._in_line:
            if self._logged < self._log.max_lines:
                self._logged += 1
                cut = " [cut]" if len(text) > LOG_LINE_CHARS else ""  # pieces are longer
                self._emit(text[:LOG_LINE_CHARS] + cut)
            else:
                self._skipped += 1
        self._in_line = not piece.endswith(b"\n")

    def _emit(self, line: str) -> None:
        self._log.logger.log(self._log.level, "%s: %s", self._label, line)

    def tail(self) -> str:
        """The last lines read so far (at most ``tail_lines`` lines and ``tail_chars`` chars)."""
        with self._lock:
            text = "\n".join(self._tail)
        return text.rstrip()[-self._log.tail_chars :]


def file_tail(file: IO[bytes], lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last lines of an output file (opened for reading too), from its last ``chars``
    bytes only; empty if it cannot be read."""
    try:
        size = os.fstat(file.fileno()).st_size
        data = os.pread(file.fileno(), chars, max(0, size - chars))
    except (OSError, ValueError):  # closed, or not a real file
        return ""
    return "\n".join(data.decode(errors="replace").rstrip().splitlines()[-lines:])
