"""Per-rank checks of a Damaris session over ``MPI.COMM_WORLD`` (pytest-mpi).

Run as ``mpiexec -n K python -m pytest --with-mpi tests/mpi_jobs/test_with_mpi.py`` (K >= 4;
``test_pytest_mpi_sizes.py`` does it for several K). Every rank checks its own role and ids
against ``compute_topology``, what ``damaris4py.server`` answers, that the magic number is one
per run, and that every block a client wrote reaches its server intact. Collectives come
before assertions, so a failing rank cannot leave the others waiting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.topology import LayoutError, Mode, Topology, compute_topology, emulated_nodes
from damaris_ref.mocks.generic import block_offsets, global_shape, region_values

from strategies import EMPTY_SCRIPT

ITERATIONS = 2
DOMAINS = 2
LOCAL_SHAPE = (2, 3)
DTYPE = np.dtype(np.float64)

#: layouts valid for every even world size >= 4, as (cores, nodes, ranks_per_node(size))
LAYOUTS: dict[str, tuple[int, int, Callable[[int], int]]] = {
    "one-core": (1, 0, lambda size: 0),
    "two-cores": (2, 0, lambda size: 0),
    "one-core-two-nodes": (1, 0, lambda size: size // 2),
    "one-dedicated-node": (0, 1, lambda size: 2),
    "standalone": (0, 0, lambda size: 0),
}


def config_for(cores: int, nodes: int, ranks_per_node: int) -> Config:
    """One variable of LOCAL_SHAPE doubles in DOMAINS blocks, seen by the empty script."""
    return Config(
        "with-mpi",
        Architecture(
            domains=DOMAINS,
            dedicated_cores=cores,
            dedicated_nodes=nodes,
            ranks_per_node=ranks_per_node,
            buffer_size=1 << 20,
        ),
        layouts=(Layout("box", "double", tuple(map(str, LOCAL_SHAPE))),),
        variables=(Variable("field", "box", script="probe"),),
        pyscripts=(PyScript("probe", EMPTY_SCRIPT),),
    )


def node_ids_of(comm, ranks_per_node: int) -> tuple[int, ...]:
    """The node id of every rank: emulated nodes, or one host (the tests run on one)."""
    size = comm.Get_size()
    return emulated_nodes(size, ranks_per_node) if ranks_per_node else (0,) * size


def expected_topology(comm, cores: int, nodes: int, ranks_per_node: int) -> Topology:
    """The routing table computed from the layout alone, not by the session."""
    return compute_topology(node_ids_of(comm, ranks_per_node), cores, nodes)


@pytest.fixture
def comm():
    from mpi4py import MPI

    return MPI.COMM_WORLD


@pytest.mark.mpi(min_size=4)
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_session_over_comm_world(comm, layout):
    from damaris4py import server as d4p
    from damaris_ref.runtime.session import Damaris
    from damaris_ref.runtime.transport.mpi import MPIBackend

    cores, nodes, ranks_per_node = layout[0], layout[1], layout[2](comm.Get_size())
    topology = expected_topology(comm, cores, nodes, ranks_per_node)
    rank = comm.Get_rank()
    received: dict[tuple[int, str], np.ndarray] = {}

    def observe(server: int, _pyscript: str, damaris_data: dict) -> None:
        iteration_data = damaris_data["iteration_data"]
        for key, array in iteration_data["field"]["numpy_data"].items():
            received[(iteration_data["iteration"], key)] = array.copy()

    damaris = Damaris(MPIBackend(comm), observer=observe)
    damaris.initialize(config_for(cores, nodes, ranks_per_node), comm)
    is_client = damaris.is_client
    magic = d4p.magicnumber_string()
    facts: dict[str, object] = {}
    if damaris.start():
        client_comm = damaris.client_comm_get()
        facts["client"] = (client_comm.Get_rank(), client_comm.Get_size())
        _write_iterations(damaris, client_comm.Get_rank(), client_comm.Get_size())
        damaris.stop()
    if d4p.isserver():
        facts["server"] = (d4p.getservercomm().Get_rank(), d4p.getservercomm().Get_size())
        facts["known"] = d4p.listknownclients()
        facts["modes"] = (d4p.isdedicatedcore(), d4p.isdedicatednode())
        facts["counts"] = (d4p.clientspernode(), d4p.serverspernode(), d4p.numberofnodes())
    damaris.finalize()
    magics = comm.allgather(magic)
    delivered = comm.allreduce(len(received))

    assert is_client == topology.role_of(rank).is_client
    assert len(set(magics)) == 1 and magics[0].isdigit()
    assert delivered == topology.client_count * DOMAINS * ITERATIONS
    if is_client:
        assert facts["client"] == (topology.client_id(rank), topology.client_count)
    if topology.mode is Mode.STANDALONE or not is_client:
        server = topology.client_id(rank) if is_client else topology.server_id(rank)
        assert facts["server"] == (server, topology.server_count)
        assert facts["known"] == list(topology.known_clients(server))
        assert facts["modes"] == (topology.is_dedicated_core, topology.is_dedicated_node)
        assert facts["counts"] == (
            topology.clients_per_node,
            topology.servers_per_node,
            topology.number_of_nodes,
        )
        _assert_blocks_intact(received, facts["known"], topology.client_count)
    else:
        assert received == {} and "server" not in facts


def _owners_reversed(node_of_rank: Sequence[int], cores: int, nodes: int) -> Topology:
    """The routing rule with each client's owner swapped for its mirror image (s -> last - s)."""
    topology = compute_topology(node_of_rank, cores, nodes)
    last = topology.server_count - 1
    return dataclasses.replace(
        topology, server_of_client=tuple(last - s for s in topology.server_of_client)
    )


