"""Routing rules of spec §1: explicit cases from the spec, then properties over all layouts."""

from __future__ import annotations

import pytest
from hypothesis import given

from damaris_ref.core.topology import (
    LayoutError,
    Mode,
    Role,
    compute_topology,
    emulated_nodes,
    world_size_for,
)

from strategies import CoreLayout, core_layouts, is_valid


def topology_of(layout: CoreLayout):
    nodes = emulated_nodes(layout.world_size, layout.ranks_per_node)
    return compute_topology(nodes, layout.dedicated_cores, layout.dedicated_nodes)


def test_one_dedicated_core_of_five_ranks_serves_all_four_clients():
    topo = compute_topology([0] * 5, dedicated_cores=1)
    assert topo.mode is Mode.DEDICATED_CORES
    assert topo.client_ranks == (0, 1, 2, 3)
    assert topo.server_ranks == (4,)
    assert topo.known_clients(0) == (0, 1, 2, 3)


def test_two_dedicated_cores_of_six_ranks_own_contiguous_pairs():
    topo = compute_topology([0] * 6, dedicated_cores=2)
    assert topo.server_ranks == (4, 5)
    assert topo.known_clients(0) == (0, 1)
    assert topo.known_clients(1) == (2, 3)
    assert (topo.clients_per_node, topo.servers_per_node) == (4, 2)


def test_dedicated_cores_on_two_emulated_nodes_stay_on_their_node():
    topo = compute_topology(emulated_nodes(8, 4), dedicated_cores=1)
    # node 0 = ranks 0-3 (server 3), node 1 = ranks 4-7 (server 7)
    assert topo.client_ranks == (0, 1, 2, 4, 5, 6)
    assert topo.server_ranks == (3, 7)
    assert topo.known_clients(0) == (0, 1, 2)
    assert topo.known_clients(1) == (3, 4, 5)


def test_dedicated_nodes_take_the_first_nodes_and_split_clients_by_ratio():
    topo = compute_topology(emulated_nodes(12, 4), dedicated_nodes=1)
    assert topo.mode is Mode.DEDICATED_NODES
    assert topo.server_ranks == (0, 1, 2, 3)
    assert topo.client_ranks == tuple(range(4, 12))
    # ratio = (3 - 1) / 1 = 2 clients per server
    assert [topo.known_clients(s) for s in range(4)] == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert (topo.clients_per_node, topo.servers_per_node) == (2, 1)


def test_dedicated_nodes_win_over_dedicated_cores():
    topo = compute_topology(emulated_nodes(8, 4), dedicated_cores=1, dedicated_nodes=1)
    assert topo.mode is Mode.DEDICATED_NODES


def test_standalone_makes_every_rank_its_own_server():
    topo = compute_topology([0] * 3)
    assert topo.mode is Mode.STANDALONE
    assert topo.server_of_client == (0, 1, 2)
    assert topo.servers_per_node == 0


@pytest.mark.parametrize(
    ("nodes", "cores", "dnodes", "message"),
    [
        ([0] * 4, 4, 0, "all cores are dedicated"),
        ([0] * 3, 5, 0, "all cores are dedicated"),
        ([0] * 5, 2, 0, "dedicated cores must divide clients per node"),
        (emulated_nodes(8, 4), 0, 2, "all nodes are dedicated"),
        (emulated_nodes(12, 4), 0, 2, "dedicated nodes must divide client nodes"),
        ([0, 0, 1], 1, 0, "every node must hold the same number of ranks"),
    ],
)
def test_impossible_layouts_raise_the_documented_error(nodes, cores, dnodes, message):
    with pytest.raises(LayoutError, match=message):
        compute_topology(nodes, cores, dnodes)


def test_world_size_must_be_a_multiple_of_ranks_per_node():
    with pytest.raises(LayoutError, match="not a multiple of ranks_per_node 4"):
        emulated_nodes(6, 4)


@given(core_layouts())
def test_invalid_layouts_raise_and_valid_ones_do_not(layout):
    if is_valid(layout):
        topology_of(layout)
    else:
        with pytest.raises(LayoutError):
            topology_of(layout)


