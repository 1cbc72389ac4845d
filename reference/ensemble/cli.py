"""``damaris-ref ensemble``: run a simulation script over a parameter sweep without writing Python.

Example: ``damaris-ref ensemble mocks/lj_pressure.py --param volume_fraction=0.1,0.2,0.3
--param n_particles=100 --param n_steps=2000``. Prints a table (one row per parameter set, in
order), lists failures on stderr and exits 1 if any task failed; Dask's own traceback-laden
report of each failure is silenced on the cluster it starts. Heavy imports happen only when
the subcommand runs, so ``damaris-ref --help`` stays fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from damaris_ref.cli.options import add_progress_option
from damaris_ref.core.errors import DamarisError, UsageError
from damaris_ref.core.settings import ENSEMBLE_CODEC
from damaris_ref.ensemble.codecs import codec_names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ensemble`` subcommand to the ``damaris-ref`` parser."""
    parser = subparsers.add_parser(
        "ensemble",
        help="run a simulation script once per parameter set on a Dask cluster",
        description=(
            "Run SCRIPT once per parameter set, each run a fresh process reading its "
            "parameters from stdin (dask_espresso.get_data_from_stdin) and printing its result "
            "(print(dask_espresso.encode_transport_data(result)))."
        ),
    )
    parser.add_argument("script", help="simulation script to run")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of one parameter (int, float, true/false, none or text); "
        "repeat for more parameters, which span a grid",
    )
    parser.add_argument(
        "--params-file",
        metavar="FILE",
        help="JSON or YAML file: a mapping name -> value(s) (a grid) or a list of mappings",
    )
    parser.add_argument(
        "--executable",
        metavar="PROGRAM",
        help="program that runs the script, e.g. pypresso or 'mpiexec -n 2 pypresso' "
        "(default: this Python)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    where.add_argument(
        "--scheduler-file", metavar="FILE", help="use the Dask scheduler described in FILE"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="embedded cluster: worker count (default: one per core)",
    )
    parser.add_argument(
        "--threads-per-worker",
        type=int,
        metavar="N",
        help="embedded cluster: simulations per worker at once",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="embedded cluster: workers as separate processes instead of threads",
    )
    parser.add_argument(
        "--codec",
        choices=codec_names(),
        help="wire format (default: $DAMARIS_ENSEMBLE_CODEC, else safe: a command line has no "
        "legacy callers to keep on pickle, and safe decoding runs no code)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per-simulation time limit (default: $DAMARIS_ENSEMBLE_TIMEOUT, else none)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=0,
        metavar="N",
        help="re-run a failed simulation up to N more times",
    )
    parser.add_argument("--output", metavar="FILE", help="also write the outcome as JSON to FILE")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep in ``args``; exit status 0 if all tasks succeeded, 1 if not, 2 on bad input."""
    from damaris_ref.ensemble.cluster import open_client
    from damaris_ref.ensemble.params_input import build_param_sets
    from damaris_ref.ensemble.quiet_logs import QuietComputeFailed
    from damaris_ref.ensemble.report import format_table, to_json
    from damaris_ref.ensemble.sweep import run_ensemble

    try:
        param_sets = build_param_sets(args.param, args.params_file)
        if not Path(args.script).is_file():
            raise UsageError(f"script {args.script!r} does not exist")
        executable = [sys.executable] if args.executable is None else shlex.split(args.executable)
        if not executable:
            raise UsageError("--executable is empty; give a program such as python or pypresso")
    except DamarisError as exc:
        print(f"damaris-ref ensemble: {exc}", file=sys.stderr)
        return 2
    with open_client(
        args.scheduler,
        args.scheduler_file,
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        processes=args.processes,
    ) as client:
        if not (args.scheduler or args.scheduler_file):  # an external cluster's logs are its own
            client.register_plugin(QuietComputeFailed())
        outcome = run_ensemble(
            client,
            executable,
            args.script,
            param_sets,
            codec=args.codec or ENSEMBLE_CODEC.read() or "safe",
            timeout=args.timeout,
            retries=args.retries,
            progress=args.progress,
        )
    print(format_table(outcome))
    if args.output:
        Path(args.output).write_text(to_json(outcome))
    for failure in outcome.failures:
        print(failure, file=sys.stderr)
    return 0 if outcome.ok else 1
