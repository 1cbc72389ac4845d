"""Global arrays kept on the scheduler as named datasets, for analysis clients outside the
simulation: published by ``global_array(..., keep=N)`` for its last N script runs, found by
:func:`iteration_array`, released by :func:`release_kept`.

The scheduler's list of datasets is the only record of them: nothing is kept in a process.
"""

from __future__ import annotations

from collections.abc import Iterator

import dask.array as da
from distributed import Client

from damaris_ref.dask_bridge.keys import KeptDataset, dataset_name, kept_dataset


def publish(
    client: Client, array: da.Array, run: tuple[str, str, str], iteration: int, keep: int
) -> None:
    """Publish ``array`` and unpublish this run's arrays of the variable beyond the newest
    ``keep``."""
    client.publish_dataset(array, name=dataset_name(*run, iteration), override=True)
    simulation, magic, variable = run
    published = sorted(
        (int(kept.iteration), kept.name)
        for kept in _kept(client, simulation, magic)
        if kept.variable == variable
    )
    for _, name in published[:-keep]:
        client.unpublish_dataset(name)


def _kept(client: Client, simulation: str | None, magic: str | None) -> Iterator[KeptDataset]:
    """Every dataset ``global_array(..., keep=N)`` published on ``client``'s scheduler, of the
    given simulation and run if named."""
    for name in client.list_datasets():
        kept = kept_dataset(name)
        if kept is not None and (
            simulation in (None, kept.simulation) and magic in (None, kept.magic)
        ):
            yield kept


def iteration_array(
    client: Client,
    variable: str,
    iteration: int,
    simulation: str | None = None,
    magic: str | None = None,
) -> da.Array:
    """From any client of the scheduler: the kept global array of ``variable`` at ``iteration``.

    ``simulation``/``magic`` narrow the search; by default the newest run that published it.
    """
    candidates = [
        (int(kept.magic), kept.name)
        for kept in _kept(client, simulation, magic)
        if kept.variable == variable and kept.iteration == str(iteration)
    ]
    if not candidates:
        raise KeyError(
            f"no kept global array of {variable!r} at iteration {iteration} on this scheduler "
            "(the pyscript must call global_array(..., keep=N) and the iteration must be among "
            "the last N)"
        )
    return client.get_dataset(max(candidates)[1])


def release_kept(
    client: Client, simulation: str | None = None, magic: str | None = None
) -> list[str]:
    """Unpublish the arrays ``global_array(..., keep=N)`` kept on the scheduler (of one
    simulation and run if named) and return their dataset names.

    A kept array holds its blocks on the workers for as long as it is published, and Dask
    retires no worker holding data that is still wanted: call this once the analysis is done,
    then ``client.retire_workers(...)`` can stop workers kept with ``keep_workers: yes``.
    """
    names = sorted(kept.name for kept in _kept(client, simulation, magic))
    for name in names:
        client.unpublish_dataset(name)
    return names