@pytest.mark.mpi(min_size=4)
@pytest.mark.parametrize("layout", ["two-cores", "one-dedicated-node"])
def test_a_substitute_routing_reaches_the_mpi_transport(comm, layout):
    """Shared memory and Send across nodes both deliver by the substitute table, not by the
    spec's rule: routing is worked out once, by the topology seam."""
    from damaris_ref.runtime.seams import Seams
    from damaris_ref.runtime.session import Damaris
    from damaris_ref.runtime.transport.mpi import MPIBackend

    cores, nodes, per_node = LAYOUTS[layout]
    ranks_per_node = per_node(comm.Get_size())
    usual = expected_topology(comm, cores, nodes, ranks_per_node)
    substitute = _owners_reversed(node_ids_of(comm, ranks_per_node), cores, nodes)
    received: dict[tuple[int, str], np.ndarray] = {}

    def observe(_server: int, _pyscript: str, damaris_data: dict) -> None:
        iteration_data = damaris_data["iteration_data"]
        for key, array in iteration_data["field"]["numpy_data"].items():
            received[(iteration_data["iteration"], key)] = array.copy()

    damaris = Damaris(MPIBackend(comm), observer=observe, seams=Seams(topology=_owners_reversed))
    damaris.initialize(config_for(cores, nodes, ranks_per_node), comm)
    if damaris.start():
        client_comm = damaris.client_comm_get()
        _write_iterations(damaris, client_comm.Get_rank(), client_comm.Get_size())
        damaris.stop()
    damaris.finalize()
    comm.Barrier()

    assert substitute.server_of_client != usual.server_of_client
    if substitute.role_of(comm.Get_rank()).serves:
        server = substitute.server_id(comm.Get_rank())
        _assert_blocks_intact(
            received, list(substitute.known_clients(server)), substitute.client_count
        )
    else:
        assert received == {}


def _write_iterations(damaris, source: int, clients: int) -> None:
    whole = global_shape(LOCAL_SHAPE, clients, DOMAINS)
    for iteration in range(ITERATIONS):
        for block in range(DOMAINS):
            offsets = block_offsets(LOCAL_SHAPE, source, block, DOMAINS)
            damaris.set_block_position("field", block, offsets)
            values = region_values(DTYPE, whole, offsets, LOCAL_SHAPE, iteration)
            damaris.write_block("field", block, values)
        damaris.end_iteration()


def _assert_blocks_intact(received: dict, known: list[int], clients: int) -> None:
    """Exactly the owned clients' blocks, each holding what its client wrote."""
    expected_keys = {
        (i, f"P{c}_B{b}") for i in range(ITERATIONS) for c in known for b in range(DOMAINS)
    }
    assert set(received) == expected_keys
    whole = global_shape(LOCAL_SHAPE, clients, DOMAINS)
    for (iteration, key), array in received.items():
        source, block = (int(part[1:]) for part in key.split("_"))
        offsets = block_offsets(LOCAL_SHAPE, source, block, DOMAINS)
        np.testing.assert_array_equal(
            array, region_values(DTYPE, whole, offsets, LOCAL_SHAPE, iteration)
        )


@pytest.mark.mpi(min_size=4)
def test_an_impossible_layout_fails_alike_on_every_rank(comm):
    from damaris_ref.runtime.session import Damaris
    from damaris_ref.runtime.transport.mpi import MPIBackend

    damaris = Damaris(MPIBackend(comm))
    with pytest.raises(LayoutError, match="all cores are dedicated"):
        damaris.initialize(config_for(comm.Get_size(), 0, 0), comm)
    comm.Barrier()  # every rank got here: none is stuck in a collective of initialize


@pytest.mark.mpi(min_size=4)
def test_the_global_array_exchange_gathers_in_rank_order_and_answers_every_rank(comm):
    from damaris_ref.dask_bridge.exchange import Exchange

    rank, size = comm.Get_rank(), comm.Get_size()
    exchange = Exchange(comm)
    try:
        for call in range(3):  # calls follow one another on the same exchange
            # one large part: it cannot go eagerly, so server 0 must take it as it comes
            part = np.full(300_000 if rank == 1 else 3, call * size + rank, dtype=np.int64)
            gathered = exchange.gather(part, timeout=60)
            answer = None
            if rank == 0:
                assert gathered is not None
                assert [int(p[0]) for p in gathered] == [call * size + r for r in range(size)]
                assert len(gathered[1]) == 300_000
                answer = ("built", call, sum(int(p.sum()) for p in gathered))
            else:
                assert gathered is None
            got = exchange.answer(answer, timeout=60)
            assert got[:2] == ("built", call)
            comm.send(got, dest=(rank + 1) % size, tag=7)  # messages of scripts stay theirs
            assert comm.recv(source=(rank - 1) % size, tag=7) == got
    finally:
        exchange.close()
    comm.Barrier()


@pytest.mark.mpi(min_size=4)
def test_a_server_that_does_not_come_is_named_and_nobody_waits_past_the_timeout(comm):
    from damaris_ref.dask_bridge.exchange import Exchange, ServersGone

    rank = comm.Get_rank()
    exchange = Exchange(comm)
    try:
        if rank > 1:  # every server but 1 sends its part, before server 0 looks
            exchange.gather("part", timeout=0.2)
        comm.Barrier()
        if rank == 0:  # it takes those, and names the one that never comes
            with pytest.raises(ServersGone, match=r"servers \[1\] did not come within 0\.2 s"):
                exchange.gather("part", timeout=0.2)
        else:  # and, having failed, it never answers
            with pytest.raises(ServersGone, match=r"server 0 did not answer within 0\.2 s"):
                exchange.answer(None, timeout=0.2)
    finally:
        exchange.close()
    comm.Barrier()
