"""Records what every script run receives, through the engine's observer hook."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Observation:
    """One script run: which server, iteration and the blocks of each variable (copied)."""

    server: int
    pyscript: str
    iteration: int
    damaris_env: dict
    dask_env: dict
    blocks: dict[str, dict[str, np.ndarray]]
    sort_lists: dict[str, list]
    type_strings: dict[str, str]
    keys: tuple[str, ...]


@dataclass
class Recorder:
    """Thread-safe list of observations; pass ``recorder.observe`` as the engine observer."""

    observations: list[Observation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, server: int, pyscript: str, damaris_data: dict) -> None:
        it = damaris_data["iteration_data"]
        variables = {k: v for k, v in it.items() if k != "iteration"}
        observation = Observation(
            server=server,
            pyscript=pyscript,
            iteration=it["iteration"],
            damaris_env=damaris_data["damaris_env"],
            dask_env=damaris_data["dask_env"],
            blocks={
                n: {k: a.copy() for k, a in v["numpy_data"].items()} for n, v in variables.items()
            },
            sort_lists={n: v["sort_list"] for n, v in variables.items()},
            type_strings={n: v["type_string"] for n, v in variables.items()},
            keys=tuple(damaris_data),
        )
        with self._lock:
            self.observations.append(observation)

    def server_sums(self, variable: str, iteration: int) -> dict[int, int | float]:
        """Per-server sum of a variable's blocks at an iteration (what a Python script sums)."""
        return {
            o.server: sum(a.sum(dtype=np.float64) for a in o.blocks.get(variable, {}).values())
            for o in self.observations
            if o.iteration == iteration
        }
