"""Run one fault of the shared-memory matrix and print how many files /dev/shm then holds.

Meant to run alone in a mount namespace with a private /dev/shm (see
test_shared_memory_leftovers.py): ``python shm_fault_driver.py CASE``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from damaris_ref.launch.shm_files import MPI_PREFIXES, mapped_files

SHM = Path("/dev/shm")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: a rank program: every rank initialises MPI (MPICH then maps its segment) and waits
WAITING = "from mpi4py import MPI; import time; MPI.COMM_WORLD.Barrier(); time.sleep(120)"
ABORTING = (
    "from mpi4py import MPI; c = MPI.COMM_WORLD; c.Barrier()\n"
    "if c.rank == 1: c.Abort(1)\n"
    "import time; time.sleep(120)"
)


def attached(job: subprocess.Popen) -> int:
    """How many processes of ``job``'s tree map a shared-memory file of MPI's."""
    try:
        tree = psutil.Process(job.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    return sum(
        any(path.name.startswith(MPI_PREFIXES) for path in mapped_files([process.pid]))
        for process in tree
    )


def wait_for_ranks(job: subprocess.Popen, ranks: int, timeout: float = 60) -> None:
    """Return once ``ranks`` processes of ``job`` map a segment of MPI's (every rank attached)."""
    deadline = time.monotonic() + timeout
    while attached(job) < ranks:
        if time.monotonic() > deadline:
            raise SystemExit(f"{ranks} ranks did not attach to a shared-memory segment")
        time.sleep(0.1)


def simulation() -> subprocess.Popen:
    """``damaris-ref run`` of the seed simulation, long enough to be stopped mid-run."""
    config = str(EXAMPLES / "3dmesh_py_compact.yml")  # its buffer fits the test's /dev/shm
    command = [sys.executable, "-m", "damaris_ref.cli", "run", "-n", "5", "3dmesh_py", config]
    command += ["-i", "600", "-v", "0", "-s", "1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def launched(program: str) -> subprocess.Popen:
    """``program`` on 3 ranks through the launcher's ``run_job``."""
    argv = [sys.executable, "-c", program]
    code = (
        "import sys; from damaris_ref.launch.launcher import run_job; "
        f"sys.exit(run_job(3, {argv!r}))"
    )
    command = [sys.executable, "-c", code]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def statistics(out: Path) -> subprocess.Popen:
    """``damaris-ref stats``: its scheduler, a worker and 2 simulations of 3 ranks, long."""
    command = [sys.executable, "-m", "damaris_ref.cli", "stats", "-k", "2", "-i", "400"]
    command += ["--no-plot", "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main(case: str) -> None:
    if case in ("SIGTERM", "SIGINT"):
        job = simulation()
        wait_for_ranks(job, 5)
        job.send_signal(getattr(signal, case))
    elif case in ("stats SIGTERM", "stats SIGINT"):
        job = statistics(Path(os.environ.get("TMPDIR", "/tmp")) / f"shm-stats-{os.getpid()}")
        wait_for_ranks(job, 3, timeout=120)  # the first simulation's
        job.send_signal(getattr(signal, case.split()[1]))
    elif case == "SIGKILL of a rank":
        job = launched(WAITING)
        wait_for_ranks(job, 3)
        rank = next(
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit()
            and b"time.sleep(120)" in Path(f"/proc/{pid}/cmdline").read_bytes()
            and b"run_job" not in Path(f"/proc/{pid}/cmdline").read_bytes()
            and b"mpiexec" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        os.kill(rank, signal.SIGKILL)
    elif case == "MPI_Abort":
        job = launched(ABORTING)
    else:
        raise SystemExit(f"unknown case {case!r}")
    _, stderr = job.communicate(timeout=120)
    print(f"exit {job.returncode}")
    print(f"stderr {stderr!r}")
    print(f"left {sorted(p.name for p in SHM.iterdir())}")


if __name__ == "__main__":
    main(sys.argv[1])
