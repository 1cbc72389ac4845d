"""The ``generic`` mock ships as the console script ``damaris-generic``, like the seed
executables: ``mpiexec -n N damaris-generic CONFIG [-i I] [-s S]``."""

from __future__ import annotations

import numpy as np

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.config.writers import dump_yaml
from damaris_ref.mocks.generic import block_offsets, expected_global


def test_damaris_generic_runs_under_mpiexec_with_known_values(
    tmp_path, run_mpi, recording, console_script
):
    config = Config(
        "generic",
        Architecture(dedicated_cores=1, buffer_size=1 << 20),
        layouts=(Layout("row", "int", ("2", "3")),),
        variables=(Variable("v", "row", script="record"),),
        pyscripts=(PyScript("record", recording.script),),
    )
    path = tmp_path / "generic.yml"
    path.write_text(dump_yaml(config))
    job = run_mpi(3, [console_script("damaris-generic"), str(path), "-i", "2"], recording.env())
    assert job.returncode == 0, job.describe()
    runs = recording.load()
    assert sorted(runs) == [(0, 0), (0, 1)]
    for iteration in (0, 1):
        whole = expected_global(np.dtype(np.int32), (4, 3), iteration)
        blocks = runs[(0, iteration)].arrays["v"]
        assert sorted(blocks) == ["P0_B0", "P1_B0"]
        for source in (0, 1):
            top, _ = block_offsets((2, 3), source, 0, 1)
            np.testing.assert_array_equal(blocks[f"P{source}_B0"], whole[top : top + 2])
