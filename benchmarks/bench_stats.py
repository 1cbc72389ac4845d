"""Benchmark of the shared running statistics against the upstream way, in the same run.

The cost of one ``update`` (lock, read the published statistics, add one field, publish)
at the 1st, 100th and 500th update, for

- **ours**: ``damaris4py.dask.damaris_stats.DaskStats``, which persists the new state on the
  workers before publishing it, so every published array is one task per chunk;
- **upstream-style**: the same Welford update built as upstream's class builds it, lazily on
  the previously published arrays and published without persisting, so each published graph
  holds every update before it (this file's own code, modelled on upstream's behaviour).

Each update gets a fresh field already on the workers, as a simulation hands it over; the
two ways take turns, each on a cluster of its own (so the upstream way's growing graphs do
not slow ours down). Reported per way: the median time of the 10 updates nearest to the
1st, 100th and 500th, the ratios to the first, and the time to read the mean back
(``return_mean`` and compute it) after the last update. Ours runs every update; the upstream
way only the timed ones: before each window its published expressions are built to the
depth the updates in between would have given them, in one go (one by one, its 500 updates
would take the best part of an hour, which is the point).

    python benchmarks/bench_stats.py [--updates 500] [--side 32]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import time
import uuid

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster, Lock

from damaris4py.dask.damaris_stats import DaskStats

WINDOW = 10


class UpstreamStyleStats:
    """Upstream's published layout and update order, lazy: nothing is persisted."""

    def __init__(self, name: str, lock_name: str):
        self.name, self.lock_name = name, lock_name
        self.names = [f"{name}_{part}" for part in ("count", "mean", "M2")]
        self.count = 0

    def update(self, x: da.Array, client: Client) -> int:
        """One update, under the lock: read, extend the expressions by one sample, republish."""
        lock = Lock(self.lock_name, scheduler_rpc=client.scheduler, loop=client.loop)
        if not lock.acquire(timeout=60):
            raise TimeoutError(self.lock_name)
        try:
            self._publish(client, *_welford(*self._read(client, x), x))
        finally:
            lock.release()
        return self.count

    def fast_forward(self, client: Client, fields: list[da.Array]) -> None:
        """Publish what as many updates with ``fields`` would have published: the same lazy
        expressions, built here in one go (the cost of each of those updates is not measured)."""
        state = self._read(client, fields[0])
        for x in fields:
            state = _welford(*state, x)
        self._publish(client, *state)

    def _read(self, client: Client, like: da.Array) -> tuple[int, da.Array, da.Array]:
        if self.names[0] in client.list_datasets():
            return tuple(client.get_dataset(self.names))
        return 0, da.zeros_like(like), da.zeros_like(like)

    def _publish(self, client: Client, count: int, mean: da.Array, m2: da.Array) -> None:
        for name in self.names:
            if name in client.list_datasets():
                client.unpublish_dataset(name)
        client.publish_dataset(**dict(zip(self.names, (count, mean, m2), strict=True)))
        self.count = count

    def return_mean(self, client: Client) -> da.Array:
        return client.get_dataset(self.names[1])


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
    return client.persist(x)


def timed_updates(reported: tuple[int, ...], updates: int) -> dict[int, range]:
    """For each reported update, the ``WINDOW`` updates nearest to it (numbered from 1)."""
    firsts = {n: min(max(n - WINDOW // 2 + 1, 1), updates - WINDOW + 1) for n in reported}
    return {n: range(first, first + WINDOW) for n, first in firsts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=500, help="updates per way")
    parser.add_argument("--side", type=int, default=32, help="field side (side**3 doubles)")
    args = parser.parse_args(argv)
    logging.getLogger("distributed").setLevel(logging.ERROR)  # clusters' teardown chatter
    if args.updates < 100 + WINDOW:
        parser.error(f"--updates must be at least {100 + WINDOW}")
    reported = (1, 100, args.updates)
    windows = timed_updates(reported, args.updates)
    timed = {k for window in windows.values() for k in window}
    tag = uuid.uuid4().hex[:8]
    ours = DaskStats(f"ours-{tag}", f"ours-lock-{tag}")
    upstream = UpstreamStyleStats(f"upstream-{tag}", f"upstream-lock-{tag}")
    ways = {"ours": ours, "upstream-style": upstream}
    times: dict[str, dict[int, float]] = {name: {} for name in ways}
    print(
        f"{args.updates} updates of a {args.side}^3 float64 field in 8 chunks "
        f"({args.side**3 * 8 / 2**10:g} KiB); per way a cluster of 2 workers of 1 thread; "
        "times in ms\n"
    )
    with contextlib.ExitStack() as stack:
        clients = {
            name: stack.enter_context(
                Client(
                    stack.enter_context(
                        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
                    ),
                    set_as_default=False,
                )
            )
            for name in ways
        }
        for update in range(1, args.updates + 1):
            order = list(ways.items()) if update % 2 else list(ways.items())[::-1]
            for name, way in order:
                if way is upstream and update not in timed:
                    continue  # its expressions grow anyway: fast-forwarded below
                client = clients[name]
                if way is upstream and upstream.count < update - 1:
                    gap = range(upstream.count + 1, update)
                    upstream.fast_forward(client, [field(client, args.side, k) for k in gap])
                x = field(client, args.side, seed=update)
                client.gather(client.compute(x.sum()))  # on the workers before the clock starts
                started = time.perf_counter()
                way.update(x, client)
                times[name][update] = time.perf_counter() - started
        reads = {}
        for name, way in ways.items():
            started = time.perf_counter()
            mean = clients[name].compute(way.return_mean(clients[name]), sync=True)
            reads[name] = time.perf_counter() - started
            if not np.allclose(mean, 1e8, rtol=1e-6):
                raise SystemExit(f"bench_stats: {name}'s mean is not what the fields hold")

    header = f"{'way':<15}" + "".join(f"{f'update {n}':>13}" for n in reported)
    header += f"{f'{reported[1]}/1':>9}{f'{reported[2]}/1':>9}{'read':>10}"
    print(header)
    print("-" * len(header))
    for name in ways:
        medians = [statistics.median(times[name][k] for k in windows[n]) for n in reported]
        print(
            f"{name:<15}"
            + "".join(f"{m * 1e3:>13.1f}" for m in medians)
            + f"{medians[1] / medians[0]:>9.2f}{medians[2] / medians[0]:>9.2f}"
            + f"{reads[name] * 1e3:>10.0f}"
        )
    print(f"\n(update N: the median of the {WINDOW} updates nearest to N; read: the mean's")
    print(" return_mean and compute after the last update)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
