"""A failing rank must end the whole MPI job quickly with one clear line, never hang it.

Each job below would block forever in a barrier if the failing rank just died, so a non-zero
exit before the job's timeout is the proof that Abort reached every rank."""

from __future__ import annotations

import sys
import textwrap
import threading

import pytest

from damaris_ref.launch.job_abort import AbortingHooks, abort_on_error, fatal_line

from processes import Job, run_mpi


def run_ranks(nranks: int, script: str) -> Job:
    """Run ``script`` on ``nranks`` ranks under mpiexec; a job still running after 30 s fails
    the test and has its whole tree killed."""
    return run_mpi(nranks, [sys.executable, "-c", textwrap.dedent(script)], timeout=30)


@pytest.mark.timeout(60)
def test_context_manager_aborts_all_four_ranks_when_rank_two_raises():
    job = run_ranks(
        4,
        """
        from mpi4py import MPI
        from damaris_ref.launch.job_abort import abort_on_error
        with abort_on_error():
            comm = MPI.COMM_WORLD
            if comm.rank == 2:
                raise ValueError("block P2_B0 has shape (2, 3),\\n expected (4, 3)")
            comm.Barrier()
        """,
    )
    assert job.returncode != 0, job.describe()
    assert job.fatal_lines == [
        "damaris-ref: fatal error on rank 2: ValueError: block P2_B0 has shape (2, 3), "
        "expected (4, 3)"
    ]
    assert "Traceback" in job.stderr


@pytest.mark.timeout(60)
def test_a_damaris_error_aborts_the_job_with_exactly_one_line():
    """What the README quotes: one line, no traceback (the message says what to fix) and none
    of MPI's own abort notice."""
    job = run_ranks(
        3,
        """
        from mpi4py import MPI
        from damaris_ref.core.errors import RunError
        from damaris_ref.launch.job_abort import abort_on_error
        with abort_on_error():
            comm = MPI.COMM_WORLD
            if comm.rank == 1:
                raise RunError("the server of client 1 went away")
            comm.Barrier()
        """,
    )
    assert job.returncode != 0, job.describe()
    assert job.stderr.splitlines() == [
        "damaris-ref: fatal error on rank 1: RunError: the server of client 1 went away"
    ], job.describe()


@pytest.mark.timeout(60)
def test_installed_hooks_cover_the_main_thread():
    job = run_ranks(
        3,
        """
        from mpi4py import MPI
        from damaris_ref.launch.job_abort import AbortingHooks
        AbortingHooks().install()
        if MPI.COMM_WORLD.rank == 1:
            raise KeyError("cube_i")
        MPI.COMM_WORLD.Barrier()
        """,
    )
    assert job.returncode != 0, job.describe()
    assert job.fatal_lines == ["damaris-ref: fatal error on rank 1: KeyError: 'cube_i'"]


@pytest.mark.timeout(60)
def test_abort_on_error_covers_other_threads_while_the_block_runs():
    job = run_ranks(
        2,
        """
        import threading
        from mpi4py import MPI
        from damaris_ref.launch.job_abort import abort_on_error
        def receiver():
            raise RuntimeError("lost the notice stream")
        with abort_on_error():
            if MPI.COMM_WORLD.rank == 0:
                threading.Thread(target=receiver).start()
            MPI.COMM_WORLD.recv(source=MPI.ANY_SOURCE)  # nobody sends: only an abort ends this
        """,
    )
    assert job.returncode != 0, job.describe()
    assert job.fatal_lines == [
        "damaris-ref: fatal error on rank 0: RuntimeError: lost the notice stream"
    ]


@pytest.mark.timeout(60)
def test_normal_exit_and_exit_zero_do_not_abort():
    job = run_ranks(
        2,
        """
        import sys
        from mpi4py import MPI
        from damaris_ref.launch.job_abort import abort_on_error
        with abort_on_error():
            MPI.COMM_WORLD.Barrier()
            print("done", MPI.COMM_WORLD.rank, flush=True)
            sys.exit(0)
        """,
    )
    assert job.returncode == 0, job.describe()
    assert job.stdout.count("done") == 2
    assert not job.fatal_lines


def test_hooks_are_restored_after_the_scope_and_a_foreign_hook_is_kept():
    before = sys.excepthook, threading.excepthook
    with AbortingHooks():
        assert sys.excepthook is not before[0]
        assert threading.excepthook is not before[1]
    assert (sys.excepthook, threading.excepthook) == before

    def foreign(_args: threading.ExceptHookArgs) -> None: ...

    hooks = AbortingHooks()
    hooks.install()
    threading.excepthook = foreign  # set by someone else while the hooks were installed
    try:
        hooks.restore()
        assert sys.excepthook is before[0]
        assert threading.excepthook is foreign
    finally:
        threading.excepthook = before[1]


def test_abort_on_error_restores_the_hooks_on_a_clean_exit():
    before = sys.excepthook, threading.excepthook
    with abort_on_error():
        pass
    assert (sys.excepthook, threading.excepthook) == before


def test_fatal_line_formats():
    assert (
        fatal_line(3, SystemExit(2)) == "damaris-ref: fatal error on rank 3: exited with status 2"
    )
    assert (
        fatal_line(0, KeyboardInterrupt())
        == "damaris-ref: fatal error on rank 0: KeyboardInterrupt"
    )
    assert fatal_line(None, OSError("a\n  b")) == "damaris-ref: fatal error on rank ?: OSError: a b"
