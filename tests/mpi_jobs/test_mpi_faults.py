"""Failures under ``mpiexec``: the whole job ends by itself with one clear line, or goes on.

A bad config, an impossible layout, a simulation error, a full buffer or any exception outside
a user script must end every rank (a hang is caught by the job timeout, which fails the test)
and name the problem in a ``damaris-ref: fatal error on rank R: ...`` line; errors
every rank hits alike are reported once. An exception inside a user script is reported and
the run goes on. SIGTERM to ``damaris-ref run`` leaves no process of the job behind. A server
slower than its clients makes them wait for buffer space, not fail.
"""

from __future__ import annotations

import re
import select
import signal
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.config.writers import dump_yaml
from damaris_ref.launch.processes import stop_tree

from processes import alive, all_gone, wait_until

#: seconds within which a failure ends a job (twice that, it is taken as hung and the test
#: fails; a hang guard, not a measurement)
PROMPT = 15.0
FATAL = "damaris-ref: fatal error on rank"


def assert_aborted(job, *patterns: str, once: bool) -> None:
    """Non-zero exit; fatal lines matching ``patterns``, exactly one if ``once``."""
    assert job.returncode != 0, job.describe()
    lines = job.fatal_lines
    assert lines, job.describe()
    if once:
        assert len(lines) == 1, job.describe()
    for line in lines:
        for pattern in patterns:
            assert re.search(pattern, line), f"{pattern!r} not in {line!r}"


def seed_job(run_mpi, console_script, ranks: int, config: Path, *extra: str):
    """3dmesh_py on ``ranks`` ranks, three fast iterations."""
    args = [str(config), "-i", "3", "-v", "2", "-r", "-s", "0", *extra]
    return run_mpi(ranks, [console_script("3dmesh_py"), *args], timeout=2 * PROMPT)


def shared_memory_files() -> set[str]:
    """What MPI and the transports keep in /dev/shm (MPICH's segments among them)."""
    folder = Path("/dev/shm")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def assert_ended_cleanly(job, pattern: str, shm_before: set[str]) -> None:
    """An error every rank met alike: exit status 1 (agreed, so no MPI_Abort after the
    deadline), one line from one rank, no traceback, and no shared-memory file left behind."""
    assert job.returncode == 1, job.describe()
    assert len(job.fatal_lines) == 1 and re.search(pattern, job.fatal_lines[0]), job.describe()
    assert "Traceback" not in job.stderr and "MPI_Abort" not in job.stderr, job.describe()

    # MPICH unlinks a job's segment when the job ends cleanly; an abort leaves it for good.
    # Another MPI job on the host may hold one of its own for a moment, so wait for those.
    def left() -> set[str]:
        return {n for n in shared_memory_files() - shm_before if "mpich" in n}

    wait_until(lambda: not left(), timeout=10)
    assert not left(), job.describe()


def test_an_invalid_layout_ends_the_job_with_one_line(seed_config, run_mpi, console_script):
    before = shared_memory_files()
    job = seed_job(run_mpi, console_script, 7, seed_config(cores=2))
    assert_ended_cleanly(job, r"rank 0: ConfigError: dedicated cores must divide clients", before)


def test_an_invalid_config_ends_the_job_with_one_line(seed_config, run_mpi, console_script):
    config = seed_config()
    config.write_text(config.read_text().replace("core: 1", "cores: 1"))
    before = shared_memory_files()
    job = seed_job(run_mpi, console_script, 5, config)
    assert_ended_cleanly(
        job, r"rank 0: ConfigError: .*unknown key 'cores'; did you mean 'core'", before
    )


def test_a_simulation_error_ends_the_job_with_one_line(seed_config, run_mpi, console_script):
    """Only the clients meet it; they stop, so their servers finish and everyone agrees."""
    before = shared_memory_files()
    job = seed_job(run_mpi, console_script, 6, seed_config())  # 5 clients, DEPTH 4
    assert_ended_cleanly(job, r"rank 0: SimulationSetupError: 5 clients but DEPTH is 4", before)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DAMARIS_BUFFER_WAIT", "soon"), ("DAMARIS_SHARED_ERROR_DEADLINE", "-1")],
)
def test_a_bad_run_setting_in_the_environment_ends_the_job_with_one_line(
    seed_config, run_mpi, console_script, variable, value
):
    """Only clients use the buffer wait: read by them alone, a bad value left servers waiting."""
    config = seed_config()
    before = shared_memory_files()
    args = [str(config), "-i", "3", "-v", "2", "-r", "-s", "0"]
    job = run_mpi(
        5, [console_script("3dmesh_py"), *args], env={variable: value}, timeout=2 * PROMPT
    )
    assert_ended_cleanly(
        job, rf"rank 0: ConfigError: environment: {variable}: invalid value '{value}'", before
    )


