"""What the Dask tests share: configs, MPI runs of the generic mock, and leftover checks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from distributed import Client

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.config.writers import dump_yaml
from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process

from processes import live_commands, wait_until

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
#: the environment variable that tells test pyscripts where to write what they saw
OUT_ENV = "DAMARIS_TEST_OUT"
JOB_TIMEOUT = 60.0
#: 4 ranks as 2 emulated nodes of one client and one dedicated core: 2 servers, 2 workers
TWO_SERVERS = Architecture(dedicated_cores=1, ranks_per_node=2)
#: one int variable of 4 x 8 values per block, for pyscript ``probe``
FIELD = ((Layout("l", "int", ("4", "8")),), (Variable("field", "l", script="probe"),))
WORKER_FLAG = "distributed.cli.dask_worker"


def unique_name(stem: str) -> str:
    """A simulation name no other test (or concurrent run on this host) uses."""
    return f"{stem}{uuid.uuid4().hex[:8]}"


def dask_config(
    name: str,
    script: Path,
    scheduler_file: Path | str | None,
    layouts: tuple[Layout, ...],
    variables: tuple[Variable, ...],
    architecture: Architecture,
    **pyscript: object,
) -> Config:
    """A config whose variables all go to one pyscript ``probe`` using ``scheduler_file``."""
    return Config(
        name,
        architecture,
        layouts=layouts,
        variables=variables,
        pyscripts=(
            PyScript(
                "probe",
                script,
                scheduler_file=None if scheduler_file is None else Path(scheduler_file),
                **pyscript,
            ),
        ),
    )


@contextlib.contextmanager
def own_scheduler(folder: Path) -> Iterator[tuple[Path, Client]]:
    """A scheduler for one test alone (to pause it, or leave it with no worker) and a client of
    it that is not the process's default one."""
    with (
        local_scheduler(folder) as scheduler_file,
        Client(scheduler_file=str(scheduler_file), timeout=30, set_as_default=False) as client,
    ):
        yield scheduler_file, client


def write_config(config: Config, folder: Path) -> Path:
    """Write ``config`` as YAML into ``folder``; return the file."""
    path = folder / f"{config.simulation_name}.yml"
    path.write_text(dump_yaml(config))
    return path


def run_mpi(
    ranks: int,
    simulation: str,
    *args: str,
    cwd: Path,
    timeout: float = JOB_TIMEOUT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``damaris-ref run -n RANKS SIMULATION ARGS...`` under mpiexec in ``cwd``, output captured.

    Test pyscripts write what they saw into ``cwd`` (also passed as ``$DAMARIS_TEST_OUT``);
    ``env`` adds variables to the job's environment.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "damaris_ref.cli",
        "run",
        "--timeout",
        str(timeout),
        "-n",
        str(ranks),
        simulation,
        *args,
    ]
    env = {**os.environ, **(env or {}), OUT_ENV: str(cwd), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )


def run_generic(
    ranks: int, config: Path, iterations: int, out: Path
) -> subprocess.CompletedProcess:
    """The generic mock on ``ranks`` MPI ranks for ``iterations``; pyscripts write into ``out``."""
    return run_mpi(ranks, "generic", str(config), "-i", str(iterations), cwd=out)


def run_generic_in_process(
    config: Config,
    ranks: int,
    iterations: int,
    after_serving: Callable[[], None] | None = None,
) -> None:
    """The generic mock on ``ranks`` thread-ranks of this process (servers included).

    ``after_serving`` runs on each server rank's thread once ``start()`` returns there, that
    is after the server stopped (and closed its Dask session). Test pyscripts read
    ``$DAMARIS_TEST_OUT`` from this process's environment.
    """
    simulation = SIMULATIONS["generic"]
    args = simulation.parse_args(["in-memory", "-i", str(iterations)])
    args.config = config
    rank_main = simulation.rank_main(args)

    def observed_rank(damaris: Any, comm: Any) -> Any:
        serve = damaris.start

        def start() -> bool:
            is_client = serve()
            if not is_client and after_serving is not None:
                after_serving()
            return is_client

        damaris.start = start
        return rank_main(damaris, comm)

    run_in_process(observed_rank, ranks, timeout=JOB_TIMEOUT)


def workers_named(client: Client, prefix: str) -> dict[str, dict]:
    """The scheduler's workers whose name starts with ``prefix``: {name: info}."""
    found = {}
    for info in client.scheduler_info(n_workers=-1)["workers"].values():
        name = str(info.get("name"))
        if name.startswith(prefix):
            found[name] = info
    return found


def worker_processes(prefix: str) -> dict[int, str]:
    """Live ``dask_worker`` processes whose ``--name`` starts with ``prefix``: {pid: name}."""
    found = {}
    for pid, argv in live_commands().items():
        if WORKER_FLAG not in argv:
            continue
        names = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--name"]
        if names and names[0].startswith(prefix):
            found[pid] = names[0]
    return found


def assert_no_workers_left(client: Client, simulation: str) -> None:
    """Neither the scheduler nor this host has a worker of ``simulation`` any more."""
    prefix = f"{simulation}_"
    listed = wait_until(lambda: not workers_named(client, prefix))
    assert listed, f"workers still on the scheduler: {sorted(workers_named(client, prefix))}"
    running = wait_until(lambda: not worker_processes(prefix))
    assert running, f"worker processes still running: {worker_processes(prefix)}"


def worker_gone(server: int, iteration: int, name: str, how: str) -> str:
    """What ``server`` says at ``iteration`` once server 1's worker has ended ``how``: server 1
    saw its process end as it handed over its blocks, or server 0 found the worker gone as it
    leased them (its slot, or its node reader where it reads blocks in place), whichever came
    first; either way naming that worker."""
    worker = rf"{name}_\d+_1"
    return (
        rf"^\[S{server} I{iteration}\] \S*DaskError: global_array\('field'\) failed at "
        rf"iteration {iteration}: (server 1 sending its blocks to worker '{worker}': "
        rf"RuntimeError: the worker process ended \({how}|server 0 building the array: "
        rf"SlotLost: .* in damaris-{worker}-(\d+-slot\d+|node-reader) were on their worker "
        r"\S+, which has left)"
    )
