"""The collective call that builds the global ``dask.array`` of a variable from every
server's blocks, by offsets.

Each server finds the box its blocks tile and copies them, laid out as that box where they
tile one, into shared memory its own worker maps (:meth:`DaskSession.deliver`); only keys,
offsets, shapes and that box travel to server 0 (over the server communicator), which plans
the chunks (:mod:`~damaris_ref.dask_bridge.chunks`: one per server where the boxes make a
grid, else one per block), submits every server's lease on that server's worker (the chunk
itself where it is a server's whole box) and returns the array, each chunk on the worker
where its blocks lie (:mod:`~damaris_ref.dask_bridge.assembly`). Servers never wait for
their worker, and array data never passes through the scheduler. Server 0 holds the leases
until the next call for the variable (or until every server stops), so it can compute
with the array during its script; ``keep=N``
also publishes the array as a named dataset for N script runs
(:mod:`~damaris_ref.dask_bridge.published`). If any server fails its part, every server
raises the same :class:`~damaris_ref.core.errors.DaskError`; a server that never comes ends the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import dask.array as da
from dask.typing import Key
from distributed import Client, Future

from damaris_ref.core.data import parse_block_key
from damaris_ref.core.errors import DaskError
from damaris_ref.core.polling import sleeping_barrier
from damaris_ref.dask_bridge.assembly import chunked_array
from damaris_ref.dask_bridge.chunks import ServerBlocks, SlotWrite, plan_chunks
from damaris_ref.dask_bridge.keys import BlockId, array_name, segment_key
from damaris_ref.dask_bridge.published import publish
from damaris_ref.dask_bridge.segments import box_lease, lease
from damaris_ref.dask_bridge.session import current_session
from damaris_ref.launch.job_abort import abort_job

#: seconds a server waits for the other servers at a step of :func:`global_array`: longer
#: than any analysis should take, since server 0 may still be in its last one; a server that
#: never comes (its pyscript raised before the call) then ends the job instead of hanging it
SERVERS_TIMEOUT = 600.0


#: the earlier name of the bridge's error: a deprecated alias, kept for one release
DaskBridgeError = DaskError


def global_array(
    damaris_data: dict,
    variable: str,
    server_comm: Any,
    client: Client | None = None,
    *,
    keep: int = 0,
    chunks: Literal["server", "block"] = "server",
) -> da.Array | None:
    """Collective over ``server_comm``: the global array on server 0, None on the others.

    ``client`` (default: this server's session client) is the one the returned array is
    bound to. ``chunks="server"`` gives one chunk per server where the blocks of every server
    tile a box, ``"block"`` one chunk per block always (upstream's form, which per-chunk
    results such as block averages depend on). Raises a clear error when this pyscript has no
    working scheduler.
    """
    if chunks not in ("server", "block"):
        raise ValueError(f"global_array({variable!r}): chunks={chunks!r}; use 'server' or 'block'")
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
    ids = [BlockId(*parse_block_key(key)) for _tag, key, _offsets in entry["sort_list"]]
    blocks = [entry["numpy_data"][key] for _tag, key, _offsets in entry["sort_list"]]
    delivery, part, error = None, None, None
    if blocks:
        key = segment_key(simulation, magic, variable, iteration, session.server_id)
        try:
            offsets = [where for _tag, _key, where in entry["sort_list"]]
            part = ServerBlocks.of(ids, offsets, blocks)
            delivery = session.deliver(scheduler_file, key, part, blocks)
            part = part.delivered(delivery.buffer)
        except Exception as failed:  # raised below by every server: none may skip the gather
            error, part = failed, None
    sending = f"server {session.server_id} sending its blocks to worker {session.worker_name!r}"
    where = f"global_array({variable!r}) at iteration {iteration}"
    _join(server_comm, where)  # server 0 may still be busy with its last analysis
    gathered = server_comm.gather((part, _describe(error, sending), iteration), root=0)
    result, failures, leases = None, None, []
    if server_comm.Get_rank() == 0:
        _check_same_call(server_comm, gathered, where)
        failures = [why for _, why, _ in gathered if why]
        if not failures:
            bound = client or session.client(scheduler_file)
            try:
                parts = [part for part, _, _ in gathered if part is not None]
                name = array_name(simulation, magic, variable, iteration)
                result = _build(parts, bound, variable, name, leases, per_server=chunks == "server")
                if keep > 0:
                    publish(bound, result, (simulation, magic, variable), iteration, keep)
            except Exception as failed:
                error, result, leases = failed, None, []
                failures = [_describe(failed, "server 0 building the array")]
    # once this broadcast arrives server 0 references every block, and it has finished its
    # previous script run: only now may the previous call's blocks go
    _join(server_comm, where)  # while server 0 builds the array
    failures = server_comm.bcast(failures, root=0)
    if failures and delivery is not None:
        session.abandon(scheduler_file, delivery)
        delivery = None
    session.hold(scheduler_file, variable, delivery, leases)
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


def _build(
    parts: list[ServerBlocks],
    client: Client,
    variable: str,
    name: str,
    leases: list[Future],
    per_server: bool,
) -> da.Array:
    """The array of the servers' ``parts`` (one chunk per server if ``per_server`` and their
    boxes allow), its tasks reading each server's buffer through ``client``. The leases it
    submits on the servers' workers are appended to ``leases``."""
    if not parts:
        raise ValueError(f"variable {variable!r} has no blocks on any server this iteration")
    plan = plan_chunks(parts, per_server)
    whole = {
        chunk.part: cell for cell, chunk in plan.cells.items() if parts[chunk.part].whole_box(chunk)
    }
    sources: list[Future | None] = []
    ready: dict[int, Future] = {}
    for index, part in enumerate(parts):
        buffer = part.buffer
        assert buffer is not None  # set by ServerBlocks.delivered before the gather
        if buffer.slot is None:  # scattered by its server, which holds it until this returns
            sources.append(Future(buffer.key, client))
            continue
        if index in whole:  # the lease is the chunk
            ready[index] = _lease(
                client, buffer.slot, box_lease, (name, *whole[index]), *part.box[1:], part.dtype
            )
            leases.append(ready[index])
            sources.append(None)
        else:
            leases.append(_lease(client, buffer.slot, lease, buffer.key, buffer.slot.nbytes))
            sources.append(leases[-1])
    return chunked_array(name, plan, parts, sources, ready)


def _lease(
    client: Client, slot: SlotWrite, how: Callable[..., Any], key: Key, *args: Any
) -> Future:
    """Submit ``how(<the slot>, <the call>, *args)`` under ``key`` on the slot's worker."""
    written = Future(slot.key, client)  # its server holds it: the scheduler knows it
    return client.submit(
        how,
        written,
        slot.generation,
        *args,
        key=key,
        workers=[slot.worker],
        allow_other_workers=True,  # if the worker has gone, the lease fails on another
        pure=False,
    )
