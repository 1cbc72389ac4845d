"""``damaris-ref demo [CONFIG]``: the seed's Dask example end to end, checked, with a plot.

Starts a local Dask scheduler (unless ``--scheduler-file`` names a running one), launches
``3dmesh_py_domains`` on 6 MPI ranks (4 clients, 2 dedicated cores, 4 domains each), where
every server feeds its own Dask worker; CONFIG (the seed's ``3dmesh_dask.yml``, say) replaces
the demo's own config, its pyscripts running the demo's checking script. Per iteration it
checks that the servers' Python sums and the global ``dask.array`` sum equal the simulation's
own total, prints PASS/FAIL, writes a plot, and stops everything it started.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from damaris_ref.core.arg_types import INT32_MAX, integer_in, output_folder
from damaris_ref.demo.report import print_table, read_checks

RANKS = 6
#: seconds the demo's run may take before it is stopped as stuck
RUN_TIMEOUT = 300


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the seed's Dask example end to end and check its sums",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "config",
        nargs="?",
        type=Path,
        default=None,
        help="the Dask example's config in any form (XML, YAML, or the PDI plugin's grammar, "
        "as examples/3dmesh_dask.yml); its pyscripts run the demo's checking script "
        "(default: the demo's own config)",
    )
    parser.add_argument(
        "-i",
        "--iterations",
        type=integer_in(1, INT32_MAX),
        default=3,
        help="iterations, at least 1 (default 3)",
    )
    parser.add_argument(
        "--scheduler-file",
        type=Path,
        default=None,
        help="use this running Dask cluster instead of starting a local scheduler",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the ranks as threads of this process instead of mpiexec",
    )
    parser.add_argument(
        "--out",
        type=output_folder,
        default=Path("damaris-demo"),
        help="folder for results and the plot (default ./damaris-demo)",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the plot")
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Run the demo; exit code 0 only when every iteration passes (2: an unusable
    ``--scheduler-file``, found before anything starts)."""
    from damaris_ref.dask_bridge.local_scheduler import local_scheduler
    from damaris_ref.dask_bridge.scheduler_file import (
        COMMAND_TIMEOUT,
        SchedulerUnusable,
        check_file,
    )

    if options.scheduler_file is not None:
        try:
            check_file(options.scheduler_file, COMMAND_TIMEOUT)
        except SchedulerUnusable as why:
            print(f"damaris-ref demo: error: {why}", file=sys.stderr)
            return 2
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.jsonl").unlink(missing_ok=True)
    print(
        f"damaris-ref demo: 3dmesh_py_domains on {RANKS} ranks (4 clients x 4 domains, "
        f"2 dedicated cores), {options.iterations} iterations",
        flush=True,
    )
    if options.scheduler_file is not None:
        print(f"using the Dask cluster of {options.scheduler_file}", flush=True)
        code = _run_simulation(options, options.scheduler_file)
    else:
        print("starting a local Dask scheduler", flush=True)
        with tempfile.TemporaryDirectory() as folder, local_scheduler(Path(folder)) as file:
            code = _run_simulation(options, file)
    checks = read_checks(options.out / "results.jsonl")
    print_table(checks)
    complete = [c.iteration for c in checks] == list(range(options.iterations))
    if not complete:
        print(
            f"FAIL: expected results for iterations 0..{options.iterations - 1}, "
            f"got {[c.iteration for c in checks]}"
        )
    if checks and not any(c.dask_checked for c in checks):
        print(
            "NOT CHECKED: no Dask scheduler answered, so the global array was never built "
            "(see the warning above); the demo needs a working scheduler"
        )
    if not options.no_plot and checks:
        _plot(checks, options.out)
    return 0 if code == 0 and complete and all(c.passed for c in checks) else 1


def _run_simulation(options: argparse.Namespace, scheduler_file: Path) -> int:
    from damaris_ref.core.config import dump_yaml, load_config

    package = resources.files(__package__)
    with resources.as_file(package / "demo.yml") as demo_path:
        config = load_config(options.config or demo_path)
        # a user's config keeps its data; its pyscripts become the checking script
        script = demo_path.with_name("demo_script.py") if options.config else None
    config = dataclasses.replace(
        config,
        pyscripts=tuple(
            dataclasses.replace(
                p, file=script or p.file, scheduler_file=Path(scheduler_file).resolve()
            )
            for p in config.pyscripts
        ),
    )
    config_file = options.out / "demo.yml"
    config_file.write_text(dump_yaml(config))
    os.environ["DAMARIS_DEMO_OUT"] = str(options.out.resolve())
    argv = [str(config_file), "-i", str(options.iterations), "-d", "4", "-r", "-s", "0"]
    if options.in_process:
        return _in_process(argv)
    from damaris_ref.core.errors import RunError
    from damaris_ref.launch.launcher import run_job

    command = [sys.executable, "-m", "damaris_ref.mocks", "3dmesh_py_domains", *argv]
    try:
        return run_job(RANKS, command, timeout=RUN_TIMEOUT)
    except RunError as error:
        print(f"damaris-ref demo: {error}", file=sys.stderr)
        return 1


def _in_process(argv: list[str]) -> int:
    from damaris_ref.mocks import SIMULATIONS
    from damaris_ref.runtime.in_process import run_in_process

    simulation = SIMULATIONS["3dmesh_py_domains"]
    run_in_process(simulation.rank_main(simulation.parse_args(argv)), RANKS, timeout=RUN_TIMEOUT)
    return 0


def _plot(checks, out: Path) -> None:
    try:
        import numpy as np

        from damaris_ref.demo.plot import plot_demo
    except ImportError:
        from damaris_ref.cli.plot_hint import NO_PLOT

        print(NO_PLOT)
        return
    last = out / f"slice_{checks[-1].iteration}.npy"
    array_slice = np.load(last) if last.is_file() else None
    path = plot_demo(checks, array_slice, checks[-1].chunks, out / "demo.png")
    print(f"plot written to {path}")
