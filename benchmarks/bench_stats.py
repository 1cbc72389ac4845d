"""Benchmark of the shared running statistics against the upstream way, in the same run.

The cost of one ``update`` (lock, read the published statistics, add one field, publish)
at the 1st, 100th and 500th update, for

- **ours**: ``damaris4py.dask.damaris_stats.DaskStats``, which persists the new state on the
  workers before publishing it, so every published array is one task per chunk;
- **upstream-style**: the same Welford update built as upstream's class builds it, lazily on
  the previously published arrays and published without persisting, so each published graph
  holds every update before it (this file's own code, modelled on upstream's behaviour).

Per way, three sets of statistics are brought to just before their update (1, 100 or 500)
and then updated in turns, ten times each (updates N to N+9), so that a busy machine slows
all three alike; the first set is a new one (a name nothing was published under) each time,
so every one of its updates is an update 1. Each
update gets a fresh field already on the workers, as a simulation hands it over. Ours gets
there by real updates; the upstream way's published expressions are built to the same depth
in one go (one by one, its 500 updates would take the best part of an hour, which is the
point). The two ways run one after the other, each on a fresh cluster of its own, so that the
upstream way's growing graphs (and the CPU they take) do not slow ours down. Reported: the
median of each ten, the ratios to update 1, and the time to read the mean back
(``return_mean`` and compute it) after update 500.

The floor, measured in the same run: the same Welford update in NumPy, in one process, on
the same field already in memory (what no shared, locked, published update can beat). The
ratio lines give every reported update of both ways against it, and go to JSON with the table
(``--json``, default ``out/bench_stats/bench_stats.json``).

    python benchmarks/bench_stats.py [--side 32]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import uuid
from collections.abc import Callable

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster, Lock
from floors import FloorReport, add_output_options, json_path

from damaris4py.dask.damaris_stats import DaskStats

#: the updates whose cost is reported, and how many times each is measured
REPORTED = (1, 100, 500)
REPEATS = 10


class UpstreamStyleStats:
    """Upstream's published layout and update order, lazy: nothing is persisted."""

    def __init__(self, name: str, lock_name: str):
        self.name, self.lock_name = name, lock_name
        self.names = [f"{name}_{part}" for part in ("count", "mean", "M2")]

    def update(self, x: da.Array, client: Client) -> int:
        """One update, under the lock: read, extend the expressions by one sample, republish."""
        lock = Lock(self.lock_name, scheduler_rpc=client.scheduler, loop=client.loop)
        if not lock.acquire(timeout=60):
            raise TimeoutError(self.lock_name)
        try:
            count, mean, m2 = _welford(*self._read(client, x), x)
            self._publish(client, count, mean, m2)
        finally:
            lock.release()
        return count

    def fast_forward(self, client: Client, fields: list[da.Array]) -> None:
        """Publish what as many updates with ``fields`` would have published: the same lazy
        expressions, built here in one go."""
        state = self._read(client, fields[0])
        for x in fields:
            state = _welford(*state, x)
        self._publish(client, *state)

    def return_mean(self, client: Client) -> da.Array:
        """The published mean, as upstream's reader gets it."""
        return client.get_dataset(self.names[1])

    def _read(self, client: Client, like: da.Array) -> tuple[int, da.Array, da.Array]:
        if self.names[0] in client.list_datasets():
            return tuple(client.get_dataset(self.names))
        return 0, da.zeros_like(like), da.zeros_like(like)

    def _publish(self, client: Client, *values: object) -> None:
        """Unpublish, then publish ``values`` (count, mean, M2), as upstream does."""
        for name in self.names:
            if name in client.list_datasets():
                client.unpublish_dataset(name)
        client.publish_dataset(**dict(zip(self.names, values, strict=True)))


def _welford(
    count: int, mean: da.Array, m2: da.Array, x: da.Array
) -> tuple[int, da.Array, da.Array]:
    """Welford's step as lazy expressions on the previous ones (spec §4)."""
    count += 1
    delta = x - mean
    mean = mean + delta / count
    return count, mean, m2 + delta * (x - mean)


