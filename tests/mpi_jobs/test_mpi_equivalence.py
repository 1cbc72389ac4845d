"""The MPI runtime delivers exactly what the in-process engine delivers, layout by layout.

The ``generic`` mock runs each sample layout twice: in-process with the engine's observer, and
under ``mpiexec`` with tests/scripts/mpi_record.py dumping what every server sees. Both runs
must agree on which servers run at which iterations, DamarisData's keys and ``damaris_env``
(apart from the magic number), every ``sort_list`` (apart from the magic part of the tag),
every block and per-server sum; and the blocks of all servers must rebuild the expected
global array. The sample covers shared memory (dedicated cores), emulated nodes, dedicated
nodes (blocks sent across nodes), standalone ranks, domains and every dtype family; the
``batch`` cases write each variable's blocks with one ``write_blocks`` call under MPI, against
``write_block`` calls in-process.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.config.writers import dump_yaml
from damaris_ref.core.data import dtype_of, reassemble
from damaris_ref.core.topology import Mode, compute_topology, emulated_nodes
from damaris_ref.mocks.generic import GENERIC, expected_global, global_shape
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder
from strategies import EMPTY_SCRIPT

GENERIC_UNDER_MPI = (sys.executable, "-m", "damaris_ref.mocks", "generic")


@dataclass(frozen=True)
class Case:
    """One sample layout and the variables the generic mock writes on it."""

    ranks: int
    cores: int = 0
    nodes: int = 0
    ranks_per_node: int = 0
    domains: int = 1
    types: tuple[str, ...] = ("int",)
    dims: tuple[str, ...] = ("3", "4")
    iterations: int = 3
    frequency: int = 1
    last_is_static: bool = False
    batch: bool = False  # under MPI, write_blocks instead of write_block

    def config(self, script: Path) -> Config:
        """The configuration of this case, with ``script`` as its only pyscript."""
        count = len(self.types)
        return Config(
            "equivalence",
            Architecture(
                domains=self.domains,
                dedicated_cores=self.cores,
                dedicated_nodes=self.nodes,
                ranks_per_node=self.ranks_per_node,
                buffer_size=1 << 20,
            ),
            layouts=tuple(Layout(f"l{i}", t, self.dims) for i, t in enumerate(self.types)),
            variables=tuple(
                Variable(
                    f"v{i}",
                    f"l{i}",
                    time_varying=not (self.last_is_static and i == count - 1),
                    script="record",
                )
                for i in range(count)
            ),
            pyscripts=(PyScript("record", script, frequency=self.frequency),),
        )


CASES = {
    "core1-int": Case(3, cores=1),
    "core2-float-domains2": Case(6, cores=2, domains=2, types=("float",), dims=("2", "3", "4")),
    "core1-2nodes-double-domains3-freq2": Case(
        6, cores=1, ranks_per_node=3, domains=3, types=("double",), dims=("5",), frequency=2
    ),
    "core1-3nodes-short": Case(6, cores=1, ranks_per_node=2, types=("short",), iterations=2),
    "node1-3nodes-char-domains2": Case(
        6, nodes=1, ranks_per_node=2, domains=2, types=("char",), dims=("2", "3")
    ),
    "node1-2nodes-int-static-double": Case(
        4, nodes=1, ranks_per_node=2, types=("int", "double"), iterations=2, last_is_static=True
    ),
    "standalone-float-domains2-freq2": Case(3, domains=2, types=("float",), frequency=2),
    "core1-domains5-batch": Case(3, cores=1, domains=5, types=("double",), batch=True),
    "node1-2nodes-domains3-static-batch": Case(
        4,
        nodes=1,
        ranks_per_node=2,
        domains=3,
        types=("int", "short"),
        last_is_static=True,
        batch=True,
    ),
    "core1-2nodes-long-domains2": Case(
        8,
        cores=1,
        ranks_per_node=4,
        domains=2,
        types=("long",),
        dims=("2", "2", "3"),
        iterations=2,
    ),
}


def without_magic(sort_list: list) -> list:
    """``sort_list`` entries with the tag's magic number dropped and offsets as lists."""
    return [[tag.rsplit("_", 1)[0], key, list(offsets)] for tag, key, offsets in sort_list]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_mpi_run_matches_the_in_process_engine(case, tmp_path, run_mpi, recording):
    recorder = Recorder()
    in_process = case.config(EMPTY_SCRIPT)
    args = argparse.Namespace(config=in_process, iterations=case.iterations, sleep=0.0, batch=False)
    run_in_process(GENERIC.rank_main(args), case.ranks, observer=recorder.observe, timeout=30)

    config_file = tmp_path / "equivalence.yml"
    config_file.write_text(dump_yaml(case.config(recording.script)))
    job = run_mpi(
        case.ranks,
        [
            *GENERIC_UNDER_MPI,
            str(config_file),
            "-i",
            str(case.iterations),
            *(["-b"] if case.batch else []),
        ],
        env=recording.env(),
    )
    assert job.returncode == 0, job.describe()
    assert "Traceback" not in job.stderr, job.describe()
    recorded = recording.load()

    expected = {(o.server, o.iteration): o for o in recorder.observations}
    assert sorted(recorded) == sorted(expected)
    for where, observed in expected.items():
        run = recorded[where]
        assert run.top_keys == observed.top_keys
        assert _magic_free(run.damaris_env) == _magic_free(observed.damaris_env)
        assert run.variables.keys() == observed.variables.keys()
        for variable, entry in observed.variables.items():
            assert without_magic(run.variable(variable).sort_list) == without_magic(entry.sort_list)
            assert run.block_sum(variable) == recorder.server_sums(variable, where[1])[where[0]]
            assert run.arrays[variable].keys() == observed.arrays[variable].keys()
            for key, block in observed.arrays[variable].items():
                assert run.arrays[variable][key].dtype == block.dtype
                np.testing.assert_array_equal(run.arrays[variable][key], block)
    _assert_reassembles_to_expected(case, in_process, recorded)