# Client 1 meets a simulation error while the others wait for it in a barrier: the agreement
# cannot complete, so after its deadline client 1 aborts the job (a real fault, not a hang).
ERROR_ON_CLIENT_1_ONLY = textwrap.dedent(
    """
    import sys
    from damaris_ref.mocks import SIMULATIONS
    from damaris_ref.mocks.base import Simulation, SimulationSetupError
    from damaris_ref import run_mpi_rank
    def client_loop(damaris, args):
        ccomm = damaris.client_comm_get()
        if ccomm.Get_rank() == 1:
            raise SimulationSetupError("only client 1 sees this")
        ccomm.Barrier()

    parser = SIMULATIONS["3dmesh_py"].parser
    sys.exit(run_mpi_rank(Simulation("lonely", parser, client_loop), sys.argv[1:]))
    """
)


def test_an_error_not_shared_by_all_aborts_after_the_deadline(seed_config, run_mpi):
    """The other clients wait in a barrier for ever: only client 1's abort, once its agreement
    found no peers by the deadline, ends the job (that the abort waits for the deadline and
    no longer is tests/test_exit_status.py's)."""
    command = [sys.executable, "-c", ERROR_ON_CLIENT_1_ONLY, str(seed_config())]
    job = run_mpi(5, command, env={"DAMARIS_SHARED_ERROR_DEADLINE": "2"}, timeout=2 * PROMPT)
    assert_aborted(job, r"rank 1: SimulationSetupError: only client 1 sees this", once=True)


def test_bad_arguments_print_usage_once(seed_config, run_mpi, console_script):
    job = run_mpi(5, [console_script("3dmesh_py"), str(seed_config()), "-v", "7"])
    assert job.returncode == 2, job.describe()
    assert job.stderr.count("usage: 3dmesh_py") == 1, job.describe()


# One client writes a block of the wrong shape: an error in the simulation's own code, on one
# rank, while the others go on to their next receive or collective.
WRONG_SHAPE_ON_CLIENT_1 = textwrap.dedent(
    """
    import sys
    import numpy as np
    from damaris_ref.mocks import SIMULATIONS
    from damaris_ref.mocks.base import Simulation
    from damaris_ref import run_mpi_rank
    def client_loop(damaris, args):
        ccomm = damaris.client_comm_get()
        damaris.parameter_set("size", ccomm.Get_size())
        width = 8 if ccomm.Get_rank() == 1 else 16  # the layout needs (1, 8, 16)
        damaris.write("cube_i", np.zeros((1, 8, width), dtype=np.int32))
        damaris.end_iteration()
        ccomm.Barrier()

    parser = SIMULATIONS["3dmesh_py"].parser
    sys.exit(run_mpi_rank(Simulation("wrong_shape", parser, client_loop), sys.argv[1:]))
    """
)


def test_an_error_outside_the_script_on_one_rank_aborts_with_its_rank_in_one_line(
    seed_config, run_mpi
):
    """A DamarisError is the user's to fix, not a bug: its one line is the whole story."""
    command = [sys.executable, "-c", WRONG_SHAPE_ON_CLIENT_1, str(seed_config())]
    job = run_mpi(5, command, timeout=2 * PROMPT)
    assert_aborted(
        job,
        r"rank 1: UsageError: write of variable 'cube_i': got 64 element\(s\)",
        once=True,
    )
    assert "Traceback" not in job.stderr, job.describe()


def generic_config(folder: Path, script: Path, cores: int, elements: int, buffer_size: int) -> Path:
    """A one-node config on ``cores`` dedicated cores with one int variable of ``elements``
    values, written for the ``generic`` mock and ``script``."""
    config = Config(
        "faults",
        Architecture(dedicated_cores=cores, buffer_size=buffer_size),
        layouts=(Layout("line", "int", (str(elements),)),),
        variables=(Variable("v", "line", script="record"),),
        pyscripts=(PyScript("record", script),),
    )
    path = folder / "faults.yml"
    path.write_text(dump_yaml(config))
    return path


GENERIC = (sys.executable, "-m", "damaris_ref.mocks", "generic")


def test_a_script_failing_on_one_server_lets_every_other_iteration_complete(
    tmp_path, run_mpi, recording
):
    config = generic_config(tmp_path, recording.script, cores=2, elements=8, buffer_size=1 << 20)
    job = run_mpi(6, [*GENERIC, str(config), "-i", "3"], env=recording.env(fail_at=(1, 1)))
    assert job.returncode == 0, job.describe()
    assert sorted(recording.load()) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)]
    assert "RuntimeError: mpi_record fails on server 1 at iteration 1" in job.stderr
    assert not job.fatal_lines


