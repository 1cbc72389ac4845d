"""Run one script over many parameter sets on a Dask cluster and collect every outcome.

Results come back in submission order; a failed task is reported with its parameters and its
error while the others' results are kept; Dask retries a failed task when asked to.
"""

from __future__ import annotations

import itertools
import os
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, as_completed

from damaris_ref.core.errors import UsageError
from damaris_ref.ensemble.codec_protocol import Codec
from damaris_ref.ensemble.codecs import get_codec
from damaris_ref.ensemble.progress import ProgressBar
from damaris_ref.ensemble.runner import Executable, run_simulation
from damaris_ref.ensemble.timeouts import resolve_timeout


@dataclass(frozen=True)
class TaskFailure:
    """One parameter set whose simulation raised instead of returning a result."""

    index: int
    params: Mapping[str, Any]
    error: BaseException

    def __str__(self) -> str:
        return f"task {self.index} {reprlib.repr(dict(self.params))} failed: {self.error}"


@dataclass
class EnsembleResult:
    """Outcomes in submission order: ``results[i]`` belongs to ``params[i]``, ``None`` if failed."""

    params: list[dict[str, Any]]
    results: list[Any]
    failures: list[TaskFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every task returned a result."""
        return not self.failures

    def outcomes(self) -> list[tuple[dict[str, Any], Any, TaskFailure | None]]:
        """``(params, result, failure or None)`` for every task, in submission order."""
        failures = {failure.index: failure for failure in self.failures}
        pairs = zip(self.params, self.results, strict=True)
        return [(params, result, failures.get(i)) for i, (params, result) in enumerate(pairs)]

    def succeeded(self) -> list[tuple[dict[str, Any], Any]]:
        """``(params, result)`` for the tasks that returned, in submission order."""
        return [(params, result) for params, result, failure in self.outcomes() if failure is None]


def parameter_grid(values: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the given values, the last name varying fastest.

    >>> parameter_grid({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    return list(iter_grid(values))


def grid_shape(values: Mapping[str, Sequence[Any]]) -> tuple[int, ...]:
    """How many values each name takes (the grid's size is their product), checking that each
    has a non-empty list: what a grid costs is known before any combination is made."""
    for name, options in values.items():
        if isinstance(options, str | bytes) or not isinstance(options, Sequence):
            raise TypeError(f"values for {name!r} must be a list of values, got {options!r}")
        if not options:
            raise UsageError(f"no values given for {name!r}")
    return tuple(len(options) for options in values.values())


def iter_grid(values: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """:func:`parameter_grid`, one combination at a time (the values are checked at once)."""
    grid_shape(values)
    names = list(values)
    return (dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values()))


def run_ensemble(
    client: Client,
    executable: Executable,
    script: str | os.PathLike[str],
    param_sets: Iterable[Mapping[str, Any]],
    *,
    codec: str | Codec | None = None,
    timeout: float | None = None,
    retries: int = 0,
    progress: bool | None = False,
) -> EnsembleResult:
    """Run ``executable script`` once per parameter set on ``client``'s cluster.

    ``codec`` and ``timeout`` (each simulation's limit) are resolved here, so the defaults
    chosen in this process apply on remote workers too; ``retries`` re-runs a failed task up
    to that many more times; ``progress`` draws a bar on stderr while tasks run (None: only
    when stderr is a terminal).
    """
    if retries < 0:
        raise UsageError(f"retries must be 0 or more, got {retries}")
    codec_name = get_codec(codec).name
    limit = resolve_timeout(timeout)
    params = [dict(p) for p in param_sets]
    futures = client.map(  # one batch: cheaper per task than a submit call each
        run_simulation,
        [executable] * len(params),
        [script] * len(params),
        params,
        codec=codec_name,
        timeout=limit,
        pure=False,
        retries=retries,
    )
    if progress is not False:
        with ProgressBar(
            len(futures), draw=progress
        ).shown() as bar:  # a child's logged stderr goes above it
            for future in as_completed(futures, loop=client.loop):  # not the default client's
                bar.update(failed=future.status == "error")
    results: list[Any] = []
    failures: list[TaskFailure] = []
    for index, future in enumerate(futures):
        try:
            results.append(future.result())
        except Exception as exc:
            results.append(None)
            failures.append(TaskFailure(index, params[index], exc))
    return EnsembleResult(params, results, failures)
