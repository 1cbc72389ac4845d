"""Start child processes, wait for them with deadlines, and stop their whole tree.

Every process the project starts goes through here (the MPI launcher, the ensemble runner,
the Dask scheduler and workers, the conformance suite's commands), so that three guarantees
hold in one place:

- **Bounded output.** A captured stderr is read by a thread into a bounded tail and to
  logging, line by line up to a cap (:mod:`damaris_ref.launch.process_output`). A 50 MB stderr
  costs kilobytes.
- **The whole tree stops.** :meth:`Child.stop` signals the child, its process group and every
  descendant, waits a grace period, then SIGKILLs what is left. Descendants are found by tree
  (psutil) and by a token in the environment variable :data:`TREE_ENV`, which every
  descendant inherits: a grandchild in a session of its own, or one re-parented after its
  parent died, is found too. psutil checks each process's start time, so a reused pid is
  never signalled.
- **No shared memory is left.** While a child runs, the ``/dev/shm`` files its tree maps are
  noted; once it has ended (:meth:`Child.wait`, :meth:`Child.stop`), those no live process
  maps are removed: MPI's segments of a job stopped by a signal or ``MPI_Abort``
  (:mod:`damaris_ref.launch.shm_files`).
- **Nothing outlives its parent.** Children started with ``die_with_parent=True`` are stopped,
  with their trees, by a watcher process (:mod:`damaris_ref.launch.process_watcher`, one per parent
  process, started on first use) as soon as this process ends, however it ends: SIGTERM,
  SIGKILL or a crash. It costs nothing per child: the watcher learns of the parent's death
  from the end of a pipe and finds the children by their token.

It is safe to use from threads: nothing runs between fork and exec (no ``preexec_fn``, which
the subprocess documentation calls unsafe with threads); sessions come from Popen's own
``start_new_session``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Literal, TypeVar

import psutil

from damaris_ref.core.errors import RunError
from damaris_ref.core.polling import PROCESS_POLL, poll_until
from damaris_ref.launch.process_output import OutputLog, OutputReader, file_tail
from damaris_ref.launch.shm_files import SharedMemoryWatch

__all__ = [
    "DEFAULT_GRACE",
    "TREE_ENV",
    "Child",
    "OutputLog",
    "ProcessError",
    "become_subreaper",
    "describe_exit",
    "find_tagged",
    "shell_status",
    "signal_status",
    "start",
    "stop_processes",
    "stop_tree",
    "watch_shared_memory",
]

T = TypeVar("T")

#: environment variable holding the tokens of the children a process descends from
TREE_ENV = "DAMARIS_REF_PROCESS_TREE"
#: seconds a stopped tree gets between the polite signal and SIGKILL
DEFAULT_GRACE = 5.0
#: seconds to wait for a captured stream's last bytes once its process has ended
DRAIN_SECONDS = 5.0
_PR_SET_CHILD_SUBREAPER = 36

Target = int | IO[bytes] | None
Captured = Literal["log"]


def signal_status(signum: int) -> int:
    """The exit status a shell reports for a process ended by signal ``signum``: 128 + signum."""
    return 128 + signum


#: the signals a person (Ctrl-C) or a batch system stops a command with
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals_handled(handler: Callable[[int, object], object] | int) -> Iterator[None]:
    """SIGINT and SIGTERM go to ``handler`` (a function, or ``signal.SIG_IGN``) inside the
    ``with`` block, and back to their previous handlers after it. Only the main thread may
    set handlers; in any other this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def shell_status(returncode: int) -> int:
    """A ``Popen`` return code as a shell reports it: ``-N`` (ended by signal N) becomes
    ``128 + N``; an exit code stays as it is."""
    return signal_status(-returncode) if returncode < 0 else returncode


