"""Start an MPI job under ``mpiexec`` and make sure it ends, whatever happens to it.

Both MPI libraries that ship as PyPI wheels are supported: MPICH (Hydra's ``mpiexec``) and
Open MPI (PRRTE's ``mpiexec``). They differ in what they need on a laptop or in a container:
Open MPI refuses more ranks than cores without ``--oversubscribe`` (which Hydra rejects) and
refuses to run as root without two environment variables.

Teardown does not trust ``mpiexec`` alone: both launchers start every rank in a process group
of its own, so signalling the launcher's group misses the ranks. The job is therefore started
and stopped through :mod:`damaris_ref.launch.processes`, which finds every descendant (by tree,
and by an environment token the ranks inherit), signals them all, and kills those that outlive a
grace period: a stopped or timed-out job, or one whose caller died, leaves no process behind.
"""

from __future__ import annotations

import enum
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from damaris_ref.core.errors import RunError
from damaris_ref.launch import processes

#: environment variable naming the mpiexec to use (a path or a name looked up in PATH)
MPIEXEC_ENV = "DAMARIS_MPIEXEC"
#: what Open MPI needs before it runs as root
OPEN_MPI_ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
#: keeps Open MPI's UCX one-sided component away from shared-memory windows: without a UCX
#: device (containers, laptops) it prints an "Error:" line on every rank at Allocate_shared
OPEN_MPI_ENV = {"OMPI_MCA_osc": "^ucx"}


class MpiFlavour(enum.StrEnum):
    """The two launcher families, told apart by ``mpiexec --version``."""

    MPICH = "mpich"
    OPEN_MPI = "openmpi"

    @property
    def label(self) -> str:
        """The library's own name, for messages."""
        return "MPICH" if self is MpiFlavour.MPICH else "Open MPI"


@dataclass(frozen=True)
class LaunchCommand:
    """What to execute: the full argv and default variables for the job's environment."""

    argv: tuple[str, ...]
    env: Mapping[str, str]


def find_mpiexec() -> str:
    """Return the ``mpiexec`` to use: ``$DAMARIS_MPIEXEC``, else the one installed beside
    this Python (a venv with an MPI wheel), else the first on ``PATH``."""
    chosen = os.environ.get(MPIEXEC_ENV)
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise RunError(
                f"{MPIEXEC_ENV}={chosen!r} is not an executable file or a command on PATH"
            )
        return found
    # not resolved: a venv's python is a symlink out of the venv, and mpiexec lives in the venv
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise RunError(
            "no mpiexec found (looked at $DAMARIS_MPIEXEC, beside "
            f"{sys.executable} and on PATH); install an MPI library, for example "
            "the mpich wheel (`pip install mpich`), or set DAMARIS_MPIEXEC"
        )
    return found


def flavour_from_version_text(text: str) -> MpiFlavour:
    """Tell the launcher family from the output of ``mpiexec --version``."""
    if any(mark in text for mark in ("Open MPI", "OpenRTE", "PRRTE", "PMIx Reference RunTime")):
        return MpiFlavour.OPEN_MPI
    if any(mark in text for mark in ("HYDRA", "Hydra", "MPICH")):
        return MpiFlavour.MPICH
    first = text.strip().splitlines()[0] if text.strip() else "(no output)"
    raise RunError(
        f"cannot tell which MPI this mpiexec belongs to (its --version says: {first}); "
        "supported are MPICH/Hydra and Open MPI, choose one with DAMARIS_MPIEXEC"
    )


