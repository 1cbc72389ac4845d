"""The global ``dask.array`` of a variable, built from every server's blocks by offsets.

Each server sends its blocks straight to its own worker (``scatter(direct=True)``) under
deterministic keys; only keys, offsets and shapes travel to server 0 (over the server
communicator), which arranges them on a chunk grid (:mod:`damaris_ref.grid`: irregular chunks
allowed, gaps and overlaps rejected) and returns the array. Array data never passes through
the scheduler. Servers hold their futures until their next call (or until every server
stops), so server 0 can compute with the array during its script; ``keep=N`` also publishes
the array as a named dataset for N script runs, for analysis clients outside the simulation
(:func:`iteration_array`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import dask
import dask.array as da
import numpy as np
from distributed import Client, Future

from damaris_ref.dask_bridge.session import current_session
from damaris_ref.data import parse_block_key
from damaris_ref.grid import block_grid

#: what server 0 learns of every block: its Dask key, offsets, shape and dtype string
_BlockMeta = tuple[str, tuple[int, ...], tuple[int, ...], str]

_published: dict[tuple[str, str, str], deque] = {}


class DaskBridgeError(RuntimeError):
    """A collective bridge call failed on some server; every server raises it alike."""


def block_key_name(
    simulation: str, magic: str, variable: str, iteration: int, source: int, block: int
) -> str:
    """The Dask key of one block: unique per run, variable, iteration, source and block."""
    return f"damaris-{simulation}-{magic}-{variable}-i{iteration}-P{source}-B{block}"


def dataset_name(simulation: str, magic: str, variable: str, iteration: int) -> str:
    """Name under which a kept iteration's global array is published on the scheduler."""
    return f"damaris/{simulation}/{magic}/{variable}/{iteration}"


def global_array(
    damaris_data: dict,
    variable: str,
    server_comm: Any,
    client: Client | None = None,
    *,
    keep: int = 0,
) -> da.Array | None:
    """Collective over ``server_comm``: the global array on server 0, None on the others.

    ``client`` (default: this server's session client) is the one the returned array is
    bound to. Raises a clear error when this pyscript has no working scheduler.
    """
    env, it = damaris_data["damaris_env"], damaris_data["iteration_data"]
    scheduler_file = damaris_data["dask_env"]["dask_scheduler_file"]
    session = current_session()
    if not scheduler_file or session is None:
        raise RuntimeError(
            f"global_array({variable!r}) needs Dask: this pyscript's scheduler_file is empty "
            "or no scheduler answered (see the warning printed at start-up)"
        )
    simulation, magic, iteration = (
        env["simulation_name"],
        env["simulation_magic_number"],
        it["iteration"],
    )
    entry = it.get(variable, {"numpy_data": {}, "sort_list": []})
    own_client = session.client(scheduler_file)
    blocks = {}
    meta: list[_BlockMeta] = []
    for _tag, key, offsets in entry["sort_list"]:
        array = entry["numpy_data"][key]
        source, block = parse_block_key(key)
        name = block_key_name(simulation, magic, variable, iteration, source, block)
        blocks[name] = array
        meta.append((name, tuple(offsets), array.shape, array.dtype.str))
    futures: dict[str, Future] = {}
    error: Exception | None = None
    if blocks:
        try:
            futures = own_client.scatter(
                blocks, workers=[session.worker_address(scheduler_file)], direct=True, hash=False
            )
        except Exception as failed:  # raised below by every server: none may skip the gather
            error = failed
    sending = f"server {session.server_id} sending its blocks to worker {session.worker_name!r}"
    gathered = server_comm.gather((meta, _describe(error, sending)), root=0)
    result, failures = None, None
    if server_comm.Get_rank() == 0:
        failures = [why for _, why in gathered if why]
        if not failures:
            try:
                result = _assemble(
                    [m for part, _ in gathered for m in part], client or own_client, variable
                )
                if keep > 0:
                    run = (simulation, magic, variable)
                    _publish(client or own_client, result, run, iteration, keep)
            except Exception as failed:
                error = failed
                failures = [_describe(failed, "server 0 building the array")]
    # once this broadcast arrives server 0 references every block, and it has finished its
    # previous script run: only now may the previous call's blocks go
    failures = server_comm.bcast(failures, root=0)
    session.held[(scheduler_file, variable)] = list(futures.values())
    if failures:
        raise DaskBridgeError(
            f"global_array({variable!r}) failed at iteration {iteration}: " + "; ".join(failures)
        ) from error
    return result


def _describe(error: Exception | None, where: str) -> str | None:
    return None if error is None else f"{where}: {type(error).__name__}: {error}"


def _assemble(meta: list[_BlockMeta], client: Client, variable: str) -> da.Array:
    if not meta:
        raise ValueError(f"variable {variable!r} has no blocks on any server this iteration")
    dtypes = {m[3] for m in meta}
    if len(dtypes) != 1:
        raise ValueError(f"variable {variable!r} has blocks of several dtypes: {sorted(dtypes)}")
    dtype = np.dtype(dtypes.pop())
    grid = block_grid(
        [(name, offsets, shape) for name, offsets, shape, _ in meta], origin=(0,) * len(meta[0][1])
    )
    shapes = {m[0]: m[2] for m in meta}
    pieces = np.empty([len(c) for c in grid.chunks], dtype=object)
    for index, name in grid.cells.items():
        future: Future[np.ndarray] = Future(name, client)
        pieces[index] = da.from_delayed(dask.delayed(future), shape=shapes[name], dtype=dtype)
    return da.block(pieces.tolist())


def _publish(
    client: Client, array: da.Array, run: tuple[str, str, str], iteration: int, keep: int
) -> None:
    name = dataset_name(*run, iteration)
    client.publish_dataset(array, name=name, override=True)
    window = _published.setdefault(run, deque())
    window.append(name)
    while len(window) > keep:
        client.unpublish_dataset(window.popleft())


def _kept(
    client: Client, simulation: str | None, magic: str | None
) -> Iterator[tuple[str, str, str, str, str]]:
    """``(name, simulation, magic, variable, iteration)`` of every dataset ``global_array(...,
    keep=N)`` published on ``client``'s scheduler, of the given simulation and run if named."""
    for name in client.list_datasets():
        parts = str(name).split("/")
        if len(parts) == 5 and parts[0] == "damaris":
            _, sim, run_magic, variable, iteration = parts
            if simulation in (None, sim) and magic in (None, run_magic):
                yield str(name), sim, run_magic, variable, iteration


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
        (int(run_magic), name)
        for name, _sim, run_magic, var, it in _kept(client, simulation, magic)
        if var == variable and it == str(iteration)
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
    names = sorted(name for name, *_ in _kept(client, simulation, magic))
    for name in names:
        client.unpublish_dataset(name)
    return names