@given(core_layouts(valid_only=True))
def test_routing_is_a_partition_matching_known_clients(layout):
    topo = topology_of(layout)
    if topo.mode is not Mode.STANDALONE:
        assert sorted(topo.client_ranks + topo.server_ranks) == list(range(topo.world_size))
    owned = [c for s in range(topo.server_count) for c in topo.known_clients(s)]
    assert sorted(owned) == list(range(topo.client_count))  # each client owned exactly once
    for client in range(topo.client_count):
        assert client in topo.known_clients(topo.server_for(client))
    assert list(topo.client_ranks) == sorted(topo.client_ranks)  # ids ordered by world rank
    assert list(topo.server_ranks) == sorted(topo.server_ranks)


SERVER_ROLE = {
    Mode.DEDICATED_CORES: Role.DEDICATED_CORE_SERVER,
    Mode.DEDICATED_NODES: Role.DEDICATED_NODE_SERVER,
}


@given(core_layouts(valid_only=True))
def test_each_rank_has_the_role_its_place_in_the_table_gives(layout):
    topo = topology_of(layout)
    roles = [topo.role_of(r) for r in range(topo.world_size)]
    if topo.mode is Mode.STANDALONE:
        assert roles == [Role.STANDALONE] * topo.world_size
    else:
        assert tuple(r for r, role in enumerate(roles) if role is Role.CLIENT) == topo.client_ranks
        assert {roles[r] for r in topo.server_ranks} == {SERVER_ROLE[topo.mode]}
    for rank, role in enumerate(roles):
        assert role.is_client == (rank in topo.client_ranks)
        assert role.serves == (rank in topo.server_ranks)  # standalone: both tuples are all ranks


@given(core_layouts(valid_only=True))
def test_dedicated_core_servers_own_contiguous_groups_on_their_own_node(layout):
    topo = topology_of(layout)
    if topo.mode is not Mode.DEDICATED_CORES:
        return
    clients_per_node = layout.ranks_per_node - layout.dedicated_cores
    group = clients_per_node // layout.dedicated_cores
    for server in range(topo.server_count):
        owned = topo.known_clients(server)
        assert len(owned) == group
        assert list(owned) == list(range(owned[0], owned[0] + group))
        server_node = topo.node_of_rank[topo.server_ranks[server]]
        assert {topo.node_of_rank[topo.client_ranks[c]] for c in owned} == {server_node}
        rank_in_node = topo.server_ranks[server] % layout.ranks_per_node
        assert rank_in_node >= clients_per_node  # servers are the last ranks of a node


@given(core_layouts(valid_only=True))
def test_dedicated_node_servers_get_ratio_clients_from_other_nodes(layout):
    topo = topology_of(layout)
    if topo.mode is not Mode.DEDICATED_NODES:
        return
    ratio = (layout.nodes - layout.dedicated_nodes) // layout.dedicated_nodes
    assert topo.server_ranks == tuple(range(layout.dedicated_nodes * layout.ranks_per_node))
    for server in range(topo.server_count):
        assert topo.known_clients(server) == tuple(range(server * ratio, (server + 1) * ratio))


@given(core_layouts(valid_only=True))
def test_world_size_for_inverts_the_client_count(layout):
    topo = topology_of(layout)
    size = world_size_for(
        topo.client_count, layout.ranks_per_node, layout.dedicated_cores, layout.dedicated_nodes
    )
    assert size == layout.world_size


@pytest.mark.parametrize(
    ("clients", "rpn", "cores", "nodes", "size"),
    [(4, 0, 1, 0, 5), (4, 0, 2, 0, 6), (6, 4, 1, 0, 8), (8, 4, 0, 1, 12), (3, 0, 0, 0, 3)],
)
def test_world_size_for_the_usual_layouts(clients, rpn, cores, nodes, size):
    assert world_size_for(clients, rpn, cores, nodes) == size


@pytest.mark.parametrize(
    ("clients", "rpn", "cores", "nodes", "message"),
    [
        (5, 0, 2, 0, "dedicated cores must divide clients per node"),
        (5, 4, 1, 0, "do not fill whole nodes of 3 client"),
        (6, 4, 0, 1, "do not fill whole nodes of ranks_per_node=4"),
        (0, 0, 0, 0, "must be positive"),
    ],
)
def test_world_size_for_impossible_client_counts_raises(clients, rpn, cores, nodes, message):
    with pytest.raises(LayoutError, match=message):
        world_size_for(clients, rpn, cores, nodes)
