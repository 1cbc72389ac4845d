"""Benchmark of the ensemble runner against an upstream-style runner, measured in the same run.

1. Tasks per second for N echo tasks on a 2-worker LocalCluster: this project's runner (child
   imports only the standard-library helpers; framed stdout; checks) against an upstream-style
   one (child helper imports Dask; pickle + base64; the parent decodes stdout as is).
2. Encode + decode throughput of a 100 MiB float64 array for the pickle and the safe codec.

Floors, measured in the same run: starting as many bare interpreters (``python -c pass``) for
the tasks, and a ``base64`` round trip of the array's raw bytes for the codecs. The ratio
lines give each against its floor and go to JSON with the tables (``--json``, default
``out/bench_ensemble/bench_ensemble.json``).

    python benchmarks/bench_ensemble.py [--tasks 200] [--repeat 2]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from floors import FloorReport, add_output_options, json_path

from damaris_ref.ensemble import get_codec, open_client, run_ensemble

ECHO = Path(__file__).resolve().parent.parent / "mocks" / "echo.py"

#: the upstream sample's helper, reduced to what a simulation process runs (imports Dask)
UPSTREAM_HELPER = textwrap.dedent(
    """
    import base64
    import pickle
    import sys

    import dask  # noqa: F401  (upstream imports it at module level for its delayed task)


    def encode_transport_data(data):
        return base64.b64encode(pickle.dumps(data)).decode("utf-8")


    def decode_transport_data(encoded):
        return pickle.loads(base64.b64decode(encoded))


    def get_data_from_stdin():
        return decode_transport_data(sys.stdin.read())
    """
)
UPSTREAM_ECHO = textwrap.dedent(
    """
    import upstream_helper as helper

    params = helper.get_data_from_stdin()
    params["processed"] = True
    print(helper.encode_transport_data(params))
    """
)


def upstream_style_task(executable: str, script: str, params: dict) -> object:
    """The upstream runner's behaviour: no exit-code check, no framing, no timeout."""
    import base64
    import pickle

    child = subprocess.Popen(
        [executable, script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, _ = child.communicate(base64.b64encode(pickle.dumps(params)).decode())
    return pickle.loads(base64.b64decode(out))


def time_candidate(client, params: list[dict]) -> float:
    start = time.perf_counter()
    outcome = run_ensemble(client, sys.executable, ECHO, params)
    elapsed = time.perf_counter() - start
    assert outcome.ok and outcome.results == [{**p, "processed": True} for p in params]
    return elapsed


def time_baseline(client, script: Path, params: list[dict]) -> float:
    start = time.perf_counter()
    futures = [
        client.submit(upstream_style_task, sys.executable, str(script), p, pure=False)
        for p in params
    ]
    results = client.gather(futures)
    elapsed = time.perf_counter() - start
    assert results == [{**p, "processed": True} for p in params]
    return elapsed


def process_start_floor(n_tasks: int, concurrency: int) -> float:
    """Seconds to start and reap ``n_tasks`` bare interpreters (``python -c pass``), no Dask."""
    from concurrent.futures import ThreadPoolExecutor

    def start(_: int) -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    start_time = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(start, range(n_tasks)))
    return time.perf_counter() - start_time


def bench_tasks(
    report: FloorReport, n_tasks: int, repeat: int, threads_per_worker: int, processes: bool
) -> list[dict]:
    """Tasks through both runners against the process-start floor; the table's rows."""
    params = [{"task": i, "label": f"echo-{i}"} for i in range(n_tasks)]
    warmup = params[:4]
    candidate, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "upstream_helper.py").write_text(UPSTREAM_HELPER)
        script = Path(tmp) / "upstream_echo.py"
        script.write_text(UPSTREAM_ECHO)
        with open_client(
            n_workers=2, threads_per_worker=threads_per_worker, processes=processes
        ) as client:
            time_candidate(client, warmup)
            time_baseline(client, script, warmup)
            for _ in range(repeat):  # interleaved, so a change in machine load hits both
                candidate.append(time_candidate(client, params))
                baseline.append(time_baseline(client, script, params))
    floor = process_start_floor(n_tasks, 2 * threads_per_worker)
    best_candidate, best_baseline = min(candidate), min(baseline)
    kind = "processes" if processes else "threads"
    print(
        f"{n_tasks} echo tasks, LocalCluster(n_workers=2, threads_per_worker="
        f"{threads_per_worker}, {kind}), best of {repeat}, {os.cpu_count()} cores"
    )
    print(f"{'runner':<38} {'seconds':>8} {'tasks/s':>9} {'vs upstream':>12}")
    rows = (
        ("upstream-style (helper imports dask)", best_baseline),
        ("this runner", best_candidate),
        ("floor: bare `python -c pass`, no Dask", floor),
    )
    for name, seconds in rows:
        print(
            f"{name:<38} {seconds:8.2f} {n_tasks / seconds:9.1f} {best_baseline / seconds:11.1f}x"
        )
    for name, seconds in rows[:2]:
        report.add(f"{n_tasks} tasks, {name}", seconds, "bare interpreters", floor, unit="s")
    return [{"runner": name, "seconds": seconds, "tasks": n_tasks} for name, seconds in rows]


def base64_round_trip_seconds(array: np.ndarray) -> float:
    """The codecs' floor: the array's raw bytes to base64 text and back, nothing else."""
    start = time.perf_counter()
    base64.b64decode(base64.b64encode(array.tobytes()).decode("ascii"))
    return time.perf_counter() - start


def bench_codecs(report: FloorReport, mebibytes: int) -> list[dict]:
    """Both codecs' round trips against the base64 floor; the table's rows."""
    array = np.random.default_rng(0).standard_normal(mebibytes * 2**20 // 8)
    print(f"\nencode + decode of a {mebibytes} MiB float64 array (to and from base64 text)")
    print(f"{'codec':<8} {'encode s':>9} {'decode s':>9} {'MiB/s (round trip)':>19}")
    floor = base64_round_trip_seconds(array)
    rows = []
    for name in ("pickle", "safe"):
        codec = get_codec(name)
        start = time.perf_counter()
        text = codec.encode({"data": array})
        encoded = time.perf_counter()
        back = codec.decode(text)
        decoded = time.perf_counter()
        assert np.array_equal(back["data"], array)
        print(
            f"{name:<8} {encoded - start:9.2f} {decoded - encoded:9.2f} "
            f"{mebibytes / (decoded - start):19.0f}"
        )
        del text, back
        report.add(
            f"{name} codec round trip", decoded - start, "base64 of raw bytes", floor, unit="s"
        )
        rows.append({"codec": name, "encode_s": encoded - start, "decode_s": decoded - encoded})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=2)
    parser.add_argument("--processes", action="store_true", help="worker processes, not threads")
    parser.add_argument("--mebibytes", type=int, default=100)
    add_output_options(parser, "bench_ensemble")
    args = parser.parse_args()
    report = FloorReport("bench_ensemble")
    tasks = bench_tasks(report, args.tasks, args.repeat, args.threads_per_worker, args.processes)
    codecs = bench_codecs(report, args.mebibytes)
    print()
    report.finish(json_path(args, "bench_ensemble"), {"tasks": tasks, "codecs": codecs}, vars(args))


if __name__ == "__main__":
    main()
