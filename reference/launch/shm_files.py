"""Find the ``/dev/shm`` files a job's processes mapped, and remove them once the job is over.

MPICH keeps each node's shared memory in a file such as ``/dev/shm/mpich_shm_XXXXXX`` and
removes it only when its ranks finish normally: a job stopped by a signal, one rank killed, or
``MPI_Abort`` leaves the file behind (3 to 6 MB each). :class:`SharedMemoryWatch` learns which
files belong to a job by reading, while it runs, the memory maps of the processes of its tree
(``/proc/<pid>/maps``), and once the job has ended removes those no live process maps any
more. A job that ends before it is first looked at is covered too: a file of MPI's that
appeared while the job ran and that no process maps a second after it appeared is an orphan
and goes as well. A file some process still maps is never removed, so concurrent jobs keep
theirs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

SHM_FOLDER = Path("/dev/shm")
#: names of the files MPI libraries keep their shared memory in: MPICH's node segment and the
#: file of a shared window (which it unlinks once mapped, so a job stopped between the two
#: leaves it), Open MPI's sm/vader segments
MPI_PREFIXES = ("mpich_shm_", "mpich_shar_tmp", "sm_segment.", "vader_segment.")
#: seconds between two looks at a running job's memory maps
POLL_SECONDS = 0.25
#: seconds a file must have existed unmapped before it counts as an orphan
ORPHAN_AGE = 1.0


def mapped_files(pids: Iterable[int]) -> set[Path]:
    """The ``/dev/shm`` files that the processes ``pids`` map (those that cannot be read: none)."""
    found = set()
    prefix = f"{SHM_FOLDER}/"
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        for line in maps.splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith(prefix):
                found.add(Path(fields[5].removesuffix(" (deleted)")))
    return found


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


class SharedMemoryWatch:
    """Watches the processes ``members()`` returns (the running processes of a job's tree)
    from :meth:`start` on, until it returns none."""

    def __init__(self, members: Callable[[], Iterable[int]]) -> None:
        self._members = members
        self._seen: set[Path] = set()
        self._started = time.time()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def supported() -> bool:
        """Whether this system has ``/dev/shm`` and ``/proc`` to look at."""
        return SHM_FOLDER.is_dir() and Path("/proc/self/maps").exists()

    def start(self) -> SharedMemoryWatch:
        """Start looking, every :data:`POLL_SECONDS`, in a daemon thread."""
        self._started = time.time()
        self._thread = threading.Thread(target=self._watch, name="shm-watch", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            members = list(self._members())
            if not members:
                return
            self._seen |= mapped_files(members)

    def finish(self) -> list[Path]:
        """Stop looking and remove the job's files that no live process maps; those removed.

        Call it once the whole job has ended (a still-running rank keeps its file).
        """
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        orphans = self._orphans()
        candidates = {p for p in self._seen | orphans if p.exists()}
        if not candidates:
            return []
        in_use = mapped_files(_all_pids())
        removed = []
        for path in sorted(candidates - in_use):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
        return removed

    def _orphans(self) -> set[Path]:
        """MPI's files that appeared since :meth:`start`, once each is :data:`ORPHAN_AGE` old."""
        found = {}
        for path in SHM_FOLDER.iterdir():
            if path.name.startswith(MPI_PREFIXES):
                with contextlib.suppress(OSError):
                    born = path.stat().st_ctime
                    if born >= self._started - 0.01:
                        found[path] = born
        if found:
            youngest = max(found.values())
            time.sleep(max(0.0, youngest + ORPHAN_AGE - time.time()))
        return set(found)
