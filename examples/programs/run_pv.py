"""Pressure-volume-fraction curve of a WCA fluid, one short simulation per point, on Dask.

The ESPResSo sample's sweep run on this project's ensemble runner: each volume fraction is
simulated by ``mocks/lj_pressure.py`` (or your own script, e.g. the ESPResSo one with
``--executable pypresso``) in a fresh process. By default the tasks run on an embedded
``LocalCluster``; ``--scheduler``/``--scheduler-file`` use a running cluster instead. Prints a
table and saves a plot with error bars (needs matplotlib; without it the table is still printed).

    python examples/programs/run_pv.py [--plot pv.png] [--scheduler tcp://host:8786]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from damaris_ref.ensemble import EnsembleResult, open_client, run_ensemble

VOLUME_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5]
N_PARTICLES = 100
N_STEPS = 3000
KT = 1.0


def default_script() -> Path:
    """The LJ pressure mock: next to this example in a checkout, else from the installed package."""
    beside = Path(__file__).resolve().parents[2] / "mocks" / "lj_pressure.py"
    if beside.is_file():
        return beside
    import importlib.util

    spec = importlib.util.find_spec("damaris_ref.mocks.lj_pressure")
    if spec is None or spec.origin is None:
        sys.exit("cannot find lj_pressure.py; pass --script PATH")
    return Path(spec.origin)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="running Dask scheduler to use")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file to use")
    parser.add_argument(
        "--executable", metavar="PROGRAM", help="program running the script (default: this Python)"
    )
    parser.add_argument("--script", type=Path, help="simulation script (default: the LJ mock)")
    parser.add_argument("--n-steps", type=int, default=N_STEPS, help="measured steps per point")
    parser.add_argument("--plot", type=Path, default=Path("pv.png"), help="PNG file to write")
    return parser.parse_args(argv)


def print_table(outcome: EnsembleResult) -> None:
    """One line per volume fraction: density, mean pressure, spread, and P / (rho kT)."""
    print(f"{'phi':>5} {'rho':>8} {'P':>10} {'std(P)':>9} {'sem(P)':>9} {'P/rho kT':>9}")
    for params, result in outcome.succeeded():
        rho, pressure = result["density"], result["pressure"]
        print(
            f"{params['volume_fraction']:5.2f} {rho:8.4f} {pressure:10.4f} "
            f"{result['pressure_std_dev']:9.4f} {result['pressure_sem']:9.4f} "
            f"{pressure / (rho * KT):9.3f}"
        )
    for failure in outcome.failures:
        print(f"FAILED: {failure}", file=sys.stderr)


def save_plot(outcome: EnsembleResult, path: Path) -> bool:
    """Plot P against the volume fraction with standard-error bars; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        from damaris_ref.cli.plot_hint import NO_PLOT

        print(NO_PLOT)
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = outcome.succeeded()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(
        [p["volume_fraction"] for p, _ in points],
        [r["pressure"] for _, r in points],
        yerr=[r["pressure_sem"] for _, r in points],
        marker="o",
        capsize=3,
    )
    ax.set_xlabel("volume fraction")
    ax.set_ylabel("pressure (reduced units)")
    ax.set_title(f"WCA fluid, N = {N_PARTICLES}, kT = {KT}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot written to {path}")
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = [
        {"n_particles": N_PARTICLES, "volume_fraction": phi, "n_steps": args.n_steps, "seed": i}
        for i, phi in enumerate(VOLUME_FRACTIONS)
    ]
    executable = [sys.executable] if args.executable is None else shlex.split(args.executable)
    with open_client(args.scheduler, args.scheduler_file) as client:
        outcome = run_ensemble(
            client,
            executable,
            args.script or default_script(),
            params,
            progress=sys.stderr.isatty(),
        )
    print_table(outcome)
    save_plot(outcome, args.plot)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