def describe_exit(returncode: int) -> str:
    """Say how a process ended: ``exit code 3`` or ``killed by signal SIGKILL (-9)``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {name} ({returncode})"
    return f"exit code {returncode}"


#: the earlier name of this module's error: a deprecated alias, kept for one release
ProcessError = RunError


class Child:
    """A started process: wait for it, read its output's tail, stop its whole tree."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        label: str,
        token: str,
        reader: OutputReader | None,
        output_file: IO[bytes] | None,
        shared_memory: SharedMemoryWatch | None = None,
    ) -> None:
        self.popen = popen
        self.label = label
        self.token = token
        self._reader = reader
        self._output_file = output_file
        self._shared_memory = shared_memory

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once reaped (``-N``: ended by signal N), else None."""
        return self.popen.returncode

    def poll(self) -> int | None:
        """The exit status if the child ended, else None."""
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end (``subprocess.TimeoutExpired`` after ``timeout`` s), then
        for its tree, and remove the ``/dev/shm`` files the tree left."""
        returncode = self.popen.wait(timeout)
        self._release_shared_memory()
        return returncode

    def _release_shared_memory(self) -> None:
        """Once every process of the tree has ended (at most ``DEFAULT_GRACE`` s after the
        child), remove the shared-memory files it left (:mod:`damaris_ref.launch.shm_files`)."""
        watch = self._shared_memory
        if watch is None:
            return

        def tree_ended() -> bool:
            return not any(_running(p) for p in find_tagged(lambda ts: self.token in ts))

        # a signal may interrupt the wait (a Ctrl-C raising in the main thread): the watch then
        # stays, so that the stop that follows still removes the files
        poll_until(tree_ended, DEFAULT_GRACE, PROCESS_POLL)
        self._shared_memory = None
        watch.finish()

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait until the captured output is read to its end, at most ``timeout`` s.

        The end comes when every process holding the stream has ended; a descendant still
        holding it is waited for no longer than ``timeout``.
        """
        if self._reader is not None:
            self._reader.join(timeout)

    def output_tail(self) -> str:
        """The last lines of the captured output (or of the output file it was given)."""
        if self._reader is not None:
            return self._reader.tail()
        return file_tail(self._output_file) if self._output_file is not None else ""

    def wait_ready(self, ready: Callable[[], T | None], timeout: float) -> T:
        """Poll ``ready()`` until it returns a true value and return that value.

        If the child ends first, or ``timeout`` s pass, stop its tree and raise
        :class:`~damaris_ref.core.errors.RunError` saying which, with the tail of its output.
        """
        answers: list[T] = []

        def answered() -> bool:
            value = ready()
            if value:
                answers.append(value)
            return bool(value) or self.poll() is not None

        if poll_until(answered, timeout, PROCESS_POLL) and answers:
            return answers[0]
        ended = self.poll()
        self.stop()
        why = f"ended ({describe_exit(ended)})" if ended is not None else ""
        message = f"{self.label} did not start: it {why or f'was not ready within {timeout:g} s'}"
        detail = self.output_tail()
        raise RunError(f"{message}:\n{detail}" if detail else message)

    def stop(self, signum: int = signal.SIGTERM, grace: float = DEFAULT_GRACE) -> int:
        """Stop the child and its whole tree (see :func:`stop_tree`); return its exit status."""
        stop_tree(self.popen, signum, grace, self.token)
        self.drain()
        returncode = self.popen.wait()
        self._release_shared_memory()
        return returncode


# --- tokens, and the watcher that stops die-with-parent children when this process ends ------


class _Owner:
    """This process's token prefix and watcher; renewed in a forked child."""

    def __init__(self) -> None:
        self._renew()

    def _renew(self) -> None:
        """A fresh token prefix, and no watcher yet."""
        self.prefix = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.serial = itertools.count(1)
        self.lock = threading.Lock()
        self.watcher_pid: int | None = None
        self.watcher_fd: int | None = None  # write end of the pipe the watcher reads

    def token(self, die_with_parent: bool) -> str:
        """A new child's token; ``:d`` marks those the watcher stops."""
        return f"{self.prefix}:{'d' if die_with_parent else 'k'}{next(self.serial)}"

    def ensure_watcher(self) -> None:
        """Start the watcher unless it runs (it is restarted if someone killed it)."""
        with self.lock:
            if self.watcher_pid is not None and not _reaped(self.watcher_pid):
                return
            if self.watcher_fd is not None:
                os.close(self.watcher_fd)
            read_end, self.watcher_fd = os.pipe()  # both close-on-exec
            try:
                self.watcher_pid = os.posix_spawn(
                    sys.executable,
                    [
                        sys.executable,
                        "-m",
                        "damaris_ref.launch.process_watcher",
                        self.prefix + ":d",
                    ],
                    os.environ,
                    file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0)],
                    setpgroup=0,  # out of our group: a Ctrl-C meant for us does not stop it
                )
            finally:
                os.close(read_end)

    def forget_in_forked_child(self) -> None:
        """A forked child must not keep our watcher's pipe open, nor share our tokens."""
        if self.watcher_fd is not None:
            os.close(self.watcher_fd)
        self._renew()