@functools.cache
def detect_flavour(mpiexec: str) -> MpiFlavour:
    """Run ``mpiexec --version`` once per path and tell its flavour."""
    try:
        done = subprocess.run(
            [mpiexec, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"could not run {mpiexec} --version: {exc}") from exc
    return flavour_from_version_text(done.stdout + done.stderr)


def build_command(
    nranks: int,
    command: Sequence[str],
    *,
    mpiexec: str,
    flavour: MpiFlavour,
    as_root: bool | None = None,
    rank_output: Path | None = None,
) -> LaunchCommand:
    """Build the argv and the default environment that run ``command`` on ``nranks`` ranks.

    ``as_root`` defaults to whether this process runs as root. With ``rank_output``, each
    rank's stdout goes to a file of its own in that folder (read back with
    :func:`read_rank_output`) instead of the launcher's merged stream.
    """
    if nranks < 1:
        raise ValueError(f"an MPI job needs at least one rank, got {nranks}")
    if not command:
        raise ValueError("no command to run under mpiexec")
    if as_root is None:
        as_root = os.geteuid() == 0
    argv = [mpiexec, "-n", str(nranks)]
    env: dict[str, str] = {}
    if flavour is MpiFlavour.OPEN_MPI:
        argv.append("--oversubscribe")  # tests and laptops run more ranks than cores
        env.update(OPEN_MPI_ENV)
        if as_root:
            env.update(OPEN_MPI_ROOT_ENV)
    if rank_output is not None:
        if flavour is MpiFlavour.OPEN_MPI:  # <folder>/<job>/rank.<r>/stdout
            argv += ["--output-filename", str(rank_output)]
        else:  # <folder>/stdout.<r>
            argv += ["-outfile-pattern", str(rank_output / "stdout.%r")]
    return LaunchCommand(argv=(*argv, *command), env=env)


def read_rank_output(folder: Path) -> dict[int, str]:
    """``{rank: stdout}`` of a job started with ``build_command(rank_output=folder)``.

    Lines of one rank are never mixed with another's here, as they can be in a merged stream.
    """
    files = {int(p.suffix[1:]): p for p in folder.glob("stdout.*") if p.suffix[1:].isdigit()}
    for path in folder.glob("*/rank.*/stdout"):
        files[int(path.parent.name.removeprefix("rank."))] = path
    return {rank: files[rank].read_text(errors="replace") for rank in sorted(files)}


def run_job(
    nranks: int,
    command: Sequence[str],
    *,
    timeout: float | None = None,
    grace: float = processes.DEFAULT_GRACE,
    mpiexec: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``command`` on ``nranks`` ranks and return the job's exit code.

    The job runs in a session of its own. SIGINT or SIGTERM received meanwhile (when called from the
    main thread) stops it with SIGTERM and one line saying so; after a timeout it gets SIGTERM too.
    Either way it is SIGKILLed if anything of it is still alive ``grace`` seconds later; if this
    process dies, the job is stopped all the same (see :mod:`damaris_ref.launch.processes`). A job
    ended by a forwarded signal returns ``128 + signal``; a timeout raises a
    :class:`~damaris_ref.core.errors.RunError` (its ``timeout`` set) once the job is gone. ``env``
    replaces ``os.environ`` as the base environment; its variables win over the launcher's defaults
    (:attr:`LaunchCommand.env`).
    """
    exe = mpiexec or find_mpiexec()
    launch = build_command(nranks, command, mpiexec=exe, flavour=detect_flavour(exe))
    child_env = {**launch.env, **(os.environ if env is None else env)}
    job = processes.start(launch.argv, env=child_env)
    try:
        with _signals_raise_in_main_thread():
            returncode = job.wait(timeout)
    except subprocess.TimeoutExpired:
        stop_job(job, signal.SIGTERM, grace)
        assert timeout is not None  # only a timeout makes wait() raise this
        raise RunError(
            f"MPI job did not finish within {timeout:g} s and was stopped: {' '.join(launch.argv)}",
            command=launch.argv,
            timeout=timeout,
        ) from None
    except _ForwardedSignal as received:
        print(
            f"damaris-ref: received {signal.Signals(received.signum).name}, stopping the MPI job "
            f"of {nranks} ranks ({' '.join(command)})",
            file=sys.stderr,
            flush=True,
        )
        # SIGTERM even for a Ctrl-C: SIGINT would raise KeyboardInterrupt in every rank, and
        # each would print its traceback and abort (57 lines for one Ctrl-C)
        stop_job(job, signal.SIGTERM, grace)
        return processes.signal_status(received.signum)
    except BaseException:
        stop_job(job, signal.SIGKILL, 0.0)
        raise
    return processes.shell_status(returncode)


class _ForwardedSignal(BaseException):
    """Raised in the main thread by the SIGINT/SIGTERM handler to leave ``Popen.wait``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _signals_raise_in_main_thread() -> AbstractContextManager[None]:
    """Turn SIGINT/SIGTERM into :class:`_ForwardedSignal` while the job runs.

    Handlers can only be set from the main thread; elsewhere this does nothing. Raising (rather
    than stopping the job inside the handler) keeps the blocking teardown out of the handler,
    where ``Popen.wait`` would deadlock on its own lock.
    """

    def handler(signum: int, _frame: object) -> None:
        raise _ForwardedSignal(signum)

    return processes.stop_signals_handled(handler)


def stop_job(job: processes.Child, signum: int, grace: float) -> None:
    """Send ``signum`` to the job's whole tree, then SIGKILL whatever outlives ``grace`` s.

    The tree is found by its environment token too, so ranks that left the launcher's tree
    are stopped as well. SIGINT and SIGTERM are ignored meanwhile (in the main thread).
    """
    # a second Ctrl-C must not abandon the teardown half way
    with processes.stop_signals_handled(signal.SIG_IGN):
        job.stop(signum, grace)
