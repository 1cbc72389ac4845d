"""``stats_3dmesh_dask``, the third seed executable (spec §6): the domains executable's shape,
with a double ``cube_d`` whose every element is ``rank_start + V`` at every iteration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.core.config import load_config
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder
from strategies import EMPTY_SCRIPT

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*flags: str) -> Recorder:
    """The example config on 6 thread-ranks (4 clients, 2 cores), its script a no-op."""
    config = load_config(EXAMPLES / "stats_3dmesh_dask.xml", environ={})
    pyscript = dataclasses.replace(config.pyscripts[0], file=EMPTY_SCRIPT, scheduler_file=None)
    config = dataclasses.replace(config, pyscripts=(pyscript,))
    simulation = SIMULATIONS["stats_3dmesh_dask"]
    args = simulation.parse_args(["in-memory", "-i", "2", "-d", "4", "-s", "0", *flags])
    args.config = config
    recorder = Recorder()
    run_in_process(simulation.rank_main(args), 6, observer=recorder.observe, timeout=20)
    return recorder


@pytest.mark.parametrize(("flags", "value"), [(("-v", "3"), 3), ((), 5), (("-v", "1", "-r"), 1)])
def test_every_element_of_cube_d_is_rank_start_plus_v_at_every_iteration(flags, value):
    observations = run(*flags).observations
    assert sorted(o.iteration for o in observations) == [0, 0, 1, 1]
    for o in observations:
        assert o.variable("cube_d").type_string == "_double"
        assert len(o.arrays["cube_d"]) == 2 * 4  # two clients per server, four domains each
        for key, block in o.arrays["cube_d"].items():
            client = int(key[1 : key.index("_")])
            assert block.shape == (4, 8, 4) and block.dtype == np.float64
            assert np.all(block == 32 * client + value), key  # rank_start = client * 4 * 8


def test_last_iter_and_array_sum_are_written_as_by_3dmesh_py_domains(capsys):
    observations = run("-v", "3").observations
    # 4 clients x 4 blocks of 128 elements, each rank_start + 3
    total = sum(4 * 128 * (32 * client + 3) for client in range(4))
    assert f"C++    iteration  1 , Sum () = {float(total)}" in capsys.readouterr().out
    for o in observations:
        assert {k: a.tolist() for k, a in o.arrays["last_iter"].items()} == {
            f"P{c}_B0": [2] for c in (2 * o.server, 2 * o.server + 1)
        }
        sums = {k: a.tolist() for k, a in o.arrays["array_sum"].items()}
        assert sums == (
            {"P0_B0": [total], "P1_B0": [0.0]}
            if o.server == 0
            else {"P2_B0": [0.0], "P3_B0": [0.0]}
        )
