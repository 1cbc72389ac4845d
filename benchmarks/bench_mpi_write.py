"""Client-side cost of ``Damaris.write`` over MPI shared memory, against plain copies and sends.

On one node, one client and one dedicated-core server (2 ranks), for blocks of 4 KiB–256 MiB:

- ``write`` warm: the median of ``Damaris.write`` after the block's first iteration
  (copy into the client's shared slice plus a queued notice), and ``write`` first separately;
- ``copyto``: ``np.copyto`` of the same bytes into a preallocated array in the same process,
  the floor any write that copies the data once can reach (ratio 1.0);
- ``send`` pickled: ``comm.send`` of the same array to the server rank (what a transport that
  pickles blocks would cost the client); ``Send`` buffer: ``comm.Send`` of its bytes (what
  dedicated nodes use across nodes). Both measured outside the Damaris session.

Then many small blocks: ``--many`` writes of 4 KiB in one iteration (``write_block`` of blocks
0..N-1 of one variable), against the same number of ``np.copyto`` of 4 KiB into distinct
slices of one preallocated buffer; first iteration and warm median, and ``end_iteration``
(which sends the iteration's notices) on its own.

Each write sample is taken right after its copyto sample, so a loaded machine slows both alike.

Every cost is reported in milliseconds and as a ratio to its ``copyto``; the tables are printed
and written as CSV and JSON under ``--out``. Run it plainly (it starts its own ``mpiexec`` with
2 ranks through the project's launcher) or under ``mpiexec -n 2`` yourself:

    python benchmarks/bench_mpi_write.py [--sizes 4k,64k,1m,16m,256m] [--many 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

KIB, MIB = 1 << 10, 1 << 20
SMALL = 4 * KIB  # the block size of the many-writes row
CLIENT, SERVER = 0, 1
TAG_PICKLED, TAG_BUFFER = 11, 12
#: variables MPICH's and Open MPI's launchers give their ranks
LAUNCHED_MARKS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
COLUMNS = ("bytes", "copyto_ms", "write_first_ms", "write_warm_ms", "send_ms", "Send_ms")
MANY_COLUMNS = (
    "writes",
    "bytes_each",
    "copyto_ms",
    "write_first_ms",
    "write_warm_ms",
    "end_iteration_ms",
)
UNITS = {"k": KIB, "m": MIB, "g": 1 << 30}


def parse_size(text: str) -> int:
    """``4k``, ``64K``, ``1m``, ``16M`` or a byte count; a multiple of 8 (doubles)."""
    text = text.strip().lower()
    size = int(text[:-1]) * UNITS[text[-1]] if text[-1:] in UNITS else int(text)
    if size <= 0 or size % 8:
        raise argparse.ArgumentTypeError(f"block size {text!r} must be a positive multiple of 8")
    return size


def size_label(size: int) -> str:
    """``4 KiB``, ``1 MiB``: the unit that divides the size."""
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    return f"{size // KIB} KiB" if size % KIB == 0 else f"{size} B"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="4k,64k,1m,16m,256m",
        type=lambda text: [parse_size(s) for s in text.split(",")],
        help="block sizes (k, m suffixes), comma separated (default 4k,64k,1m,16m,256m)",
    )
    parser.add_argument(
        "--many", type=int, default=1000, help="4 KiB writes of the many-writes row (0: none)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per size (median)")
    parser.add_argument("--out", type=Path, default=Path("out/bench_mpi_write"))
    return parser.parse_args(argv)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def samples_for(size: int, repeat: int) -> int:
    """Timed repeats of one size: more for small blocks, whose single timings are noisier, and
    enough below 64 MiB that the median is of the steady state, once the server keeps up."""
    if size < MIB:
        return repeat * 20
    return repeat * 4 if size < 64 * MIB else repeat


def time_sends(comm, blocks: dict[int, np.ndarray], repeat: int) -> dict[str, dict[int, float]]:
    """Median client-side ms of a pickled ``send`` and a buffer ``Send`` to the server rank."""
    result: dict[str, dict[int, float]] = {"send_ms": {}, "Send_ms": {}}
    for size, block in blocks.items():
        received = np.empty_like(block) if comm.Get_rank() == SERVER else None
        pickled, buffered = [], []
        for _ in range(samples_for(size, repeat)):
            comm.Barrier()
            if comm.Get_rank() == CLIENT:
                start = time.perf_counter()
                comm.send(block, SERVER, TAG_PICKLED)
                pickled.append(time.perf_counter() - start)
                start = time.perf_counter()
                comm.Send(block, SERVER, TAG_BUFFER)
                buffered.append(time.perf_counter() - start)
            else:
                comm.recv(source=CLIENT, tag=TAG_PICKLED)
                comm.Recv(received, CLIENT, TAG_BUFFER)
        if comm.Get_rank() == CLIENT:
            result["send_ms"][size] = median_ms(pickled)
            result["Send_ms"][size] = median_ms(buffered)
    return result


def bench_config(sizes: list[int], many: int, repeat: int):
    """One dedicated core, one variable of doubles per size and ``many`` (``domains``) of 4 KiB
    blocks of ``small``; room for two iterations of the largest."""
    from damaris_ref.core.config.model import Architecture, Config, Layout, Variable

    # the many-writes row never waits for the server: room for all its iterations
    size = 2 * max(sizes, default=0) + (4 * repeat + 1) * many * SMALL + 4 * MIB
    return Config(
        "bench_mpi_write",
        Architecture(dedicated_cores=1, domains=max(1, many), buffer_size=size),
        layouts=(
            *(Layout(f"l{s}", "double", (str(s // 8),)) for s in sizes),
            Layout("small", "double", (str(SMALL // 8),)),
        ),
        variables=(*(Variable(f"b{s}", f"l{s}") for s in sizes), Variable("small", "small")),
    )


def time_writes(comm, blocks: dict[int, np.ndarray], many: int, repeat: int) -> dict:
    """Client-side ms of ``Damaris.write`` and of its ``np.copyto`` baseline, sample by sample
    in turn so that both see the same machine load.

    Per size: one block per iteration (the server frees it soon after), the first iteration
    apart; the baseline copies into one preallocated, touched array. Then ``many`` 4 KiB
    ``write_block`` calls per iteration, first and warm, against as many copies into distinct
    slices of one buffer, and the ``end_iteration`` after them.
    """
    from damaris_ref.runtime.session import Damaris
    from damaris_ref.runtime.transport.mpi import MPIBackend

    result: dict = {"sizes": {}, "many": {}}
    damaris = Damaris(MPIBackend(comm))
    damaris.initialize(bench_config(list(blocks), many, repeat), comm)
    if damaris.start():
        for size, block in blocks.items():
            target = np.ones_like(block)
            copies, writes = [], []
            for _ in range(samples_for(size, repeat) + 1):
                start = time.perf_counter()
                np.copyto(target, block)
                middle = time.perf_counter()
                damaris.write(f"b{size}", block)
                writes.append(time.perf_counter() - middle)
                copies.append(middle - start)
                damaris.end_iteration()
            result["sizes"][size] = {
                "copyto_ms": median_ms(copies[1:]),
                "write_first_ms": writes[0] * 1e3,
                "write_warm_ms": median_ms(writes[1:]),
            }
        if many:
            result["many"] = time_many_writes(damaris, many, repeat)
        damaris.stop()
    damaris.finalize()
    return result


def time_many_writes(damaris, many: int, repeat: int) -> dict[str, float]:
    """``many`` 4 KiB writes per iteration against as many copies, in turn."""
    small = np.random.default_rng(1).random(SMALL // 8)
    buffer = np.ones(many * (SMALL // 8))
    slices = [buffer[i * (SMALL // 8) : (i + 1) * (SMALL // 8)] for i in range(many)]
    copies, writes, ends = [], [], []
    for _ in range(4 * repeat + 1):
        start = time.perf_counter()
        for part in slices:
            np.copyto(part, small)
        middle = time.perf_counter()
        for block in range(many):
            damaris.write_block("small", block, small)
        written = time.perf_counter()
        damaris.end_iteration()
        copies.append(middle - start)
        writes.append(written - middle)
        ends.append(time.perf_counter() - written)
    return {
        "copyto_ms": median_ms(copies[1:]),
        "write_first_ms": writes[0] * 1e3,
        "write_warm_ms": median_ms(writes[1:]),
        "end_iteration_ms": median_ms(ends[1:]),
    }


def print_tables(rows: list[dict], many_row: dict | None) -> None:
    """The tables, every cost in ms and as a ratio to its copyto baseline."""
    print(
        f"{'block':>8} {'copyto ms':>10} {'write warm':>18} {'write first':>18} "
        f"{'send (pickle)':>18} {'Send (buffer)':>18}"
    )
    for row in rows:
        base = row["copyto_ms"]
        cells = [
            f"{row[c]:8.4f} ({row[c] / base:5.2f}x)"
            for c in ("write_warm_ms", "write_first_ms", "send_ms", "Send_ms")
        ]
        label = size_label(row["bytes"])
        print(f"{label:>8} {base:10.4f} " + " ".join(f"{c:>18}" for c in cells))
    if many_row:
        base = many_row["copyto_ms"]
        print(
            f"\n{many_row['writes']} writes of {size_label(many_row['bytes_each'])} in one "
            f"iteration: copyto {base:.3f} ms, write warm {many_row['write_warm_ms']:.3f} ms "
            f"({many_row['write_warm_ms'] / base:.2f}x), first iteration "
            f"{many_row['write_first_ms']:.3f} ms ({many_row['write_first_ms'] / base:.2f}x); "
            f"then end_iteration {many_row['end_iteration_ms']:.3f} ms"
        )


def report(rows: list[dict], many_row: dict | None, out: Path, meta: dict) -> None:
    """Print the tables and write them as CSV and JSON."""
    print_tables(rows, many_row)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bench_mpi_write.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    written = [out / "bench_mpi_write.csv", out / "bench_mpi_write.json"]
    if many_row:
        with (out / "bench_mpi_write_many.csv").open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=MANY_COLUMNS)
            writer.writeheader()
            writer.writerow(many_row)
        written.append(out / "bench_mpi_write_many.csv")
    document = {**meta, "rows": rows, "many": many_row}
    (out / "bench_mpi_write.json").write_text(json.dumps(document, indent=2))
    print("written: " + ", ".join(map(str, written)))


def run_rank(args: argparse.Namespace) -> None:
    """One of the two ranks: both take part in every measurement, the client reports."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() != 2:
        raise SystemExit(f"run on exactly 2 ranks (client + server), not {comm.Get_size()}")
    rng = np.random.default_rng(0)
    blocks = {s: rng.random(s // 8) for s in args.sizes}  # touched: no page faults later
    sends = time_sends(comm, blocks, args.repeat)
    writes = time_writes(comm, blocks, args.many, args.repeat)
    if comm.Get_rank() != CLIENT:
        return
    rows = [
        {"bytes": s} | writes["sizes"][s] | {k: v[s] for k, v in sends.items()} for s in args.sizes
    ]
    many_row = {"writes": args.many, "bytes_each": SMALL} | writes["many"] if args.many else None
    meta = {
        "repeat": args.repeat,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    report(rows, many_row, args.out, meta)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if any(mark in os.environ for mark in LAUNCHED_MARKS):
        run_rank(args)
        return 0
    from damaris_ref.launch.launcher import run_job

    return run_job(2, [sys.executable, str(Path(__file__).resolve()), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
