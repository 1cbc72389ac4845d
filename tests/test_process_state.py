"""A run changes nothing process-wide: the in-process engine leaves ``sys.stdout``, both
exception hooks, ``sys.path``, the default Dask client and the rank context as it found them
(library code scopes what it changes to the call that needs it)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from process_state import process_state

from damaris_ref.core.config.model import Architecture
from damaris_ref.core.errors import UsageError
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process
from damaris_ref.runtime.scripts import context, damaris4py_server
from damaris_ref.runtime.session import Damaris
from damaris_ref.runtime.transport.inprocess import InProcessWorld

from strategies import seed_config

SCRIPTS = Path(__file__).parent / "scripts"


def assert_no_rank_context() -> None:
    with pytest.raises(UsageError, match="need a running Damaris rank"):
        damaris4py_server.getservercomm()


@pytest.mark.parametrize(
    ("architecture", "world_size"),
    [(Architecture(dedicated_cores=2), 6), (Architecture(), 2)],
    ids=["dedicated-cores", "standalone"],
)
def test_the_in_process_engine_leaves_the_process_as_it_found_it(
    architecture, world_size, tmp_path, capsys
):
    config = seed_config(architecture, script=SCRIPTS / "fails_on_server0_iteration1.py")
    # a scheduler file that does not exist: the servers open a Dask session and run without
    pyscript = dataclasses.replace(config.pyscripts[0], scheduler_file=tmp_path / "none.json")
    config = dataclasses.replace(config, pyscripts=(pyscript,))
    simulation = SIMULATIONS["3dmesh_py"]
    args = simulation.parse_args(["in-memory", "-i", "2", "-v", "2", "-s", "0"])
    args.config = config
    reports = io.StringIO()
    before = process_state()

    run_in_process(simulation.rank_main(args), world_size, timeout=20, stderr=reports)

    assert process_state() == before
    assert_no_rank_context()
    out = capsys.readouterr()
    assert "script ran on server 0 at iteration 1" in out.out  # the scripts did run
    # the script's failure went to the writer given, not to the process's stderr
    assert "RuntimeError: server 0 fails at iteration 1" in reports.getvalue()
    assert "server 0 fails" not in out.err


def test_a_session_binds_its_rank_context_from_initialize_to_finalize():
    world = InProcessWorld(1, timeout=5)
    damaris = Damaris(world.backend(0))
    assert_no_rank_context()
    damaris.initialize(seed_config(Architecture()))
    assert damaris4py_server.getglobalcomm() is world.comms[0]
    assert context.current().world_rank == 0
    damaris.finalize()
    assert_no_rank_context()
