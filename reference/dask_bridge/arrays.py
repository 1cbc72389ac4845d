"""The global ``dask.array`` of a variable, built from every server's blocks by offsets.

Each server puts its blocks on its own worker (:meth:`DaskSession.deliver`: copied once into
shared memory and leased under one key per server and call); only keys, offsets and shapes
travel to server 0 (over the server communicator), which arranges them on a chunk grid
(:mod:`damaris_ref.core.grid`: irregular chunks allowed, gaps and overlaps rejected) and returns
the array, each chunk a task reading its block where it lies. Array data never passes through
the scheduler. Servers hold their blocks until their next call (or until every server
stops), so server 0 can compute with the array during its script; ``keep=N`` also publishes
the array as a named dataset for N script runs, for analysis clients outside the simulation
(:func:`iteration_array`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.typing import Key
from distributed import Client, Future

from damaris_ref.core.data import parse_block_key
from damaris_ref.core.errors import DaskError
from damaris_ref.core.grid import block_grid
from damaris_ref.core.polling import sleeping_barrier
from damaris_ref.dask_bridge.segments import Lease, block_view
from damaris_ref.dask_bridge.session import current_session
from damaris_ref.launch.job_abort import abort_job

#: seconds a server waits for the other servers at a step of :func:`global_array`: longer
#: than any analysis should take, since server 0 may still be in its last one; a server that
#: never comes (its pyscript raised before the call) then ends the job instead of hanging it
SERVERS_TIMEOUT = 600.0


#: the earlier name of the bridge's error: a deprecated alias, kept for one release
DaskBridgeError = DaskError


def block_key_name(
    simulation: str, magic: str, variable: str, iteration: int, source: int, block: int
) -> str:
    """The name of one block: unique per run, variable, iteration, source and block (its
    Dask key where blocks are scattered rather than shared)."""
    return f"damaris-{simulation}-{magic}-{variable}-i{iteration}-P{source}-B{block}"


def array_name(simulation: str, magic: str, variable: str, iteration: int) -> str:
    """The name of a global array: its chunks are the keys ``(name, i, j, ...)``."""
    return f"damaris-{simulation}-{magic}-{variable}-i{iteration}"


def segment_key(simulation: str, magic: str, variable: str, iteration: int, server: int) -> str:
    """The Dask key of the blocks one server delivered to its worker for one call."""
    return f"{array_name(simulation, magic, variable, iteration)}-S{server}"


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
        raise DaskError(
            f"global_array({variable!r}) needs Dask: this pyscript's scheduler_file is empty "
            "or no scheduler answered (see the warning printed at start-up)"
        )
    simulation, magic, iteration = (
        env["simulation_name"],
        env["simulation_magic_number"],
        it["iteration"],
    )
    entry = it.get(variable, {"numpy_data": {}, "sort_list": []})
    names, blocks = [], []
    for _tag, key, _offsets in entry["sort_list"]:
        names.append(block_key_name(simulation, magic, variable, iteration, *parse_block_key(key)))
        blocks.append(entry["numpy_data"][key])
    delivery, error = None, None
    if blocks:
        key = segment_key(simulation, magic, variable, iteration, session.server_id)
        try:
            delivery = session.deliver(scheduler_file, key, names, blocks)
        except Exception as failed:  # raised below by every server: none may skip the gather
            error = failed
    placed = []
    if delivery is not None:
        for name, (_tag, _key, offsets), array, source in zip(
            names, entry["sort_list"], blocks, delivery.sources, strict=True
        ):
            placed.append((name, tuple(offsets), array.shape, array.dtype.str, source))
    sending = f"server {session.server_id} sending its blocks to worker {session.worker_name!r}"
    where = f"global_array({variable!r}) at iteration {iteration}"
    _join(server_comm, where)  # server 0 may still be busy with its last analysis
    gathered = server_comm.gather((placed, _describe(error, sending), iteration), root=0)
    result, failures = None, None
    if server_comm.Get_rank() == 0:
        _check_same_call(server_comm, gathered, where)
        failures = [why for _, why, _ in gathered if why]
        if not failures:
            bound = client or session.client(scheduler_file)
            try:
                result = _assemble(
                    [p for part, _, _ in gathered for p in part],
                    bound,
                    variable,
                    array_name(simulation, magic, variable, iteration),
                )
                if keep > 0:
                    _publish(bound, result, (simulation, magic, variable), iteration, keep)
            except Exception as failed:
                error = failed
                failures = [_describe(failed, "server 0 building the array")]
    # once this broadcast arrives server 0 references every block, and it has finished its
    # previous script run: only now may the previous call's blocks go
    _join(server_comm, where)  # while server 0 builds the array
    failures = server_comm.bcast(failures, root=0)
    session.hold(scheduler_file, variable, delivery)
    if failures:
        raise DaskError(
            f"global_array({variable!r}) failed at iteration {iteration}: " + "; ".join(failures)
        ) from error
    return result


def _join(server_comm: Any, where: str) -> None:
    """Wait for every server at this step; end the job if one does not come in time."""
    if not sleeping_barrier(server_comm, SERVERS_TIMEOUT):
        _broken(
            server_comm,
            f"{where}: the other servers did not reach it within {SERVERS_TIMEOUT:g} s (every "
            "server must call it at every iteration; did a pyscript raise before its call?)",
        )


def _check_same_call(server_comm: Any, gathered: list, where: str) -> None:
    """On server 0: every server is in the call of the same iteration, else end the job."""
    iterations = [iteration for _, _, iteration in gathered]
    if len(set(iterations)) > 1:
        _broken(
            server_comm,
            f"{where}: the servers are in calls of different iterations ({iterations}, by "
            "server): a server skipped a call (did its pyscript raise before calling it?)",
        )


def _broken(server_comm: Any, why: str) -> None:
    """The servers' calls no longer match: no later call can, so the job ends (MPI) or this
    server raises (the in-process engine, whose threads cannot be aborted)."""
    error = DaskError(why)
    if hasattr(server_comm, "Abort"):
        abort_job(error, show_traceback=False)
    raise error


def _describe(error: Exception | None, where: str) -> str | None:
    return None if error is None else f"{where}: {type(error).__name__}: {error}"


def _assemble(placed: list[tuple], client: Client, variable: str, name: str) -> da.Array:
    """The array whose chunk at each grid cell reads its block at ``(key, byte offset)``."""
    if not placed:
        raise ValueError(f"variable {variable!r} has no blocks on any server this iteration")
    dtypes = {p[3] for p in placed}
    if len(dtypes) != 1:
        raise ValueError(f"variable {variable!r} has blocks of several dtypes: {sorted(dtypes)}")
    dtype = dtypes.pop()
    grid = block_grid(
        [(block, offsets, shape) for block, offsets, shape, _, _ in placed],
        origin=(0,) * len(placed[0][1]),
    )
    by_name = {p[0]: p for p in placed}
    futures: dict[str, Future[Lease]] = {
        key: Future(key, client) for key in {p[4][0] for p in placed}
    }
    tasks: dict[Key, tuple[Any, ...]] = {}
    for index, block in grid.cells.items():
        _, _, shape, _, (key, offset) = by_name[block]
        tasks[(name, *index)] = (block_view, futures[key], offset, shape, dtype)
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=())
    return da.Array(graph, name, grid.chunks, dtype=np.dtype(dtype))


def _publish(
    client: Client, array: da.Array, run: tuple[str, str, str], iteration: int, keep: int
) -> None:
    """Publish ``array`` and unpublish this run's arrays of the variable beyond the newest
    ``keep`` (the scheduler's list of datasets is the only record of them)."""
    client.publish_dataset(array, name=dataset_name(*run, iteration), override=True)
    simulation, magic, variable = run
    published = sorted(
        (int(it), name)
        for name, _sim, _magic, var, it in _kept(client, simulation, magic)
        if var == variable
    )
    for _, name in published[:-keep]:
        client.unpublish_dataset(name)


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
