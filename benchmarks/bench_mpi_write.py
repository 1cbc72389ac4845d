"""Client-side cost of ``Damaris.write`` over MPI shared memory, against plain copies and sends.

On one node, one client and one dedicated-core server (2 ranks), for blocks of 1–256 MiB:

- ``write`` warm: the median of ``Damaris.write`` after the block's first iteration
  (copy into the client's shared slice plus a small notice), and ``write`` first separately;
- ``copyto``: ``np.copyto`` of the same bytes into a preallocated array in the same process,
  the floor any write that copies the data once can reach (ratio 1.0);
- ``send`` pickled: ``comm.send`` of the same array to the server rank (what a transport that
  pickles blocks would cost the client); ``Send`` buffer: ``comm.Send`` of its bytes (what
  dedicated nodes use across nodes). Both measured outside the Damaris session.

Every cost is reported in milliseconds and as a ratio to ``copyto``; the table is printed and
written as CSV and JSON under ``--out``. Run it plainly (it starts its own ``mpiexec`` with 2
ranks through the project's launcher) or under ``mpiexec -n 2`` yourself:

    python benchmarks/bench_mpi_write.py [--sizes 1,4,16,64,256] [--repeat 5] [--out out/bench]
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

MIB = 1 << 20
CLIENT, SERVER = 0, 1
TAG_PICKLED, TAG_BUFFER = 11, 12
#: variables MPICH's and Open MPI's launchers give their ranks
LAUNCHED_MARKS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
COLUMNS = ("size_mib", "copyto_ms", "write_warm_ms", "write_first_ms", "send_ms", "Send_ms")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1,4,16,64,256",
        type=lambda text: [int(s) for s in text.split(",")],
        help="block sizes in MiB, comma separated (default 1,4,16,64,256)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per size (median)")
    parser.add_argument("--out", type=Path, default=Path("out/bench_mpi_write"))
    return parser.parse_args(argv)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def time_copyto(blocks: dict[int, np.ndarray], repeat: int) -> dict[int, float]:
    """Median ms of ``np.copyto`` into a preallocated, already touched array."""
    result = {}
    for size, block in blocks.items():
        target = np.ones_like(block)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            np.copyto(target, block)
            samples.append(time.perf_counter() - start)
        result[size] = median_ms(samples)
    return result


def time_sends(comm, blocks: dict[int, np.ndarray], repeat: int) -> dict[str, dict[int, float]]:
    """Median client-side ms of a pickled ``send`` and a buffer ``Send`` to the server rank."""
    result: dict[str, dict[int, float]] = {"send_ms": {}, "Send_ms": {}}
    for size, block in blocks.items():
        received = np.empty_like(block) if comm.Get_rank() == SERVER else None
        pickled, buffered = [], []
        for _ in range(repeat):
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


def bench_config(sizes: list[int]):
    """One dedicated core, one variable of doubles per size, room for two of the largest."""
    from damaris_ref.config.model import Architecture, Config, Layout, Variable

    return Config(
        "bench_mpi_write",
        Architecture(dedicated_cores=1, buffer_size=2 * max(sizes) * MIB + 4 * MIB),
        layouts=tuple(Layout(f"l{s}", "double", (str(s * MIB // 8),)) for s in sizes),
        variables=tuple(Variable(f"b{s}", f"l{s}") for s in sizes),
    )


def time_writes(comm, blocks: dict[int, np.ndarray], repeat: int) -> dict[str, dict[int, float]]:
    """Client-side ms of ``Damaris.write``: the first iteration of each size, then the median
    of ``repeat`` more (one block per iteration; the server frees it at once)."""
    from damaris_ref.api import Damaris
    from damaris_ref.transport.mpi import MPIBackend

    result: dict[str, dict[int, float]] = {"write_first_ms": {}, "write_warm_ms": {}}
    damaris = Damaris(MPIBackend(comm))
    damaris.initialize(bench_config(list(blocks)), comm)
    if damaris.start():
        for size, block in blocks.items():
            samples = []
            for _ in range(repeat + 1):
                start = time.perf_counter()
                damaris.write(f"b{size}", block)
                samples.append(time.perf_counter() - start)
                damaris.end_iteration()
            result["write_first_ms"][size] = samples[0] * 1e3
            result["write_warm_ms"][size] = median_ms(samples[1:])
        damaris.stop()
    damaris.finalize()
    return result


def report(rows: list[dict[str, float]], out: Path, meta: dict) -> None:
    """Print the table (ms and ratio to copyto) and write it as CSV and JSON."""
    header = (
        f"{'MiB':>5} {'copyto ms':>10} {'write warm':>17} {'write first':>17} "
        f"{'send (pickle)':>17} {'Send (buffer)':>17}"
    )
    print(header)
    for row in rows:
        base = row["copyto_ms"]
        cells = [
            f"{row[c]:8.2f} ({row[c] / base:5.2f}x)"
            for c in ("write_warm_ms", "write_first_ms", "send_ms", "Send_ms")
        ]
        print(f"{row['size_mib']:>5} {base:10.2f} " + " ".join(f"{c:>17}" for c in cells))
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bench_mpi_write.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "bench_mpi_write.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
    print(f"written: {out / 'bench_mpi_write.csv'}, {out / 'bench_mpi_write.json'}")


def run_rank(args: argparse.Namespace) -> None:
    """One of the two ranks: both take part in every measurement, the client reports."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() != 2:
        raise SystemExit(f"run on exactly 2 ranks (client + server), not {comm.Get_size()}")
    rng = np.random.default_rng(0)
    blocks = {s: rng.random(s * MIB // 8) for s in args.sizes}  # touched: no page faults later
    copyto = time_copyto(blocks, args.repeat) if comm.Get_rank() == CLIENT else {}
    sends = time_sends(comm, blocks, args.repeat)
    writes = time_writes(comm, blocks, args.repeat)
    if comm.Get_rank() != CLIENT:
        return
    rows = [
        {"size_mib": s, "copyto_ms": copyto[s]} | {k: v[s] for k, v in (sends | writes).items()}
        for s in args.sizes
    ]
    meta = {
        "repeat": args.repeat,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    report(rows, args.out, meta)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if any(mark in os.environ for mark in LAUNCHED_MARKS):
        run_rank(args)
        return 0
    from damaris_ref.launcher import run_job

    return run_job(2, [sys.executable, str(Path(__file__).resolve()), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
