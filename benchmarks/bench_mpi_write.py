"""Client-side cost of ``Damaris.write`` over MPI shared memory, against plain copies and sends.

On one node, one client and one dedicated-core server (2 ranks), for blocks of 4 KiB–256 MiB:

- ``write`` warm: the median of ``Damaris.write`` after the block's first iteration
  (copy into the client's shared slice plus a queued notice), and ``write`` first separately;
- ``copyto``: ``np.copyto`` of the same bytes into a preallocated array in the same process,
  the floor any write that copies the data once can reach (ratio 1.0); ``copyto`` cold: the
  same into a touched array that is out of the caches, as the slice a block's first write goes
  to is (the floor of a first write: warm writes go where the last block was, still cached);
- ``send`` pickled: ``comm.send`` of the same array to the server rank (what a transport that
  pickles blocks would cost the client); ``Send`` buffer: ``comm.Send`` of its bytes (what
  dedicated nodes use across nodes). Both measured outside the Damaris session.

Then many small blocks: ``--many`` writes of 4 KiB in one iteration, as many ``write_block``
calls (blocks 0..N-1 of one variable) and, in the next iteration, as one ``write_blocks``
call, each against the same number of ``np.copyto`` of 4 KiB into distinct slices of one
preallocated buffer; first iteration and warm median, and ``end_iteration`` (which sends the
iteration's notices) on its own. After each of these iterations the client pauses
(``MANY_PAUSE``), so that its server has handed the iteration back and is idle while the next
one is timed: on 2 cores a server still filing 1,000 blocks takes turns with the client on
its core, which says nothing about the client's own cost.

Each write sample is taken right after its copyto sample, so a loaded machine slows both alike.
On a machine busier than its cores, the second of two back-to-back timings is the likelier to
lose the core to another process, which the wall clock counts: ``--clock cpu`` times writes
and copies by the client's CPU time instead.

Every cost is reported in milliseconds and as a ratio to its ``copyto`` (the floor), and the
first iteration also against the warm write; the tables are printed and written as CSV, the
ratios as JSON (``--json``), under ``--out``. Run it plainly (it starts its own ``mpiexec``
with 2 ranks through the project's launcher) or under ``mpiexec -n 2`` yourself:

    python benchmarks/bench_mpi_write.py [--sizes 4k,64k,1m,16m,256m] [--many 1000] [--repeat 5]
        [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from floors import FloorReport, add_output_options, json_path

BENCHMARK = "bench_mpi_write"
KIB, MIB = 1 << 10, 1 << 20
SMALL = 4 * KIB  # the block size of the many-writes row
MANY_PAUSE = 0.02  # seconds between the many-writes iterations (the server's turn)
CLIENT, SERVER = 0, 1
TAG_PICKLED, TAG_BUFFER = 11, 12
#: variables MPICH's and Open MPI's launchers give their ranks
LAUNCHED_MARKS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
COLUMNS = (
    "bytes",
    "copyto_ms",
    "copyto_cold_ms",
    "write_first_ms",
    "write_warm_ms",
    "send_ms",
    "Send_ms",
)
#: bytes written to push a buffer out of the caches (many times any L3 of a 2-core machine)
EVICT_BYTES = 64 * MIB
#: samples of the cold copy per size (each evicts the caches first)
COLD_SAMPLES = 5
MANY_COLUMNS = (
    "writes",
    "bytes_each",
    "copyto_ms",
    "write_first_ms",
    "write_warm_ms",
    "end_iteration_ms",
    "copyto_batch_ms",
    "write_blocks_first_ms",
    "write_blocks_warm_ms",
    "end_iteration_batch_ms",
)
UNITS = {"k": KIB, "m": MIB, "g": 1 << 30}
#: how writes and their copies are timed: the wall clock, or the client thread's CPU time,
#: which leaves out the time a busy machine's scheduler keeps the client off its core (nothing
#: timed waits for the server, but a 256 MiB write that waits for space)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


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
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time writes and copies by the wall clock (default) or by the client's CPU time",
    )
    add_output_options(parser, BENCHMARK)
    return parser.parse_args(argv)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def cold_copy_ms(block: np.ndarray, clock: Callable[[], float]) -> float:
    """Median ms of ``np.copyto`` of ``block`` (just read, so cached as a write's source is)
    into a touched array that other writes have pushed out of the caches."""
    evict = np.zeros(EVICT_BYTES, dtype=np.uint8)
    samples = []
    for _ in range(COLD_SAMPLES):
        target = np.ones_like(block)
        evict += 1  # every cache line of the caches now holds this, not target
        block.max()  # the source, read again: a write's source was just computed
        start = clock()
        np.copyto(target, block)
        samples.append(clock() - start)
    return median_ms(samples)


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

    # the many-writes rows never wait for the server: room for all their iterations
    size = 2 * max(sizes, default=0) + 2 * (4 * repeat + 1) * many * SMALL + 4 * MIB
    return Config(
        "bench_mpi_write",
        Architecture(dedicated_cores=1, domains=max(1, many), buffer_size=size),
        layouts=(
            *(Layout(f"l{s}", "double", (str(s // 8),)) for s in sizes),
            Layout("small", "double", (str(SMALL // 8),)),
        ),
        variables=(*(Variable(f"b{s}", f"l{s}") for s in sizes), Variable("small", "small")),
    )


def time_writes(
    comm, blocks: dict[int, np.ndarray], many: int, repeat: int, clock: Callable[[], float]
) -> dict:
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
    # before the session: evicting the caches right before a first write would make it pay
    # for the interpreter's own data coming back, which no real first write does
    cold_ms = {s: cold_copy_ms(b, clock) for s, b in blocks.items()} if comm.rank == CLIENT else {}
    damaris = Damaris(MPIBackend(comm))
    damaris.initialize(bench_config(list(blocks), many, repeat), comm)
    if damaris.start():
        for size, block in blocks.items():
            target = np.ones_like(block)
            copies, writes = [], []
            for _ in range(samples_for(size, repeat) + 1):
                start = clock()
                np.copyto(target, block)
                middle = clock()
                damaris.write(f"b{size}", block)
                writes.append(clock() - middle)
                copies.append(middle - start)
                damaris.end_iteration()
            result["sizes"][size] = {
                "copyto_ms": median_ms(copies[1:]),
                "copyto_cold_ms": cold_ms[size],
                "write_first_ms": writes[0] * 1e3,
                "write_warm_ms": median_ms(writes[1:]),
            }
        if many:
            result["many"] = time_many_writes(damaris, many, repeat, clock)
        damaris.stop()
    damaris.finalize()
    return result


def time_many_writes(
    damaris, many: int, repeat: int, clock: Callable[[], float]
) -> dict[str, float]:
    """``many`` 4 KiB writes per iteration against as many copies, in turn: one iteration of
    ``write_block`` calls, then one ``write_blocks`` call in the next."""
    small = np.random.default_rng(1).random(SMALL // 8)
    buffer = np.ones(many * (SMALL // 8))
    slices = [buffer[i * (SMALL // 8) : (i + 1) * (SMALL // 8)] for i in range(many)]
    pairs = [(block, small) for block in range(many)]
    samples: dict[str, list[float]] = {
        k: [] for k in ("copies", "writes", "ends", "batch_copies", "batches", "batch_ends")
    }

    def one_by_one() -> None:
        for block in range(many):
            damaris.write_block("small", block, small)

    for _ in range(4 * repeat + 1):
        for write, prefix in (
            (one_by_one, ""),
            (lambda: damaris.write_blocks("small", pairs), "batch_"),
        ):
            start = clock()
            for part in slices:
                np.copyto(part, small)
            middle = clock()
            write()
            written = clock()
            damaris.end_iteration()
            samples[f"{prefix}copies"].append(middle - start)
            samples["batches" if prefix else "writes"].append(written - middle)
            samples[f"{prefix}ends"].append(clock() - written)
            time.sleep(MANY_PAUSE)
    return {
        "copyto_ms": median_ms(samples["copies"][1:]),
        "write_first_ms": samples["writes"][0] * 1e3,
        "write_warm_ms": median_ms(samples["writes"][1:]),
        "end_iteration_ms": median_ms(samples["ends"][1:]),
        "copyto_batch_ms": median_ms(samples["batch_copies"][1:]),
        "write_blocks_first_ms": samples["batches"][0] * 1e3,
        "write_blocks_warm_ms": median_ms(samples["batches"][1:]),
        "end_iteration_batch_ms": median_ms(samples["batch_ends"][1:]),
    }


def print_table(rows: list[dict]) -> None:
    """The table of one block per iteration, every cost in ms."""
    columns = ("write_warm_ms", "write_first_ms", "send_ms", "Send_ms")
    print(f"{'block':>8} {'copyto ms':>10} " + " ".join(f"{c:>15}" for c in columns))
    for row in rows:
        cells = " ".join(f"{row[c]:15.4f}" for c in columns)
        print(f"{size_label(row['bytes']):>8} {row['copyto_ms']:10.4f} {cells}")


#: the goals of the write path, as ratios to the floor of the same run
GOAL_MANY = 1.5  # write_blocks of many small blocks / as many copies
GOAL_FIRST = 1.3  # first iteration / warm write, at 1 MiB and 16 MiB


def add_ratios(report: FloorReport, rows: list[dict], many_row: dict | None) -> None:
    """Every write against its copyto floor, the first iteration also against the warm write."""
    for row in rows:
        label, floor = size_label(row["bytes"]), row["copyto_ms"]
        for column, what in (
            ("write_warm_ms", "write, warm"),
            ("write_first_ms", "write, 1st iteration"),
            ("send_ms", "comm.send (pickle)"),
            ("Send_ms", "comm.Send (buffer)"),
        ):
            report.add(f"{what}, {label}", row[column], f"copyto, {label}", floor)
        # a first write's floor: the copy into memory out of the caches
        report.add(f"copyto cold, {label}", row["copyto_cold_ms"], "copyto", floor)
        report.add(
            f"write, 1st iteration, {label}",
            row["write_first_ms"],
            "copyto cold",
            row["copyto_cold_ms"],
        )
        goal = GOAL_FIRST if row["bytes"] in (MIB, 16 * MIB) else None
        report.add(
            f"write, 1st iteration, {label}",
            row["write_first_ms"],
            "write, warm",
            row["write_warm_ms"],
            goal=goal,
        )
    if many_row:
        n, label = many_row["writes"], size_label(many_row["bytes_each"])
        copies = f"{n} copyto of {label}"
        for column, floor, what, goal in (
            ("write_warm_ms", "copyto_ms", f"{n} write_block", None),
            ("write_first_ms", "copyto_ms", f"{n} write_block, 1st iteration", None),
            ("end_iteration_ms", "copyto_ms", f"end_iteration after {n} write_block", None),
            ("write_blocks_warm_ms", "copyto_batch_ms", f"write_blocks of {n}", GOAL_MANY),
            ("write_blocks_first_ms", "copyto_batch_ms", f"write_blocks of {n}, 1st", None),
            ("end_iteration_batch_ms", "copyto_batch_ms", "end_iteration after it", None),
        ):
            report.add(what, many_row[column], copies, many_row[floor], goal=goal)


def report(rows: list[dict], many_row: dict | None, args: argparse.Namespace, meta: dict) -> None:
    """Print the table and the ratio lines; write the tables as CSV, everything as JSON."""
    print_table(rows)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bench_mpi_write.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    if many_row:
        with (out / "bench_mpi_write_many.csv").open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=MANY_COLUMNS)
            writer.writeheader()
            writer.writerow(many_row)
    ratios = FloorReport(BENCHMARK)
    add_ratios(ratios, rows, many_row)
    ratios.finish(json_path(args, BENCHMARK), {"rows": rows, "many": many_row}, meta)


def run_rank(args: argparse.Namespace) -> None:
    """One of the two ranks: both take part in every measurement, the client reports."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() != 2:
        raise SystemExit(f"run on exactly 2 ranks (client + server), not {comm.Get_size()}")
    rng = np.random.default_rng(0)
    blocks = {s: rng.random(s // 8) for s in args.sizes}  # touched: no page faults later
    sends = time_sends(comm, blocks, args.repeat)
    writes = time_writes(comm, blocks, args.many, args.repeat, CLOCKS[args.clock])
    if comm.Get_rank() != CLIENT:
        return
    rows = [
        {"bytes": s} | writes["sizes"][s] | {k: v[s] for k, v in sends.items()} for s in args.sizes
    ]
    many_row = {"writes": args.many, "bytes_each": SMALL} | writes["many"] if args.many else None
    meta = {
        "repeat": args.repeat,
        "clock": args.clock,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
    }
    report(rows, many_row, args, meta)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if any(mark in os.environ for mark in LAUNCHED_MARKS):
        run_rank(args)
        return 0
    from damaris_ref.launch.launcher import run_job

    return run_job(2, [sys.executable, str(Path(__file__).resolve()), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
