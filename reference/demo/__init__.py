"""``damaris-ref demo``: the seed example end to end, checked, with a plot.

Runs ``3dmesh_py`` with 2 dedicated cores, shows each iteration as it completes, then
checks that the per-server Python sums add up to the simulation's own total (PASS/FAIL per
iteration) and draws the core layout and the sums per iteration.
"""

from __future__ import annotations

import argparse
import io
import sys
from importlib import resources
from pathlib import Path

from damaris_ref.demo.report import IterationCheck, check_iterations, print_table
from damaris_ref.output_lines import client_totals, server_sums

DEMO_CONFIG = "demo.yml"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the seed example end to end and check its sums",
        description="Run 3dmesh_py on 6 ranks (4 clients, 2 dedicated cores), check that the "
        "servers' Python sums add up to the simulation's total, and plot the result.",
    )
    parser.add_argument("-i", "--iterations", type=int, default=3, help="iterations (default 3)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("damaris-demo"),
        help="folder for the plot (default ./damaris-demo)",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the plot")
    parser.set_defaults(func=run)


class _Tee(io.TextIOBase):
    """Shows the run's lines live and keeps a copy to check afterwards."""

    def __init__(self, stream):
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def run(options: argparse.Namespace) -> int:
    """Run, check and plot; exit code 0 only when every iteration passes."""
    from damaris_ref.config import load_config
    from damaris_ref.engine import run_in_process
    from damaris_ref.mocks import SIMULATIONS

    simulation = SIMULATIONS["3dmesh_py"]
    with resources.as_file(resources.files(__package__) / DEMO_CONFIG) as config_path:
        config = load_config(config_path)
    args = simulation.parse_args(
        [str(config_path), "-i", str(options.iterations), "-v", "2", "-r", "-s", "0"]
    )
    args.config = config
    print(
        "damaris-ref demo: 3dmesh_py on 6 ranks (4 clients, 2 dedicated cores), "
        f"{options.iterations} iterations",
        flush=True,
    )
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    try:
        run_in_process(simulation.rank_main(args), 6, timeout=120)
    finally:
        sys.stdout = tee.stream
    output = tee.copy.getvalue()
    checks = check_iterations(client_totals(output), server_sums(output), options.iterations)
    print_table(checks)
    if not options.no_plot:
        _plot(checks, options.out)
    return 0 if checks and all(c.passed for c in checks) else 1


def _plot(checks: list[IterationCheck], out: Path) -> None:
    try:
        from damaris_ref.demo.plot import plot_sums
    except ImportError:
        print("(no plot: matplotlib is not installed; pip install damaris-reference[plot])")
        return
    path = plot_sums(checks, out / "demo_sums.png")
    print(f"plot written to {path}")
