"""How the cost of one iteration grows with the number of blocks and bytes it carries.

One client and one dedicated core (2 ranks under ``mpiexec``). Each cell of the grid is an
iteration of ``blocks`` int32 blocks of ``field`` adding up to ``bytes``; the client writes the
time it starts as the variable ``t0``, then the blocks, then ends the iteration, and waits for
the server's record before the next one. Two paths, through the public API only:

- **mpi**: the server's pyscript receives ``DamarisData`` and checks it holds every block;
  the cost is from ``t0`` to the start of the script;
- **dask**: the pyscript builds ``global_array(...)`` and computes ``.sum()`` with a local
  Dask scheduler (one worker); the cost is from ``t0`` to the sum, which is checked. Its
  floor, in the same script: the same array persisted on the worker and summed again (the
  same graph on data already in worker memory); a ratio line per cell gives the cost over it.

The cost of a cell is the median over its iterations after a warm-up one. The table goes to
CSV, the ratios and the table to JSON (``--json``), the plot (per-iteration cost against
blocks, one line per path and size) to a PNG, under ``--out``. The linearity figure is the
cost per block at 4096 blocks divided by the cost per block at 256 (at the smallest size,
where blocks, not bytes, are the cost): at most 1 when the cost grows linearly with a fixed
part, about 16 if it grew with the square.

    python benchmarks/bench_scaling.py [--full] [--paths mpi,dask] [--out out/bench_scaling]

The default grid is quick (16 KiB and 16 MiB per iteration, about a minute); ``--full`` sweeps
16 KiB, 1 MiB, 64 MiB and 1 GiB (needs about 4 GiB of memory and ``/dev/shm``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from floors import FloorReport, add_output_options, json_path

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
BLOCKS = (1, 16, 256, 4096)
QUICK_BYTES = (16 * KIB, 16 * MIB)
FULL_BYTES = (16 * KIB, MIB, 64 * MIB, GIB)
ITEMSIZE = 4  # int32 elements
OUT_ENV = "DAMARIS_SCALING_OUT"
RECORD_TIMEOUT = 600.0  # seconds a client waits for the server's record of one iteration
COLUMNS = ("path", "blocks", "bytes", "iterations", "median_ms", "per_block_us")


# --- the pyscript (this file, run by the server at every iteration) --------------------------
def server_script(damaris_data: dict) -> None:
    """Record the time from the client's ``t0`` to DamarisData, or (when the pyscript has a
    scheduler) to the sum of the global array."""
    import json
    import os
    import time

    data = damaris_data["iteration_data"]
    field = data["field"]
    total = floor = None
    if damaris_data["dask_env"]["dask_scheduler_file"]:
        from distributed import wait

        from damaris4py.server import getservercomm
        from damaris_ref.dask_bridge import global_array

        array = global_array(damaris_data, "field", getservercomm())
        total = int(array.sum().compute())
    elapsed = time.perf_counter() - float(data["t0"]["numpy_data"]["P0_B0"][0])
    if total is not None:  # the floor: the same sum once the data is in worker memory
        persisted = array.persist()
        wait(persisted, timeout=60)
        started = time.perf_counter()
        int(persisted.sum().compute())
        floor = time.perf_counter() - started
    record = {
        "iteration": data["iteration"],
        "blocks": len(field["sort_list"]),
        "bytes": sum(a.nbytes for a in field["numpy_data"].values()),
        "seconds": elapsed,
        "sum": total,
        "floor_seconds": floor,
    }
    with open(os.environ["DAMARIS_SCALING_OUT"], "a") as out:  # OUT_ENV
        out.write(json.dumps(record) + "\n")


# --- the simulation (runs on the client) --------------------------------------------------
def simulate(config: Path, cells: list[tuple[int, int]], iterations: int, records: Path) -> None:
    """One client rank: every cell, ``iterations + 1`` iterations each; one server rank."""
    from mpi4py import MPI

    from damaris_ref.runtime import damaris

    damaris.initialize(str(config), MPI.COMM_WORLD)
    if damaris.start():
        done = 0
        for blocks, nbytes in cells:
            count = nbytes // ITEMSIZE // blocks
            damaris.parameter_set("N", count)
            values = np.ones(count, dtype=np.int32)
            for block in range(blocks):
                damaris.set_block_position("field", block, (block * count,))
            for _ in range(iterations + 1):
                damaris.write("t0", np.array([time.perf_counter()]))
                for block in range(blocks):
                    damaris.write_block("field", block, values)
                damaris.end_iteration()
                done += 1
                wait_for_records(records, done)
        damaris.stop()
    damaris.finalize()


def wait_for_records(records: Path, count: int) -> None:
    """Wait until the server wrote ``count`` records (so iterations never overlap)."""
    deadline = time.monotonic() + RECORD_TIMEOUT
    while not records.exists() or len(records.read_text().splitlines()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no record of iteration {count - 1} in {records} after 600 s")
        time.sleep(0.001)


# --- the driver ---------------------------------------------------------------------------
def write_config(folder: Path, path: str, cells: list[tuple[int, int]], scheduler: Path | None):
    """A config whose ``field`` blocks have ``N`` int32 elements, up to 4096 of them."""
    from damaris_ref.core.config.model import (
        Architecture,
        Config,
        Layout,
        Parameter,
        PyScript,
        Variable,
    )
    from damaris_ref.core.config.writers import dump_yaml

    largest = max(nbytes for _, nbytes in cells)
    config = Config(
        f"scaling_{path}",
        Architecture(dedicated_cores=1, domains=max(BLOCKS), buffer_size=2 * largest + 8 * MIB),
        parameters=(Parameter("N", "int", 1),),
        layouts=(
            Layout("part", "int", ("N",), global_dimensions=(str(largest // ITEMSIZE),)),
            Layout("one", "double", ("1",)),
        ),
        variables=(
            Variable("field", "part", script="scale"),
            Variable("t0", "one", script="scale"),
        ),
        pyscripts=(PyScript("scale", Path(__file__).resolve(), scheduler_file=scheduler),),
    )
    target = folder / f"scaling_{path}.yml"
    target.write_text(dump_yaml(config))
    return target


def run_path(path: str, cells: list[tuple[int, int]], iterations: int, folder: Path) -> list:
    """One ``mpiexec`` job over every cell; the server's records, warm-ups dropped."""
    from damaris_ref.launch.launcher import build_command, detect_flavour, find_mpiexec

    scheduler = None
    if path == "dask":
        from damaris_ref.dask_bridge.local_scheduler import local_scheduler

        context = local_scheduler(folder)
        scheduler = context.__enter__()
    try:
        config = write_config(folder, path, cells, scheduler)
        records = folder / f"records_{path}.jsonl"
        spec = ";".join(f"{b}x{n}" for b, n in cells)
        command = [sys.executable, str(Path(__file__).resolve()), "--simulate", str(config)]
        command += ["--cells", spec, "--iterations", str(iterations), "--records", str(records)]
        mpiexec = find_mpiexec()
        launch = build_command(2, command, mpiexec=mpiexec, flavour=detect_flavour(mpiexec))
        env = {**launch.env, **os.environ, OUT_ENV: str(records)}
        job = subprocess.run(launch.argv, env=env, capture_output=True, text=True, timeout=3600)
        if job.returncode != 0 or "raised:" in job.stderr:
            raise SystemExit(f"bench_scaling: the {path} run failed:\n{job.stdout}\n{job.stderr}")
        found = [json.loads(line) for line in records.read_text().splitlines()]
    finally:
        if scheduler is not None:
            context.__exit__(None, None, None)
    return summarise(path, cells, iterations, found)


