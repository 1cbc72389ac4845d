"""The topology seam: a substitute routing rule decides who serves whom in a whole run."""

from __future__ import annotations

import dataclasses

from damaris_ref.core.config.model import Architecture
from damaris_ref.core.topology import compute_topology
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process
from damaris_ref.runtime.seams import Seams

from strategies import seed_config


def test_a_substitute_topology_routes_every_rank_of_the_run():
    def clients_crossed(node_of_rank, cores, nodes):
        topology = compute_topology(node_of_rank, cores, nodes)
        return dataclasses.replace(topology, server_of_client=(1, 1, 0, 0))

    seen: dict[int, set[str]] = {}

    def observe(server_id, _pyscript, damaris_data):
        keys = damaris_data["iteration_data"]["cube_i"]["numpy_data"]
        seen.setdefault(server_id, set()).update(keys)

    simulation = SIMULATIONS["3dmesh_py"]
    args = simulation.parse_args(["in-memory", "-i", "1", "-s", "0"])
    args.config = seed_config(Architecture(dedicated_cores=2))
    run_in_process(
        simulation.rank_main(args),
        6,
        observer=observe,
        timeout=20,
        seams=Seams(topology=clients_crossed),
    )
    assert seen == {0: {"P2_B0", "P3_B0"}, 1: {"P0_B0", "P1_B0"}}