def _reaped(pid: int) -> bool:
    """Reap ``pid`` if it ended; whether it is gone."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


_OWNER = _Owner()
os.register_at_fork(after_in_child=lambda: _OWNER.forget_in_forked_child())
_subreaper = False


def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``).

    Re-parented descendants then stay in this process's tree, so :func:`stop_tree` looks for
    tokens among this process's descendants only. It is process-wide state (orphans become our
    zombies until reaped), so only entry points that own their process call it, never library
    code. Returns whether the platform allowed it.
    """
    global _subreaper
    if sys.platform == "linux":
        import ctypes  # only here: it costs an import that every other caller would pay

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


# --- starting -----------------------------------------------------------------------------


def start(
    argv: Sequence[str],
    *,
    stdin: Target = None,
    stdout: Target | Captured = None,
    stderr: Target | Captured = None,
    log: OutputLog | None = None,
    label: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    new_session: bool = True,
    die_with_parent: bool = True,
) -> Child:
    """Start ``argv``; ``"log"`` as ``stdout`` or ``stderr`` captures it into ``log``.

    ``stdin``, ``stdout`` and ``stderr`` take what ``subprocess.Popen`` takes. Captured
    streams (both into one pipe when both are ``"log"``) are read by a thread into a bounded
    tail and to ``log`` (by default this module's logger, level WARNING), each line prefixed
    with ``label`` (by default the command) and the pid. ``env`` replaces ``os.environ``. The
    child gets a session of its own unless ``new_session`` is false, and is stopped with its
    tree when this process ends if ``die_with_parent``. Raises OSError when the program cannot
    be started.
    """
    label = label or " ".join(argv)
    token = _OWNER.token(die_with_parent)
    child_env = dict(os.environ if env is None else env)
    child_env[TREE_ENV] = f"{child_env.get(TREE_ENV, '')} {token}".lstrip()
    if die_with_parent:
        _OWNER.ensure_watcher()
    read_end = write_end = None
    if "log" in (stdout, stderr):
        read_end, write_end = os.pipe()
    try:
        popen = subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=write_end if stdout == "log" else stdout,
            stderr=write_end if stderr == "log" else stderr,
            env=child_env,
            cwd=cwd,
            start_new_session=new_session,
        )
    except BaseException:
        for fd in (read_end, write_end):
            if fd is not None:
                os.close(fd)
        raise
    reader = None
    if read_end is not None and write_end is not None:
        os.close(write_end)
        policy = log or OutputLog(logging.getLogger(__name__))
        reader = OutputReader(read_end, policy, f"{label}[{popen.pid}]")
        reader.start()
    # a file the caller passed (not a descriptor number, "log" or None) holds the output
    output_file = next((s for s in (stderr, stdout) if not isinstance(s, int | str | None)), None)
    return Child(popen, label, token, reader, output_file, watch_shared_memory(popen.pid))


def watch_shared_memory(pid: int) -> SharedMemoryWatch | None:
    """A watch of the ``/dev/shm`` files that the tree of ``pid`` maps, where there is one."""
    if not SharedMemoryWatch.supported():
        return None
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return None
    return SharedMemoryWatch(lambda: [p.pid for p in _tree(root) if _running(p)]).start()


# --- stopping -----------------------------------------------------------------------------