def summarise(path: str, cells: list[tuple[int, int]], iterations: int, found: list) -> list:
    """One row per cell: the median cost of its iterations after the warm-up one."""
    rows = []
    for index, (blocks, nbytes) in enumerate(cells):
        mine = found[index * (iterations + 1) : (index + 1) * (iterations + 1)]
        if any(r["blocks"] != blocks or r["bytes"] != nbytes for r in mine):
            raise SystemExit(f"bench_scaling: {path} cell {blocks}x{nbytes} saw {mine}")
        if path == "dask" and any(r["sum"] != nbytes // ITEMSIZE for r in mine):
            raise SystemExit(f"bench_scaling: wrong Dask sums in cell {blocks}x{nbytes}: {mine}")
        median = statistics.median(r["seconds"] for r in mine[1:])
        row = {"path": path, "blocks": blocks, "bytes": nbytes, "iterations": iterations}
        row |= {"median_ms": median * 1e3, "per_block_us": median / blocks * 1e6}
        if path == "dask":
            row["floor_ms"] = statistics.median(r["floor_seconds"] for r in mine[1:]) * 1e3
        rows.append(row)
    return rows


def linearity(rows: list[dict], path: str) -> float:
    """Cost per block at 4096 blocks over cost per block at 256, at the smallest size."""
    smallest = min(r["bytes"] for r in rows if r["path"] == path)
    per_block = {
        r["blocks"]: r["per_block_us"] for r in rows if r["path"] == path and r["bytes"] == smallest
    }
    return per_block[4096] / per_block[256]


def plot(rows: list[dict], target: Path) -> None:
    """Per-iteration cost against blocks, log-log, one line per path and size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5))
    for path in sorted({r["path"] for r in rows}):
        for nbytes in sorted({r["bytes"] for r in rows}):
            line = [r for r in rows if r["path"] == path and r["bytes"] == nbytes]
            if line:
                axes.plot(
                    [r["blocks"] for r in line],
                    [r["median_ms"] for r in line],
                    marker="o",
                    linestyle="-" if path == "mpi" else "--",
                    label=f"{path}, {size_label(nbytes)} per iteration",
                )
    low = min(r["median_ms"] for r in rows)
    axes.plot(BLOCKS, [low * b for b in BLOCKS], color="grey", linewidth=0.8, label="linear")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("blocks per iteration")
    axes.set_ylabel("cost of one iteration (ms)")
    axes.set_title("Per-iteration cost, 1 client + 1 dedicated core")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(target, dpi=120)


def size_label(nbytes: int) -> str:
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if nbytes >= unit:
            return f"{nbytes // unit} {name}"
    return f"{nbytes} B"


def report(rows: list[dict], out: Path, record: Path) -> None:
    """Print the table, the linearity figures and the ratios to the dask floor; write CSV,
    the PNG and the JSON."""
    print(f"{'path':<5} {'blocks':>6} {'per iteration':>14} {'cost ms':>10} {'us per block':>13}")
    for r in rows:
        print(
            f"{r['path']:<5} {r['blocks']:>6} {size_label(r['bytes']):>14} "
            f"{r['median_ms']:>10.2f} {r['per_block_us']:>13.1f}"
        )
    figures = {path: linearity(rows, path) for path in sorted({r["path"] for r in rows})}
    for path, value in figures.items():
        print(f"linearity ({path}): cost per block at 4096 / at 256 blocks = {value:.2f}")
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bench_scaling.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "bench_scaling.png")
    print(f"written: {out / 'bench_scaling.csv'}, {out / 'bench_scaling.png'}")
    ratios = FloorReport("bench_scaling")
    for r in rows:
        if r["path"] == "dask":
            what = f"dask, {r['blocks']} blocks, {size_label(r['bytes'])}"
            ratios.add(what, r["median_ms"], "dask floor (data in worker memory)", r["floor_ms"])
    ratios.finish(record, {"rows": rows, "linearity": figures})


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="16 KiB to 1 GiB per iteration")
    parser.add_argument("--paths", default="mpi,dask", help="mpi, dask or both (default)")
    parser.add_argument("--iterations", type=int, default=2, help="timed iterations per cell")
    add_output_options(parser, "bench_scaling")
    # the simulation side, given by the driver to the ranks it starts
    parser.add_argument("--simulate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cells", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.simulate is not None:
        cells = [tuple(int(v) for v in cell.split("x")) for cell in args.cells.split(";")]
        simulate(args.simulate, cells, args.iterations, args.records)
        return 0
    sizes = FULL_BYTES if args.full else QUICK_BYTES
    cells = [(blocks, nbytes) for nbytes in sizes for blocks in BLOCKS]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_scaling_") as tmp:
        for path in args.paths.split(","):
            rows += run_path(path, cells, args.iterations, Path(tmp))
    report(rows, args.out, json_path(args, "bench_scaling"))
    return 0


if __name__ == "__main__":
    if "DamarisData" in locals():  # run by the server as its pyscript
        server_script(locals()["DamarisData"])
    else:
        sys.exit(main(sys.argv[1:]))
