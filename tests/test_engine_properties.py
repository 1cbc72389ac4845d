"""The project's central claim on the in-process engine, at any core layout.

For random layouts (1-4 emulated nodes, 2-8 ranks per node, every dedicated core/node choice),
variables (1-3 dims, every dtype, 1-4 domains, time-varying or not) and script frequencies:
every block reaches exactly one server (its owner) exactly once, the per-server sums add up to
the total the clients wrote, and the blocks rebuild exactly the global array, element by element.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from damaris_ref.core.config.model import Architecture, Config
from damaris_ref.core.data import dtype_of, parse_block_key, reassemble
from damaris_ref.core.topology import LayoutError, compute_topology, emulated_nodes
from damaris_ref.mocks.generic import GENERIC, expected_global, global_shape
from damaris_ref.runtime.in_process import RankFailed, run_in_process

from recorder import Recorder
from strategies import configs, core_layouts, is_valid

pytestmark = pytest.mark.usefixtures("frozen_heap")


def run_generic(config, world_size: int, iterations: int) -> Recorder:
    recorder = Recorder()
    args = argparse.Namespace(config=config, iterations=iterations, sleep=0.0, batch=False)
    run_in_process(GENERIC.rank_main(args), world_size, observer=recorder.observe, timeout=30)
    return recorder


@st.composite
def runs(draw):
    layout = draw(core_layouts(valid_only=True))
    return layout, draw(configs(layout)), draw(st.integers(1, 3))


@given(runs())
def test_blocks_route_once_to_their_owner_sum_up_and_reassemble_exactly(run):
    layout, config, iterations = run
    recorder = run_generic(config, layout.world_size, iterations)
    topo = compute_topology(
        emulated_nodes(layout.world_size, layout.ranks_per_node),
        layout.dedicated_cores,
        layout.dedicated_nodes,
    )
    frequency = config.pyscripts[0].frequency
    domains = config.architecture.domains
    run_iterations = sorted({o.iteration for o in recorder.observations})
    assert run_iterations == [i for i in range(iterations) if i % frequency == 0]
    for iteration in run_iterations:
        seen = [o for o in recorder.observations if o.iteration == iteration]
        assert sorted(o.server for o in seen) == list(range(topo.server_count))
        for variable in config.variables:
            delivered = variable.time_varying or iteration == 0
            keys = Counter()
            pieces = []
            for o in seen:
                owned = set(topo.known_clients(o.server))
                for tag, key, offsets in o.variable(variable.name).sort_list:
                    assert tag.startswith(f"S{o.server}_I{iteration}_")
                    source, _ = parse_block_key(key)
                    assert source in owned, f"{key} delivered to server {o.server}"
                    keys[key] += 1
                    pieces.append((offsets, o.arrays[variable.name][key]))
            expected_keys = (
                {f"P{c}_B{b}" for c in range(topo.client_count) for b in range(domains)}
                if delivered
                else set()
            )
            assert set(keys) == expected_keys
            assert all(count == 1 for count in keys.values())
            if not delivered:
                continue
            dtype = dtype_of(config.layout(variable.layout).type)
            local = tuple(int(d) for d in config.layout(variable.layout).dimensions)
            whole = expected_global(
                dtype, global_shape(local, topo.client_count, domains), iteration
            )
            rebuilt = reassemble(pieces, origin=(0,) * whole.ndim, shape=whole.shape)
            assert rebuilt.dtype == whole.dtype
            np.testing.assert_array_equal(rebuilt, whole)
            sums = recorder.server_sums(variable.name, iteration)
            assert sum(sums.values()) == whole.sum(dtype=np.float64)


@given(core_layouts().filter(lambda layout: not is_valid(layout)))
def test_invalid_layouts_fail_the_run_with_the_layout_error(layout):
    config = Config(
        "bad",
        Architecture(
            dedicated_cores=layout.dedicated_cores,
            dedicated_nodes=layout.dedicated_nodes,
            ranks_per_node=layout.ranks_per_node,
        ),
    )
    with pytest.raises(RankFailed) as failure:
        run_generic(config, layout.world_size, 1)
    assert isinstance(failure.value.error, LayoutError)