def _tree(process: psutil.Process) -> set[psutil.Process]:
    """``process`` and its live descendants (empty if it is gone)."""
    try:
        return {process, *process.children(recursive=True)}
    except psutil.Error:
        return set()


def _tokens(process: psutil.Process) -> list[str]:
    """The tree tokens in a process's environment (none if it cannot be read)."""
    try:
        return process.environ().get(TREE_ENV, "").split()
    except psutil.Error:
        return []


def find_tagged(match: Callable[[list[str]], bool]) -> set[psutil.Process]:
    """Processes whose tree tokens satisfy ``match``, with their descendants.

    A subreaper (see :func:`become_subreaper`) looks among its own descendants, elsewhere
    every process of the machine is looked at.
    """
    me = psutil.Process()
    pool: Iterable[psutil.Process] = (
        me.children(recursive=True) if _subreaper else psutil.process_iter()
    )
    found: set[psutil.Process] = set()
    for process in pool:
        if process.pid != me.pid and match(_tokens(process)):
            found |= _tree(process)
    found.discard(me)
    return found


def _running(process: psutil.Process) -> bool:
    """Whether this very process still runs (a zombie has ended)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_processes(
    find: Callable[[], set[psutil.Process]],
    signum: int = signal.SIGTERM,
    grace: float = DEFAULT_GRACE,
    child: subprocess.Popen[bytes] | None = None,
) -> None:
    """Signal what ``find()`` returns, SIGKILL what is left after ``grace`` s, reap our own.

    ``child``, if given, is signalled with its process group and reaped by its Popen (which
    keeps its exit status); while it runs, ``find()`` is asked again at each look, so
    processes it starts meanwhile are caught too. ``grace`` 0 (or SIGKILL) kills at once.
    """
    if grace <= 0:
        signum = signal.SIGKILL
    members = find()
    _signal_all(members, signum, child)

    def ended() -> bool:
        if child is not None and child.poll() is None:
            members.update(find())
            return False
        return not any(map(_running, members))

    if signum == signal.SIGKILL or not poll_until(ended, grace, PROCESS_POLL):
        members.update(find())
        _signal_all(members, signal.SIGKILL, child)
    if child is not None:
        child.wait()  # SIGKILLed if still running: it ends now
    # make sure the rest is gone too (a zombie is: its parent, perhaps init, reaps it)
    others = [m for m in members if child is None or m.pid != child.pid]
    poll_until(lambda: not any(map(_running, others)), DRAIN_SECONDS, PROCESS_POLL)
    _reap_adopted(others)


def _reap_adopted(members: Iterable[psutil.Process]) -> None:
    """Reap those of ``members`` that are our children: orphans adopted by a subreaper."""
    me = os.getpid()
    for process in members:
        with contextlib.suppress(psutil.Error, ChildProcessError):
            if process.ppid() == me:
                os.waitpid(process.pid, os.WNOHANG)


def _signal_all(
    members: Iterable[psutil.Process], signum: int, child: subprocess.Popen[bytes] | None
) -> None:
    if child is not None and child.poll() is None:  # not reaped: its pid is still its own
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signum)  # its group, if it leads one
        child.send_signal(signum)
    for process in members:
        if child is None or process.pid != child.pid:
            with contextlib.suppress(psutil.Error):  # psutil refuses a pid reused meanwhile
                process.send_signal(signum)


def stop_tree(
    popen: subprocess.Popen[bytes],
    signum: int = signal.SIGTERM,
    grace: float = DEFAULT_GRACE,
    token: str | None = None,
) -> int:
    """Stop ``popen``'s process, its process group and all its descendants; reap it.

    Descendants are found by tree and, given the child's ``token``, by environment, so even
    those that left its tree are found. Returns the child's exit status.
    """
    root = psutil.Process(popen.pid) if popen.poll() is None else None

    def find() -> set[psutil.Process]:
        found = _tree(root) if root is not None else set()
        if token is not None:
            found |= find_tagged(lambda tokens: token in tokens)
        return found

    stop_processes(find, signum, grace, popen)
    return popen.wait()
