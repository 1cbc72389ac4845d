"""``damaris-ref stats``: statistics over an ensemble of in-situ simulations, end to end.

Starts a local Dask scheduler and one worker to keep the statistics (unless
--scheduler-file names a running cluster), launches K simulations of stats_3dmesh_dask at
the same time (values 1..K, each an MPI job whose servers feed their own Dask workers and add
every iteration's field to statistics they all share), then reads the count, mean and variance,
prints them per chunk with PASS/FAIL against the closed form, plots them, and stops everything
it started.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from damaris_ref.cli.options import add_progress_option
from damaris_ref.cli.run import usable_cores
from damaris_ref.core.arg_types import output_folder

if TYPE_CHECKING:  # imported lazily below: `damaris-ref --help` must stay fast
    from distributed import Client

    from damaris_ref.stats.shared import Summary
    from damaris_ref.stats.workflow import SimulationRun

#: upstream's dataset and lock names, so upstream's reader script reads what the command leaves
STATS_NAME = "dask_client_published_str"
LOCK_NAME = "dask_lock_str"
#: the embedded configuration's global field (DEPTH, HEIGHT, WIDTH)
FIELD_SHAPE = (8, 8, 16)
#: the ranks of all simulations at once may be this many per core without --oversubscribe;
#: twice what ``damaris-ref run`` allows, as these ranks mostly wait on Dask
RANKS_PER_CORE = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stats`` subcommand."""
    parser = subparsers.add_parser(
        "stats",
        help="run K simulations feeding shared running statistics and check them",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "-k",
        "--simulations",
        metavar="K",
        type=int,
        default=4,
        help="simulations, run with -v 1..K (default 4)",
    )
    parser.add_argument(
        "-i", "--iterations", metavar="I", type=int, default=4, help="iterations (default 4)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=2,
        choices=(1, 2, 4, 8),
        help="client ranks per simulation (default 2)",
    )
    parser.add_argument(
        "--cores", type=int, default=1, help="dedicated cores per simulation (default 1)"
    )
    parser.add_argument(
        "-d",
        "--domains",
        type=int,
        default=4,
        choices=(1, 2, 4, 8, 16),
        help="domains (blocks) per client (default 4)",
    )
    parser.add_argument(
        "--scheduler-file",
        metavar="FILE",
        type=Path,
        default=None,
        help="use this running Dask cluster (it needs a worker of its own) instead of a local one",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=output_folder,
        default=Path("damaris-stats"),
        help="folder for logs and the plot (default ./damaris-stats)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=300.0,
        help="time for all simulations together (default 300)",
    )
    parser.add_argument(
        "--oversubscribe",
        action="store_true",
        help=f"start the simulations even when their ranks are more than {RANKS_PER_CORE} per "
        "core of this machine",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the plot")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Run the workflow; exit code 0 only when every simulation ran and the statistics pass."""
    problem = _check(options)
    if problem:
        print(f"damaris-ref stats: error: {problem}", file=sys.stderr)
        return 2
    from damaris_ref.stats.verdict import check_chunks, expected_statistics, print_report
    from damaris_ref.stats.workflow import Ensemble, run_ensemble

    values = tuple(range(1, options.simulations + 1))
    ranks = options.clients + options.cores
    options.out.mkdir(parents=True, exist_ok=True)
    print(
        f"damaris-ref stats: {len(values)} simulations of stats_3dmesh_dask (-v "
        f"{' '.join(map(str, values))}) at once, {options.iterations} iterations each, "
        f"{ranks} ranks ({options.clients} clients x {options.domains} domains, "
        f"{options.cores} dedicated core{'s' if options.cores > 1 else ''})",
        flush=True,
    )
    with _terminate_as_exit(), contextlib.ExitStack() as stack:
        cluster = _cluster(options, stack)
        if cluster is None:
            return 2
        client, scheduler_file = cluster
        from damaris4py.dask.damaris_stats import DaskStats, StatisticsLost

        stats = DaskStats(STATS_NAME, LOCK_NAME)
        stats.reset(client)
        config = _write_config(options, scheduler_file)
        ensemble = Ensemble(config, values, options.iterations, ranks, options.domains)
        runs = run_ensemble(ensemble, options.out, options.timeout, options.progress)
        try:
            summary: Summary | Exception = stats.summary(client)
        except (StatisticsLost, TimeoutError) as unreadable:
            summary = unreadable
    ran = all(r.returncode == 0 and len(r.updates) == options.iterations for r in runs)
    for r in runs:
        status = "stopped at the timeout" if r.returncode is None else f"exit {r.returncode}"
        print(f"simulation -v {r.value}: {status}, {len(r.updates)} updates (log: {r.folder})")
        if r.returncode != 0 and r.stderr_tail:
            print(r.stderr_tail)
    if isinstance(summary, Exception):
        print(f"damaris-ref stats: error: {summary}", file=sys.stderr)
        return 1
    if summary.count == 0:
        print("FAIL: no statistics were published")
        return 1
    expected = expected_statistics(
        values, options.iterations, FIELD_SHAPE, options.clients, options.domains
    )
    passed = print_report(summary, expected, check_chunks(summary, expected))
    if not options.no_plot:
        _plot(summary, runs, options.out)
    return 0 if ran and passed else 1


def _check(options: argparse.Namespace) -> str | None:
    if options.simulations < 1 or options.iterations < 1:
        return "--simulations and --iterations must be at least 1"
    if options.cores < 1 or options.clients % options.cores:
        return f"--cores must be at least 1 and divide --clients ({options.clients})"
    ranks = options.simulations * (options.clients + options.cores)
    cores = usable_cores()
    if ranks > RANKS_PER_CORE * cores and not options.oversubscribe:
        most = RANKS_PER_CORE * cores // (options.clients + options.cores)
        return (
            f"{options.simulations} simulations of {options.clients + options.cores} ranks at "
            f"once are {ranks} ranks on {cores} core(s), more than {RANKS_PER_CORE} per core; "
            f"use -k {most} or fewer, or add --oversubscribe to start them anyway"
        )
    if options.scheduler_file is not None:
        from damaris_ref.dask_bridge.scheduler_file import (
            COMMAND_TIMEOUT,
            SchedulerUnusable,
            check_file,
        )

        try:
            check_file(options.scheduler_file, COMMAND_TIMEOUT)
        except SchedulerUnusable as why:
            return str(why)
    return None


def _cluster(
    options: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[Client, Path] | None:
    """A client of the scheduler to use and its scheduler file, with a worker that outlives
    every simulation (None after an error message when the given cluster has none)."""
    from damaris_ref.dask_bridge.local_scheduler import local_scheduler
    from damaris_ref.dask_bridge.scheduler_file import COMMAND_TIMEOUT, connect_within
    from damaris_ref.dask_bridge.workers import ServerWorker

    if options.scheduler_file is None:
        print("starting a local Dask scheduler and a worker to keep the statistics", flush=True)
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="damaris-stats-"))
        scheduler_file = stack.enter_context(local_scheduler(Path(folder)))
    else:
        print(f"using the Dask cluster of {options.scheduler_file}", flush=True)
        scheduler_file = options.scheduler_file.resolve()
    client = stack.enter_context(connect_within(Path(scheduler_file), COMMAND_TIMEOUT))
    if options.scheduler_file is None:
        keeper = ServerWorker.start(client, "damaris-stats-keeper", 1, keep=False)
        stack.callback(keeper.stop)
    elif not client.scheduler_info(n_workers=-1)["workers"]:
        print(
            f"damaris-ref stats: error: the cluster of {options.scheduler_file} has no worker: "
            "the statistics need one that outlives the simulations (start one with "
            f"`dask worker --scheduler-file {options.scheduler_file}`)",
            file=sys.stderr,
        )
        return None
    return client, Path(scheduler_file)