def _magic_free(env: dict) -> dict:
    return {k: v for k, v in env.items() if k != "simulation_magic_number"}


def _assert_reassembles_to_expected(case: Case, config: Config, recorded: dict) -> None:
    """All servers' blocks of each delivered variable rebuild the generic mock's array."""
    nodes = emulated_nodes(case.ranks, case.ranks_per_node)
    clients = compute_topology(nodes, case.cores, case.nodes).client_count
    for iteration in sorted({i for _, i in recorded}):
        runs = [r for (_, i), r in recorded.items() if i == iteration]
        for variable in config.variables:
            pieces = [
                (offsets, run.arrays[variable.name][key])
                for run in runs
                for _tag, key, offsets in run.variable(variable.name).sort_list
            ]
            if not variable.time_varying and iteration > 0:
                assert pieces == []
                continue
            layout = config.layout(variable.layout)
            local = tuple(int(d) for d in layout.dimensions)
            whole = expected_global(
                dtype_of(layout.type), global_shape(local, clients, case.domains), iteration
            )
            rebuilt = reassemble(pieces, origin=(0,) * whole.ndim, shape=whole.shape)
            assert rebuilt.dtype == whole.dtype
            np.testing.assert_array_equal(rebuilt, whole)


def test_cases_cover_every_dtype_family_and_mode():
    """The sample stays representative when someone edits it."""
    kinds = {dtype_of(t).kind + str(dtype_of(t).itemsize) for c in CASES.values() for t in c.types}
    assert {"i1", "i2", "i4", "i8", "f4", "f8"} <= kinds
    modes = {
        compute_topology(emulated_nodes(c.ranks, c.ranks_per_node), c.cores, c.nodes).mode
        for c in CASES.values()
    }
    assert modes == set(Mode)
    assert any(c.ranks_per_node and c.cores for c in CASES.values())
    assert any(c.last_is_static for c in CASES.values())
