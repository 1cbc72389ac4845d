"""Benchmark of the Dask bridge against the upstream way, measured in the same run.

Per iteration, on server 0, from the moment every server is ready until the sum is known:

- **bridge**: ``global_array`` (each server copies its blocks into shared memory its own
  worker maps; only keys and offsets reach server 0) then ``.sum().compute()``; the table
  also gives how much of it is ``global_array`` (*of it, build*);
- **upstream**: each server ``client.scatter``s its blocks the default way (through the
  scheduler, to whichever worker it picks) and publishes them as a dataset; server 0 reads
  every server's dataset, concatenates the blocks by offsets and sums.

Both are reported as a ratio to ``numpy.sum`` of the same amount of data in one process, for
small (KiB) and large (256 MiB) iterations. The two ways alternate which goes first. Beside
them, **dask floor**: summing the bridge's array once it is persisted on the workers, what
Dask alone costs with the data already in place, which no way of delivering blocks can beat.
The ratio lines give each way against the dask floor and against ``numpy.sum`` (the goals: the
bridge within 1.3x the dask floor for a small iteration, 1.15x for a large one), and go to
JSON with the table (``--json``, default ``out/bench_dask/bench_dask.json``).

It runs the ``generic`` mock under ``mpiexec`` (4 ranks: 2 clients, 2 dedicated servers as 2
emulated nodes) with a local scheduler, because what is measured is data leaving separate
server processes for separate worker processes: in-process, every server's Dask client
would share one process and the GIL. This file is also the pyscript the servers run.

    python benchmarks/bench_dask.py [--large-mib 256] [--iterations 5] [--small-iterations 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: where the servers append one JSON line per iteration
OUT_ENV = "DAMARIS_BENCH_OUT"  # spelled out in server_script, which cannot see it
RANKS = 4  # 2 emulated nodes of 1 client + 1 dedicated core
CLIENTS = 2
COLUMNS = 1024
#: seconds any rank of one benchmark run may wait
RUN_TIMEOUT = 240.0
#: the most the bridge may cost over the dask floor, per case
GOALS = {"small": 1.3, "large": 1.15}


# --- the pyscript side (runs on every server) -----------------------------------------------
def server_script(damaris_data: dict) -> None:
    """Time both ways of building and summing this iteration's global array.

    Everything it uses is defined or imported inside it: the server runs this file with
    separate globals and locals, so its top-level names are not visible in its functions.
    """
    import json
    import os
    import time
    from pathlib import Path

    import dask
    import dask.array as da

    from damaris4py.server import getservercomm
    from damaris_ref.core.polling import sleeping_barrier
    from damaris_ref.dask_bridge import current_session, global_array

    built = {}

    def bridge_sum(comm) -> float | None:
        start = time.perf_counter()
        array = built["array"] = global_array(damaris_data, "field", comm)
        built["build"] = time.perf_counter() - start  # the array in place, before the sum
        return None if array is None else float(array.sum().compute())

    def upstream_sum(comm) -> float | None:
        env = damaris_data["damaris_env"]
        client = current_session().client(damaris_data["dask_env"]["dask_scheduler_file"])
        entry = damaris_data["iteration_data"]["field"]
        futures = client.scatter([entry["numpy_data"][key] for _, key, _ in entry["sort_list"]])
        blocks = [
            (offsets, entry["numpy_data"][key].shape, future)
            for (_, key, offsets), future in zip(entry["sort_list"], futures, strict=True)
        ]
        iteration = damaris_data["iteration_data"]["iteration"]
        run = f"bench-{env['simulation_magic_number']}-{iteration}"
        client.publish_dataset(blocks, name=f"{run}-S{comm.Get_rank()}")
        sleeping_barrier(comm)
        if comm.Get_rank() != 0:
            return None
        names = [f"{run}-S{server}" for server in range(comm.Get_size())]
        published = sorted(
            (b for name in names for b in client.get_dataset(name)), key=lambda b: b[0]
        )
        dtype = entry["numpy_data"][entry["sort_list"][0][1]].dtype
        array = da.concatenate(
            [da.from_delayed(dask.delayed(f), shape=s, dtype=dtype) for _, s, f in published]
        )
        total = float(array.sum().compute())
        for name in names:
            client.unpublish_dataset(name)
        return total

    comm = getservercomm()
    iteration = damaris_data["iteration_data"]["iteration"]
    ways = [("bridge", bridge_sum), ("upstream", upstream_sum)]
    timings = {}
    for name, way in ways if iteration % 2 == 0 else ways[::-1]:
        sleeping_barrier(comm)  # the last way's analysis may take long: wait without spinning
        comm.Barrier()  # then start together: a sleeping barrier lets ranks leave ms apart
        start = time.perf_counter()
        total = way(comm)
        sleeping_barrier(comm)
        timings[name] = (time.perf_counter() - start, total)
    if comm.Get_rank() == 0:
        from distributed import wait

        persisted = built["array"].persist()
        wait(persisted, timeout=60)
        start = time.perf_counter()
        float(persisted.sum().compute())
        timings["floor"] = (time.perf_counter() - start, None)
        record = {"iteration": iteration, "build": built["build"]}
        record |= {k: v[0] for k, v in timings.items()}
        record["same_sum"] = timings["bridge"][1] == timings["upstream"][1]
        with open(Path(os.environ["DAMARIS_BENCH_OUT"]) / "timings.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")


# --- the driver -------------------------------------------------------------------------------
def run_case(scheduler_file: Path, rows: int, iterations: int, folder: Path) -> list[dict]:
    """Run the generic mock with ``rows`` x COLUMNS float64 per client; the servers' records."""
    from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
    from damaris_ref.core.config.writers import dump_yaml

    block_bytes = rows * COLUMNS * 8
    config = Config(
        f"bench{rows}",
        Architecture(
            dedicated_cores=1, ranks_per_node=2, buffer_size=max(2 * block_bytes, 1 << 20)
        ),
        layouts=(Layout("rows", "double", (str(rows), str(COLUMNS))),),
        variables=(Variable("field", "rows", script="bench"),),
        pyscripts=(PyScript("bench", Path(__file__).resolve(), scheduler_file=scheduler_file),),
    )
    path = folder / f"bench{rows}.yml"
    path.write_text(dump_yaml(config))
    # a run that hangs fails after this, with its ranks' output, rather than never ending
    command = [sys.executable, "-m", "damaris_ref.cli", "run", "--timeout", str(RUN_TIMEOUT)]
    command += ["-n", str(RANKS)]
    command += ["generic", str(path), "-i", str(iterations)]
    done = subprocess.run(
        command, env={**os.environ, OUT_ENV: str(folder)}, capture_output=True, text=True
    )
    if done.returncode != 0 or "raised:" in done.stderr:
        sys.exit(f"bench_dask: the run failed:\n{done.stderr}")
    records = [json.loads(line) for line in (folder / "timings.jsonl").read_text().splitlines()]
    (folder / "timings.jsonl").unlink()
    return records