def field(client: Client, side: int, seed: int) -> da.Array:
    """A fresh float64 field of side**3 on the workers, in 8 chunks."""
    x = da.random.default_rng(seed).normal(1e8, 1.0, (side,) * 3, chunks=side // 2)
    x = client.persist(x)
    client.gather(client.compute(x.sum()))  # computed before any clock starts
    return x


def advance(way: DaskStats | UpstreamStyleStats, client: Client, updates: int, side: int) -> None:
    """Bring ``way`` to ``updates`` samples without timing it."""
    if updates == 0:
        return
    if isinstance(way, UpstreamStyleStats):
        way.fast_forward(client, [field(client, side, seed) for seed in range(updates)])
    else:
        for seed in range(updates):
            way.update(field(client, side, seed), client)


def measure(
    make: Callable[[str], DaskStats | UpstreamStyleStats], side: int
) -> tuple[dict[int, float], float]:
    """Median seconds of the reported updates of one way, and the time to read the mean back
    after update 500; ``make(label)`` makes a set of statistics of that way."""
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        ways = {n: make(str(n)) for n in REPORTED}
        for n, way in ways.items():
            advance(way, client, n - 1, side)
        times: dict[int, list[float]] = {n: [] for n in REPORTED}
        for repeat in range(REPEATS):
            for n in REPORTED[repeat % 3 :] + REPORTED[: repeat % 3]:  # each goes first in turn
                if n == 1:
                    ways[n] = make(f"1-{repeat}")  # nothing published yet: an update 1 again
                x = field(client, side, seed=10_000 + repeat)
                started = time.perf_counter()
                ways[n].update(x, client)
                times[n].append(time.perf_counter() - started)
        started = time.perf_counter()
        mean = client.compute(ways[REPORTED[-1]].return_mean(client), sync=True)
        read = time.perf_counter() - started
        if not np.allclose(mean, 1e8, rtol=1e-6):
            raise SystemExit("bench_stats: the mean is not what the fields hold")
    return {n: statistics.median(t) for n, t in times.items()}, read


def numpy_update_seconds(side: int) -> float:
    """The floor: median seconds of one Welford update of a side**3 field in NumPy."""
    rng = np.random.default_rng(0)
    mean, m2 = rng.normal(1e8, 1.0, (side,) * 3), np.zeros((side,) * 3)
    times = []
    for count in range(1, REPEATS + 1):
        x = rng.normal(1e8, 1.0, (side,) * 3)
        started = time.perf_counter()
        delta = x - mean
        mean = mean + delta / count
        m2 = m2 + delta * (x - mean)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=32, help="field side (side**3 doubles)")
    add_output_options(parser, "bench_stats")
    args = parser.parse_args(argv)
    report, table = FloorReport("bench_stats"), []
    logging.getLogger("distributed").setLevel(logging.ERROR)  # clusters' teardown chatter
    tag = uuid.uuid4().hex[:8]
    makers = {
        "ours": lambda n: DaskStats(f"ours-{tag}-{n}", f"ours-lock-{tag}-{n}"),
        "upstream-style": lambda n: UpstreamStyleStats(f"up-{tag}-{n}", f"up-lock-{tag}-{n}"),
    }
    print(
        f"updates of a {args.side}^3 float64 field in 8 chunks ({args.side**3 * 8 / 2**10:g} "
        f"KiB); per way a cluster of 2 workers of 1 thread; median of {REPEATS}, in ms\n"
    )
    header = f"{'way':<15}" + "".join(f"{f'update {n}':>13}" for n in REPORTED)
    header += "".join(f"{f'{n}/1':>9}" for n in REPORTED[1:]) + f"{'read':>10}"
    print(header)
    print("-" * len(header))
    for name, make in makers.items():
        medians, read = measure(make, args.side)
        print(
            f"{name:<15}"
            + "".join(f"{medians[n] * 1e3:>13.1f}" for n in REPORTED)
            + "".join(f"{medians[n] / medians[1]:>9.2f}" for n in REPORTED[1:])
            + f"{read * 1e3:>10.0f}",
            flush=True,
        )
        floor = numpy_update_seconds(args.side)
        for n in REPORTED:
            report.add(f"{name}, update {n}", medians[n] * 1e3, "numpy update", floor * 1e3)
        table.append({"way": name, "read_ms": read * 1e3, "numpy_update_ms": floor * 1e3})
        table[-1] |= {f"update_{n}_ms": medians[n] * 1e3 for n in REPORTED}
    print("\n(read: return_mean and compute, after update 500)\n")
    report.finish(json_path(args, "bench_stats"), table, vars(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
