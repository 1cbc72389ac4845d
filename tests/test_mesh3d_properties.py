"""The seed simulations at any layout: spec §6's formula, restated here independently.

For random core layouts, cube sizes, domain counts, ``-r`` or not and 1-3 iterations: the
blocks every server received rebuild exactly the cube spec §6 describes, and the per-server
sums add up to the total client 0 prints.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from damaris_ref.core.config.model import Architecture
from damaris_ref.core.data import reassemble
from damaris_ref.core.output_lines import client_totals
from damaris_ref.core.topology import compute_topology, emulated_nodes
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.mocks.mesh3d import block_total, block_values
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder
from strategies import core_layouts, seed_config

pytestmark = pytest.mark.usefixtures("frozen_heap")


def expected_cube(iteration: int, clients: int, domains: int, shape: tuple, rank_only: bool):
    """Spec §6 for the whole (DEPTH, HEIGHT, WIDTH) cube, from global indices alone."""
    depth, height, width = shape
    ld, lw = depth // clients, width // domains
    z, y, x = np.indices(shape)
    client, local_z, local_x = z // ld, z % ld, x % lw
    rank_start = client * lw * height
    k = (local_z * height + y) * lw + local_x  # C-order position inside the block
    return iteration + rank_start + (0 if rank_only else k)


@st.composite
def seed_runs(draw):
    layout = draw(core_layouts(valid_only=True))
    nodes = emulated_nodes(layout.world_size, layout.ranks_per_node)
    clients = compute_topology(nodes, layout.dedicated_cores, layout.dedicated_nodes).client_count
    domains = draw(st.integers(1, 4))
    shape = (
        clients * draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        domains * draw(st.integers(1, 3)),
    )
    return layout, clients, domains, shape, draw(st.booleans()), draw(st.integers(1, 3))


@given(seed_runs())
def test_seed_blocks_rebuild_the_spec_cube_and_sums_add_up(run):
    layout, clients, domains, shape, rank_only, iterations = run
    simulation = SIMULATIONS["3dmesh_py_domains"]
    args = simulation.parse_args(["-", "-i", str(iterations), "-d", str(domains), "-s", "0"])
    architecture = Architecture(
        domains=domains,
        dedicated_cores=layout.dedicated_cores,
        dedicated_nodes=layout.dedicated_nodes,
        ranks_per_node=layout.ranks_per_node,
    )
    args.config, args.rank_only = seed_config(architecture, shape), rank_only
    recorder, output = Recorder(), io.StringIO()
    with contextlib.redirect_stdout(output):
        run_in_process(simulation.rank_main(args), layout.world_size, observer=recorder.observe)
    totals = client_totals(output.getvalue())
    for iteration in range(iterations):
        cube = expected_cube(iteration, clients, domains, shape, rank_only)
        pieces = [
            (offsets, o.arrays["cube_i"][key])
            for o in recorder.observations
            if o.iteration == iteration
            for _, key, offsets in o.variable("cube_i").sort_list
        ]
        np.testing.assert_array_equal(reassemble(pieces, (0, 0, 0), shape), cube)
        server_sums = recorder.server_sums("cube_i", iteration)
        assert sum(server_sums.values()) == totals[iteration] == cube.sum()


@given(
    start=st.one_of(
        st.integers(-(2**31) - 64, -(2**31) + 64),
        st.integers(-64, 64),
        st.integers(2**31 - 64, 2**31 + 64),
        st.integers(-(2**40), 2**40),
    ),
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    rank_only=st.booleans(),
)
def test_block_values_wrap_as_int32_and_their_total_is_exact(start, shape, rank_only):
    """Spec §6's running sequence as int32, wrapping past 2**31 as the C++ int does, and the
    total the client prints is the exact sum of those values."""
    count = int(np.prod(shape))
    wide = [start] * count if rank_only else [start + k for k in range(count)]
    wrapped = [(v + 2**31) % 2**32 - 2**31 for v in wide]
    cube = block_values(start, 0, shape, rank_only)
    assert cube.dtype == np.int32 and cube.shape == shape
    assert cube.ravel().tolist() == wrapped
    assert block_total(cube) == sum(wrapped)
    assert block_total(cube.astype(np.float64)) == float(np.sum(cube, dtype=np.float64))