def numpy_sum_seconds(total_bytes: int, repeat: int) -> float:
    """Median time of ``numpy.sum`` over one float64 array of ``total_bytes``, in one process."""
    data = np.random.default_rng(0).random(total_bytes // 8)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        data.sum()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large-mib", type=int, default=256, help="total data per iteration")
    parser.add_argument("--iterations", type=int, default=5, help="large-case iterations")
    parser.add_argument("--small-iterations", type=int, default=20, help="small-case iterations")
    from floors import FloorReport, add_output_options, json_path  # not on a server's path

    add_output_options(parser, "bench_dask")
    args = parser.parse_args(argv)
    from damaris_ref.dask_bridge.local_scheduler import local_scheduler

    report = FloorReport("bench_dask")
    table = []

    large_rows = args.large_mib * 2**20 // (CLIENTS * COLUMNS * 8)
    cases = [("small", 1, args.small_iterations), ("large", large_rows, args.iterations)]
    print(f"{RANKS} ranks under mpiexec (2 clients, 2 servers, 2 workers), float64 blocks of")
    print(f"rows x {COLUMNS}; median over iterations after the first (warm-up); times in ms\n")
    header = (
        f"{'case':<6} {'total':>9} {'numpy.sum':>10} {'bridge':>9} {'of it, build':>13} "
        f"{'ratio':>8} "
        f"{'upstream':>9} {'ratio':>8} {'upstream/bridge':>16} {'dask floor':>11}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp, local_scheduler(Path(tmp)) as scheduler_file:
        for label, rows, iterations in cases:
            records = run_case(scheduler_file, rows, iterations, Path(tmp))[1:]
            if not all(r["same_sum"] for r in records):
                sys.exit("bench_dask: the two ways disagree on the sum")
            total = CLIENTS * rows * COLUMNS * 8
            baseline = numpy_sum_seconds(total, repeat=max(5, iterations))
            bridge, build, upstream, floor = (
                statistics.median(r[way] for r in records)
                for way in ("bridge", "build", "upstream", "floor")
            )
            print(
                f"{label:<6} {_size(total):>9} {baseline * 1e3:>10.3f} {bridge * 1e3:>9.1f} "
                f"{build * 1e3:>13.1f} {bridge / baseline:>8.0f} "
                f"{upstream * 1e3:>9.1f} {upstream / baseline:>8.0f} "
                f"{upstream / bridge:>16.2f} {floor * 1e3:>11.1f}"
            )
            ms = {"numpy_sum": baseline, "bridge": bridge, "build": build}
            ms |= {"upstream": upstream, "floor": floor}
            table.append({"case": label, "bytes": total} | {k: v * 1e3 for k, v in ms.items()})
            goal = GOALS[label]
            for way, value in (("bridge", bridge), ("upstream", upstream)):
                what = f"{label} {_size(total)}, {way}"
                report.add(
                    what,
                    value * 1e3,
                    "dask floor",
                    floor * 1e3,
                    goal=goal if way == "bridge" else None,
                )
                report.add(what, value * 1e3, "numpy.sum", baseline * 1e3)
            report.add(f"{label}, dask floor", floor * 1e3, "numpy.sum", baseline * 1e3)
    print()
    report.finish(json_path(args, "bench_dask"), table, vars(args))
    return 0


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:g} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:g} KiB"


if __name__ == "__main__":
    if "DamarisData" in locals():  # run by a server as its pyscript
        server_script(locals()["DamarisData"])
    else:
        sys.exit(main())
