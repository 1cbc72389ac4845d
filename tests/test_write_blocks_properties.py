"""``write_blocks`` is the same ``write_block`` calls in one: a property of the in-process engine.

For random layouts and configurations, every client writes at every iteration a random choice
of blocks of each variable, in a random order, at random positions, some as arrays to convert.
One run writes them with ``write_block`` calls, the other with one ``write_blocks`` call per
variable (as a mapping or as pairs); every script run must receive the same ``DamarisData``:
the same runs, ``sort_list`` entries and blocks, value for value and dtype for dtype.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.core.config.model import Config
from damaris_ref.core.data import dtype_of
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder
from strategies import configs, core_layouts


def simulation(config: Config, seed: int, iterations: int, batched: bool):
    """A rank's main: the same blocks, positions and values for a given ``seed`` either way."""

    def main(damaris, comm) -> None:
        damaris.initialize(config, comm)
        if damaris.start():
            source = damaris.client_comm_get().Get_rank()
            domains = config.architecture.domains
            for iteration in range(iterations):
                rng = np.random.default_rng([seed, source, iteration])
                for variable in config.variables:
                    shape = damaris.variable_shape(variable.name)
                    dtype = dtype_of(config.layout(variable.layout).type)
                    chosen = rng.permutation(domains)[: rng.integers(0, domains + 1)]
                    blocks = []
                    for block in map(int, chosen):
                        offsets = tuple(int(o) for o in rng.integers(0, 5, len(shape)))
                        damaris.set_block_position(variable.name, block, offsets)
                        values = rng.integers(0, 100, shape).astype(dtype)
                        blocks.append((block, values.tolist() if rng.random() < 0.3 else values))
                    as_mapping = rng.random() < 0.5  # drawn either way: the same draws follow
                    if not batched:
                        for block, values in blocks:
                            damaris.write_block(variable.name, block, values)
                    else:
                        damaris.write_blocks(variable.name, dict(blocks) if as_mapping else blocks)
                damaris.end_iteration()
            damaris.stop()
        damaris.finalize()

    return main


def delivered(config: Config, world_size: int, seed: int, iterations: int, batched: bool):
    """What every script run received, comparable between runs (magic numbers left out)."""
    recorder = Recorder()
    main = simulation(config, seed, iterations, batched)
    run_in_process(main, world_size, observer=recorder.observe, timeout=30)
    runs = {}
    for o in recorder.observations:
        runs[o.server, o.iteration] = {
            name: (
                [(tag.rsplit("_", 1)[0], key, list(offsets)) for tag, key, offsets in v.sort_list],
                {k: (a.dtype.str, a.tolist()) for k, a in o.arrays.get(name, {}).items()},
            )
            for name, v in o.variables.items()
        }
    return runs


@st.composite
def runs(draw):
    layout = draw(core_layouts(valid_only=True))
    return layout, draw(configs(layout)), draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 3))


@settings(max_examples=25)
@given(runs())
def test_write_blocks_delivers_what_the_same_write_block_calls_deliver(run):
    layout, config, seed, iterations = run
    one_by_one = delivered(config, layout.world_size, seed, iterations, batched=False)
    batched = delivered(config, layout.world_size, seed, iterations, batched=True)
    assert batched == one_by_one
    assert one_by_one  # the scripts ran
