"""Turn an uncaught error on any rank into a prompt, readable end of the whole MPI job.

Without this, a rank that dies of an exception leaves the others blocked in their next
collective or receive, and the job hangs until someone kills it. Every MPI entry point wraps
its work in :func:`abort_on_error`, or holds :class:`AbortingHooks` installed for as long as
its session lasts (both put the exception hooks back afterwards): the failing rank prints one
summary line, ``damaris-ref: fatal error on rank R: <message>`` (after the traceback when the
error is a bug, not a :class:`~damaris_ref.core.errors.DamarisError` whose message says what to
fix), and calls ``Abort`` so the launcher stops all ranks within seconds. MPI's own notice of
the abort (MPICH's ``Abort(1) on node ...``) is kept out of stderr.

``mpi4py.MPI`` is imported only when an abort actually happens, so importing this module does
not initialise MPI.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from mpi4py import MPI

#: how a fatal line starts, so users and tests can find it among MPI's own messages
FATAL_PREFIX = "damaris-ref: fatal error on rank"
#: seconds between writing the report and aborting, so mpiexec can relay the report
RELAY_PAUSE = 0.1


def fatal_line(rank: int | None, exc: BaseException) -> str:
    """The one-line summary of ``exc`` on world rank ``rank`` (None: unknown, as after
    ``MPI.Finalize``), with the message's whitespace folded to keep it on one line."""
    if isinstance(exc, SystemExit):
        what = f"exited with status {exc.code}"
    else:
        detail = " ".join(str(exc).split())
        what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"{FATAL_PREFIX} {'?' if rank is None else rank}: {what}"


def abort_job(
    exc: BaseException, comm: MPI.Comm | None = None, *, show_traceback: bool = True
) -> NoReturn:
    """Report ``exc`` on stderr and abort every rank of ``comm`` (default COMM_WORLD).

    The report is one line; a traceback comes first when ``show_traceback`` and ``exc`` is a
    bug (neither a :class:`~damaris_ref.core.errors.DamarisError` nor a ``SystemExit``). Output is
    flushed first because ``Abort`` ends the process without Python's shutdown. Importing
    ``mpi4py.MPI`` here initialises MPI if nothing did yet, which ``Abort`` needs; if MPI is
    already finalised there is nothing to abort and the process just exits 1.
    """
    from mpi4py import MPI

    from damaris_ref.core.errors import DamarisError

    rank = None if MPI.Is_finalized() else MPI.COMM_WORLD.Get_rank()
    # One write, then a short pause: Hydra drops whatever it has not relayed when the abort
    # arrives, and a traceback written line by line was seen cut after its first lines.
    report = fatal_line(rank, exc) + "\n"
    if show_traceback and not isinstance(exc, SystemExit | DamarisError):
        report = "".join(traceback.format_exception(exc)) + report
    sys.stdout.flush()
    sys.stderr.write(report)
    sys.stderr.flush()
    time.sleep(RELAY_PAUSE)
    if rank is None:
        raise SystemExit(1)
    forget_shared_memory_files()  # Abort skips the library's own clean-up of them
    _silence_stderr()  # the line above said it all; MPI would add a notice of its own
    (comm if comm is not None else MPI.COMM_WORLD).Abort(1)
    raise SystemExit(1)  # Abort does not return; this only satisfies NoReturn


def forget_shared_memory_files() -> None:
    """Unlink the MPI library's ``/dev/shm`` files this process maps, just before ``Abort``.

    ``MPI_Abort`` ends every rank without the library's own removal of its node segment, so
    a job started with a plain ``mpiexec`` left a file of several MB per abort. The abort
    ends every rank that maps it, so nobody needs the name any more; the mappings themselves
    stay valid until each process ends.
    """
    from damaris_ref.launch.shm_files import MPI_PREFIXES, mapped_files

    for path in mapped_files([os.getpid()]):
        if path.name.startswith(MPI_PREFIXES):
            with contextlib.suppress(OSError):
                path.unlink()


def _silence_stderr() -> None:
    """Point this process's file descriptor 2 at ``/dev/null`` (it is about to end)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    os.dup2(null, 2)
    os.close(null)


class AbortingHooks:
    """Between :meth:`install` and :meth:`restore` (or inside ``with``), an uncaught exception
    in the main thread or in any other thread aborts the job; the hooks found at
    :meth:`install` come back afterwards.

    A thread is covered too because a dead receiver or worker thread hangs the job as surely
    as a dead rank. A ``SystemExit`` in a thread only ends that thread, as usual.
    """

    def __init__(self, comm: MPI.Comm | None = None):
        self._comm = comm
        self._previous: tuple | None = None

    def _main_hook(self, _type: type[BaseException], value: BaseException, _tb: object) -> None:
        abort_job(value, self._comm)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            abort_job(args.exc_value, self._comm)

    def install(self) -> None:
        """Replace both hooks (once; a second call changes nothing)."""
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
            sys.excepthook, threading.excepthook = self._main_hook, self._thread_hook

    def restore(self) -> None:
        """Put back the hooks found at :meth:`install`; a hook someone set since is kept."""
        if self._previous is None:
            return
        main, thread = self._previous
        self._previous = None
        if sys.excepthook == self._main_hook:
            sys.excepthook = main
        if threading.excepthook == self._thread_hook:
            threading.excepthook = thread

    def __enter__(self) -> AbortingHooks:
        self.install()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.restore()


@contextmanager
def abort_on_error(comm: MPI.Comm | None = None) -> Iterator[None]:
    """Abort the job on any exception escaping the block, including KeyboardInterrupt and a
    non-zero ``sys.exit``, or raised in another thread while the block runs; ``sys.exit(0)``
    passes through as a normal exit."""
    with AbortingHooks(comm):
        try:
            yield
        except SystemExit as exc:
            if exc.code in (None, 0):
                raise
            abort_job(exc, comm)
        except BaseException as exc:
            abort_job(exc, comm)
