"""The collective call that builds the global ``dask.array`` of a variable from every
server's blocks, by offsets.

Each server finds the box its blocks tile and copies them, laid out as that box where they
tile one, into shared memory its own worker maps (:meth:`DaskSession.deliver`); only keys,
offsets, shapes and that box travel to server 0 (:mod:`~damaris_ref.dask_bridge.exchange`),
which plans the chunks (:mod:`~damaris_ref.dask_bridge.chunks`: one per server where the
boxes make a grid, else one per block), leases every server's slot on that server's worker
(the lease is the chunk itself where it is a server's whole box;
:mod:`~damaris_ref.dask_bridge.assembly`), and returns the array persisted, once every chunk
is in place on the worker where its blocks lie: any client may then compute it. Servers
never wait for their worker, and array data never passes through the scheduler. Server 0
holds the array until the next call for the variable (or until every server stops), so it
can compute with it during its script; ``keep=N`` also publishes it as a named dataset for N
script runs (:mod:`~damaris_ref.dask_bridge.published`). If any server fails its part, every
server raises the same :class:`~damaris_ref.core.errors.DaskError`; a server that never
comes ends the job.
"""

from __future__ import annotations

from typing import Any, Literal, NoReturn

import dask.array as da
from dask.typing import Key
from distributed import Client, Future, futures_of

from damaris_ref.core.data import parse_block_key
from damaris_ref.core.errors import DaskError
from damaris_ref.dask_bridge.assembly import chunked_array
from damaris_ref.dask_bridge.chunks import ServerBlocks, plan_chunks
from damaris_ref.dask_bridge.current_client import wait_done
from damaris_ref.dask_bridge.exchange import ServersGone
from damaris_ref.dask_bridge.in_place import held_block, held_window
from damaris_ref.dask_bridge.keys import BlockId, array_name, segment_key
from damaris_ref.dask_bridge.published import publish
from damaris_ref.dask_bridge.segments import box_lease, lease
from damaris_ref.dask_bridge.session import current_session
from damaris_ref.launch.job_abort import abort_job

#: seconds a server waits for the other servers at a step of :func:`global_array`: longer
#: than any analysis should take, since server 0 may still be in its last one; a server that
#: never comes (its pyscript raised before the call) then ends the job instead of hanging it
SERVERS_TIMEOUT = 600.0


#: seconds server 0 waits for the servers' blocks to be in place on their workers
LEASE_TIMEOUT = 60.0

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
            per_block = chunks == "block" or part.box is None  # its blocks stay apart
            delivery = session.deliver(scheduler_file, key, part, blocks, per_block)
            part = part.delivered(delivery.buffer)
        except Exception as failed:  # raised below by every server: none may skip the gather
            error, part = failed, None
    sending = f"server {session.server_id} sending its blocks to worker {session.worker_name!r}"
    where = f"global_array({variable!r}) at iteration {iteration}"
    exchange = session.exchange(server_comm)
    try:  # server 0 may still be busy with its last analysis
        gathered = exchange.gather((part, _describe(error, sending), iteration), SERVERS_TIMEOUT)
    except ServersGone as gone:
        _broken(server_comm, f"{where}: {gone} {_EVERY_CALL}")
    result, failures, leases = None, None, list[Future]()
    if gathered is not None:  # server 0
        _check_same_call(server_comm, gathered, where)
        failures = [why for _, why, _ in gathered if why]
        if not failures:
            bound = client or session.client(scheduler_file)
            try:
                parts = [part for part, _, _ in gathered if part is not None]
                name = array_name(simulation, magic, variable, iteration)
                result = _build(parts, bound, variable, name, per_server=chunks == "server")
                # in place on the workers before any client can name its keys, and held
                # until the next call for the variable (or for keep=N script runs)
                result = bound.persist(result)
                leases = futures_of(result)
                wait_done(bound, leases, LEASE_TIMEOUT, f"the leases of {name}")
                if keep > 0:
                    publish(bound, result, (simulation, magic, variable), iteration, keep)
            except Exception as failed:
                error, result, leases = failed, None, []
                failures = [_describe(failed, "server 0 building the array")]
    # once this answer arrives server 0 references every block, and it has finished its
    # previous script run: only now may the previous call's blocks go
    try:
        failures = exchange.answer(failures, SERVERS_TIMEOUT)
    except ServersGone as gone:
        _broken(server_comm, f"{where}: {gone} {_EVERY_CALL}")
    if failures and delivery is not None:
        session.abandon(scheduler_file, delivery)
        delivery = None
    session.hold(scheduler_file, variable, delivery, leases)
    if failures:
        raise DaskError(
            f"global_array({variable!r}) failed at iteration {iteration}: " + "; ".join(failures)
        ) from error
    return result


#: what every server's pyscript must do, said when one did not
_EVERY_CALL = (
    "(every server must call it at every iteration; did a pyscript raise before its call?)"
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


def _broken(server_comm: Any, why: str) -> NoReturn:
    """The servers' calls no longer match: no later call can, so the job ends (MPI) or this
    server raises (the in-process engine, whose threads cannot be aborted)."""
    error = DaskError(why)
    if hasattr(server_comm, "Abort"):
        abort_job(error, show_traceback=False)
    raise error


def _describe(error: Exception | None, where: str) -> str | None:
    return None if error is None else f"{where}: {type(error).__name__}: {error}"


def _build(
    parts: list[ServerBlocks], client: Client, variable: str, name: str, per_server: bool
) -> da.Array:
    """The array of the servers' ``parts`` (one chunk per server if ``per_server`` and their
    boxes allow): its graph leases each server's slot on that server's worker (the lease is
    the chunk where the chunk is the server's whole box) and reads scattered blocks where
    they are. It depends on no key but those the servers hold, so any client of the
    scheduler may compute it at once."""
    if not parts:
        raise ValueError(f"variable {variable!r} has no blocks on any server this iteration")
    plan = plan_chunks(parts, per_server)
    whole = {
        chunk.part: cell for cell, chunk in plan.cells.items() if parts[chunk.part].whole_box(chunk)
    }
    sources: list[Any] = []
    ready: dict[int, tuple[Any, ...]] = {}
    leases: dict[Key, tuple[Any, ...]] = {}
    for index, part in enumerate(parts):
        buffer, box = part.buffer, part.box
        assert buffer is not None  # set by ServerBlocks.delivered before the gather
        slot, held = buffer.slot, buffer.held
        if held is not None:  # read where the clients wrote them
            reader: Future = Future(held.reader, client)
            if buffer.starts is not None:  # each block a chunk, a view of the held window
                window = (held_window, reader, held.hold, held.offset, held.length, held.runs)
                leases[buffer.key] = window
                sources.append(buffer.key)
                continue
            # one block (of any size but 0) is its own box, so its chunk in either plan
            assert box is not None and index in whole
            ready[index] = (held_block, reader, held.hold, held.offset, box[1], part.dtype)
            sources.append(None)
        elif slot is None:  # scattered by its server, which holds it until this call returns
            sources.append(Future(buffer.key, client))
        elif index in whole and box is not None:  # the lease is the chunk
            ready[index] = (
                box_lease,
                Future(slot.key, client),
                slot.generation,
                box[1],
                part.dtype,
            )
            sources.append(None)
        else:
            leases[buffer.key] = (lease, Future(slot.key, client), slot.generation, slot.nbytes)
            sources.append(buffer.key)
    return chunked_array(name, plan, parts, sources, ready, leases)