def _write_config(options: argparse.Namespace, scheduler_file: Path) -> Path:
    """The embedded configuration with this run's dedicated cores and scheduler file."""
    from damaris_ref.core.config import dump_yaml, load_config

    with resources.as_file(resources.files(__package__) / "stats.yml") as path:
        config = load_config(path)
    config = dataclasses.replace(
        config,
        architecture=dataclasses.replace(config.architecture, dedicated_cores=options.cores),
        pyscripts=tuple(
            dataclasses.replace(p, scheduler_file=scheduler_file) for p in config.pyscripts
        ),
    )
    written = options.out / "stats_3dmesh_dask.yml"
    written.write_text(dump_yaml(config))
    return written.resolve()


def _terminate_as_exit() -> contextlib.AbstractContextManager[None]:
    """SIGTERM and Ctrl-C end the command through every clean-up, nothing left running, with
    exit status ``128 + signal`` and no traceback."""
    from damaris_ref.launch.processes import signal_status, stop_signals_handled

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(signal_status(signum))

    return stop_signals_handled(handler)


def _plot(summary: Summary, runs: Sequence[SimulationRun], out: Path) -> None:
    """The picture, if matplotlib is there to draw it."""
    try:
        from damaris_ref.stats.plot import plot_statistics
    except ImportError:
        from damaris_ref.cli.plot_hint import NO_PLOT

        print(NO_PLOT)
        return
    path = plot_statistics(summary, {r.value: r.updates for r in runs}, out / "stats.png")
    print(f"plot written to {path}")
