"""K simulations of ``stats_3dmesh_dask`` at the same time, with one progress bar over them.

Each simulation is an MPI job with a ``-v`` value of its own and a folder of its own; its
pyscript appends one line per statistics update to ``updates.jsonl`` there (the iteration and
the shared count right after the update), which is what the bar counts and the plot shows.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from damaris_ref.core.polling import PROCESS_POLL, poll_until
from damaris_ref.ensemble.progress import ProgressBar
from damaris_ref.stats.jobs import Job, running_jobs

#: the environment variable naming the folder a simulation's pyscript writes into
OUT_ENV = "DAMARIS_STATS_OUT"
UPDATES = "updates.jsonl"


@dataclass(frozen=True)
class SimulationRun:
    """What one simulation did: exit code (None: stopped at the timeout) and its updates."""

    value: int
    returncode: int | None
    updates: tuple[tuple[int, int], ...]
    folder: Path
    stderr_tail: str


@dataclass(frozen=True)
class Ensemble:
    """The simulations to run: one per value, each ``ranks`` ranks for ``iterations``."""

    config: Path
    values: tuple[int, ...]
    iterations: int
    ranks: int
    domains: int

    def command(self, value: int) -> list[str]:
        """One simulation's command line, as every rank runs it."""
        return [
            sys.executable,
            "-m",
            "damaris_ref.mocks",
            "stats_3dmesh_dask",
            str(self.config),
            *("-i", str(self.iterations), "-v", str(value), "-d", str(self.domains), "-s", "0"),
        ]


def read_updates(folder: Path) -> tuple[tuple[int, int], ...]:
    """The ``(iteration, count)`` pairs a simulation's pyscript wrote (whole lines only)."""
    path = folder / UPDATES
    if not path.is_file():
        return ()
    lines = path.read_text().split("\n")[:-1]  # the last piece is empty or still being written
    return tuple((r["iteration"], r["count"]) for r in map(json.loads, lines))


def run_ensemble(
    ensemble: Ensemble, out: Path, timeout: float, progress: bool | None = None
) -> list[SimulationRun]:
    """Run every simulation at once; stop what still runs after ``timeout`` seconds.
    ``progress`` draws the bar (None: only when stderr is a terminal)."""
    ended: dict[int, int | None] = {}
    total = len(ensemble.values) * ensemble.iterations
    with ProgressBar(total, draw=progress).shown() as bar, running_jobs() as jobs:
        started: dict[int, Job] = {}
        for value in ensemble.values:
            folder = out / f"sim_{value}"
            (folder / UPDATES).unlink(missing_ok=True)
            env = {**os.environ, OUT_ENV: str(folder.resolve())}
            started[value] = jobs.start(
                f"-v {value}", ensemble.ranks, ensemble.command(value), folder, env
            )
        seen = dict.fromkeys(ensemble.values, 0)

        def all_ended() -> bool:
            for value, job in started.items():
                if value in ended:
                    continue
                code = job.returncode  # first: every update is on disk once the job ended
                done = len(read_updates(job.folder))
                for _ in range(done - seen[value]):
                    bar.update(failed=False)
                seen[value] = done
                if code is not None:
                    ended[value] = code
                    for _ in range(ensemble.iterations - done):
                        bar.update(failed=True)
            return len(ended) == len(started)

        poll_until(all_ended, timeout, PROCESS_POLL)
        for value in started.keys() - ended.keys():
            ended[value] = None
            for _ in range(ensemble.iterations - seen[value]):
                bar.update(failed=True)
    return [
        SimulationRun(
            value,
            ended[value],
            read_updates(job.folder),
            job.folder,
            job.stderr_tail(),
        )
        for value, job in started.items()
    ]
