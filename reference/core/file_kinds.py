"""What kind of file system object a path is, in words a message can use."""

from __future__ import annotations

import stat


def file_kind(mode: int) -> str:
    """What an ``os.stat`` mode says a path is: ``a regular file``, ``a FIFO``..."""
    kinds = {
        stat.S_ISREG: "a regular file",
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a file")
