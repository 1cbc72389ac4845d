"""``damaris-ref run``: run a mock simulation and its servers, shaped like ``mpiexec``.

``damaris-ref run -n 6 3dmesh_py examples/3dmesh_py.yml -i 3 -v 2 -r -s 0`` reads like the
``mpiexec`` line it stands for: ranks first, then the simulation and its own arguments
(``--clients C`` instead of ``-n`` derives the rank count from the config's architecture). By
default it launches that MPI job itself (MPICH or Open MPI, found beside this Python);
``--in-process`` runs every rank as a thread of this process instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING

from damaris_ref.core.arg_types import positive_seconds
from damaris_ref.core.errors import DamarisError, RunError
from damaris_ref.mocks import SIMULATIONS, Simulation

if TYPE_CHECKING:
    from damaris_ref.core.config import Architecture

#: an MPI job of more ranks than this many per core needs ``--oversubscribe``
RANKS_PER_CORE = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a mock simulation with its Damaris servers",
        description=(
            "Run a mock simulation on N MPI ranks (clients and servers as the config's "
            "architecture says). Simulations: " + ", ".join(SIMULATIONS)
        ),
    )
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument(
        "-n",
        "--np",
        dest="ranks",
        type=int,
        metavar="N",
        help="number of world ranks (clients + dedicated servers)",
    )
    size.add_argument(
        "--clients",
        type=int,
        metavar="C",
        help="number of clients; the rank count follows from the config's architecture",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every rank as a thread of this process instead of launching mpiexec",
    )
    parser.add_argument(
        "--oversubscribe",
        action="store_true",
        help=f"allow an MPI job of more than {RANKS_PER_CORE} ranks per core of this machine",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="stop the whole job when it has not ended after this many seconds (default 600)",
    )
    parser.add_argument(
        "simulation",
        choices=sorted(SIMULATIONS),
        metavar="SIMULATION",
        help="one of: " + ", ".join(sorted(SIMULATIONS)),
    )
    parser.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="the simulation's own arguments (its config first)",
    )
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Run the simulation; return its exit code (1 with one clear line on failure).

    The simulation's own arguments are parsed here, once, before any rank starts: usage,
    ``--help`` and argument errors are printed once, not by every rank (exit 2, or 0 for help).
    """
    simulation = SIMULATIONS[options.simulation]
    args = simulation.parse_args(options.args)
    pdi_program = getattr(simulation, "reads_pdi_spec", False)
    if options.clients is not None or pdi_program:
        try:
            architecture = _architecture(args.config, pdi_program)
            if options.clients is not None:
                options.ranks = _ranks_for_clients(architecture, options.clients)
        except DamarisError as error:  # a ConfigError: a bad config, or an impossible layout
            return _fail(str(error))
    if options.clients is not None:
        print(f"damaris-ref run: {options.clients} clients -> {options.ranks} ranks", flush=True)
    if options.ranks <= 0:
        return _fail(f"-n must be a positive number of ranks, got {options.ranks}")
    if options.in_process:
        return _run_in_process(simulation, args, options)
    cores = usable_cores()
    if options.ranks > RANKS_PER_CORE * cores and not options.oversubscribe:
        return _fail(
            f"{options.ranks} ranks on {cores} core(s) is more than {RANKS_PER_CORE} per core; "
            f"use at most {RANKS_PER_CORE * cores}, or add --oversubscribe to start them anyway"
        )
    from damaris_ref.launch.launcher import detect_flavour, find_mpiexec, run_job
    from damaris_ref.launch.processes import signal_status

    command = [sys.executable, "-m", "damaris_ref.mocks", options.simulation, *options.args]
    try:
        mpiexec = find_mpiexec()
        status = run_job(options.ranks, command, timeout=options.timeout, mpiexec=mpiexec)
    except RunError as error:
        return _fail(str(error))
    # the launcher's status for a job it stopped because it received SIGINT or SIGTERM
    stopped_here = status in {signal_status(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if status != 0 and not stopped_here:  # a system mpiexec before the venv's: a usual surprise
        print(
            f"damaris-ref run: the MPI job failed (exit status {status}) under {mpiexec} "
            f"({detect_flavour(mpiexec).label}); DAMARIS_MPIEXEC chooses another",
            file=sys.stderr,
        )
    return status


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _architecture(config: str, pdi_program: bool) -> Architecture:
    """The config's architecture. A PDI program's file is read as ``pdi.init`` reads it, so
    its errors come before any rank starts; no file's ``depends_on`` expressions are refused
    here (they size layouts, not ranks; a non-PDI executable still refuses them itself)."""
    from damaris_ref.core.config import load_architecture, load_pdi_file

    return load_pdi_file(config).config.architecture if pdi_program else load_architecture(config)


def _ranks_for_clients(arch: Architecture, clients: int) -> int:
    """World size giving ``clients`` clients under ``arch``."""
    from damaris_ref.core.topology import world_size_for

    return world_size_for(clients, arch.ranks_per_node, arch.dedicated_cores, arch.dedicated_nodes)


def _run_in_process(
    simulation: Simulation, args: argparse.Namespace, options: argparse.Namespace
) -> int:
    """Run every rank as a thread; a rank's :class:`DamarisError` ends the run with one line
    naming the simulation and the rank (any other is a bug: :func:`damaris_ref.cli.main`)."""
    from damaris_ref.core.config import load_config
    from damaris_ref.runtime.in_process import RankFailed, run_in_process

    try:
        if not getattr(simulation, "reads_pdi_spec", False):  # a PDI program loads its own
            args.config = load_config(args.config)
        run_in_process(simulation.rank_main(args), options.ranks, timeout=options.timeout)
    except RankFailed as failure:
        if not isinstance(failure.error, DamarisError):
            raise
        return _fail(f"{simulation.name}: {failure.error} (rank {failure.rank})")
    except (DamarisError, TimeoutError) as error:
        return _fail(str(error))
    return 0


def _fail(message: str) -> int:
    print(f"damaris-ref: error: {message}", file=sys.stderr)
    return 1