def test_a_block_larger_than_a_clients_slice_names_the_buffer_and_its_size(
    seed_config, run_mpi, console_script
):
    # 4 clients share 64 KiB: 16 KiB each, but one block is 1 x 8 x 1024 int32 = 32 KiB (a
    # block larger than the whole buffer is refused when the config is loaded)
    config = seed_config(buffer_size=65536, WIDTH=1024)
    job = seed_job(run_mpi, console_script, 5, config)
    assert_aborted(
        job,
        r"BufferFullError: buffer 'damaris-buffer' \(architecture\.buffer\.size = 65536 "
        r"bytes\) cannot hold a block of 32768 bytes",
        once=False,
    )


def test_a_buffer_leaving_a_client_less_than_a_page_ends_the_job_at_start_with_one_line(
    seed_config, run_mpi, console_script
):
    """Each of the 4 clients would get 8192 // 4 rounded down to pages = 0 bytes, and every
    write would fail with a slice of 0 bytes; the host's client count is known only at run
    time, so the job ends there, at its start."""
    before = shared_memory_files()
    job = seed_job(run_mpi, console_script, 5, seed_config(buffer_size=8192, WIDTH=8))
    assert_ended_cleanly(
        job,
        r"rank 0: ConfigError: .*architecture\.buffer\.size: 8192 bytes split evenly among "
        r"the 4 clients of a node leave each 0 bytes .*at least 16384 bytes",
        before,
    )


def test_a_buffer_larger_than_the_memory_available_ends_the_job_at_start_with_one_line(
    seed_config, run_mpi, console_script
):
    """32 TiB (the schema allows up to 128 TiB): the node's buffer is an anonymous file that
    each client faults in at start-up, so past the memory available the kernel would kill
    ranks; the job ends before anything is allocated."""
    before = shared_memory_files()
    job = seed_job(run_mpi, console_script, 5, seed_config(buffer_size=1 << 45))
    assert_ended_cleanly(
        job,
        r"rank 0: ConfigError: .*architecture\.buffer\.size: the shared buffer "
        r"\(35184372088832 bytes\) does not fit in the memory available, which has \d+ bytes "
        r"free; allowed: at most \d+ bytes per node here",
        before,
    )


# 3000-byte blocks in 8 KiB slices: two iterations fit, the third waits for the server
SLOW_SERVER = {"cores": 1, "elements": 750, "buffer_size": 2 * 8192}


def test_clients_wait_for_a_slow_server_to_free_their_slices(tmp_path, run_mpi, recording):
    config = generic_config(tmp_path, recording.script, **SLOW_SERVER)
    env = {**recording.env(sleep=0.3), "DAMARIS_BUFFER_WAIT": "10"}  # fail fast if never freed
    job = run_mpi(3, [*GENERIC, str(config), "-i", "6"], env=env)
    assert job.returncode == 0, job.describe()
    assert sorted(recording.load()) == [(0, i) for i in range(6)]


def test_without_time_to_wait_the_slow_server_case_is_a_full_buffer(tmp_path, run_mpi, recording):
    """The counterpart of the test above: proof that its clients really had to wait."""
    config = generic_config(tmp_path, recording.script, **SLOW_SERVER)
    env = {**recording.env(sleep=2.0), "DAMARIS_BUFFER_WAIT": "0.2"}
    job = run_mpi(3, [*GENERIC, str(config), "-i", "6"], env=env, timeout=2 * PROMPT)
    assert_aborted(job, r"BufferFullError: .*stayed full for 0\.2 s", once=False)


def test_sigterm_to_damaris_ref_run_tears_the_whole_job_down(
    seed_config, console_script, start_process
):
    args = [str(seed_config(cores=2)), "-i", "100000", "-v", "2", "-r", "-s", "0.2"]
    proc = start_process([console_script("damaris-ref"), "run", "-n", "6", "3dmesh_py", *args])
    try:
        _wait_for_output(proc, "C++    iteration", timeout=30)
        tree = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(tree) >= 7, "mpiexec and its 6 ranks should be running"
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=PROMPT)  # a hang guard: raises if it hangs
        assert proc.returncode == 128 + signal.SIGTERM, stderr
        assert "received SIGTERM, stopping the MPI job" in stderr
        assert all_gone(tree, timeout=5), f"still alive: {[p for p in tree if alive(p)]}"
    finally:
        if proc.poll() is None:
            stop_tree(proc, signal.SIGKILL, 0.0)


def _wait_for_output(proc, text: str, timeout: float) -> None:
    """Read ``proc``'s stdout until ``text`` appears (the job is running by then)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {text!r} within {timeout} s: {seen!r}"
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            line = proc.stdout.readline()
            assert line, f"job ended before printing {text!r}: {proc.stderr.read()}"
            seen += line
