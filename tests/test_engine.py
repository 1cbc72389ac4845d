"""The in-process engine and the client API: spec §6 seed numbers, failures, API states."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.conformance.cases import Case, case_by_id
from damaris_ref.conformance.impls import SEED_ARGS, render
from damaris_ref.core.config.model import Architecture, Config, Layout, Variable
from damaris_ref.mocks import SIMULATIONS, SimulationSetupError
from damaris_ref.runtime.in_process import RankFailed, run_in_process
from damaris_ref.runtime.session import Damaris, DamarisStateError
from damaris_ref.runtime.transport.base import WorldAborted
from damaris_ref.runtime.transport.budget import ByteBudget
from damaris_ref.runtime.transport.inprocess import InProcessWorld
from damaris_ref.runtime.transport.threadcomm import ThreadComm

from recorder import Recorder
from strategies import seed_config
from waits import GUARD, WatchedCondition, wait_for_event

ROOT = Path(__file__).resolve().parents[1]
SEED_SCRIPT = ROOT / "examples" / "3dmesh_py_short.py"
SCRIPTS = Path(__file__).parent / "scripts"
RUN_TIMEOUT = 20.0

CXX_LINE = re.compile(r"^C\+\+    iteration  (\d+) , Sum \(\) = (\d+)$", re.MULTILINE)
PYTHON_LINE = re.compile(r"^Python iteration  (\d+) , Sum\(\) =  (\d+)$", re.MULTILINE)


def mesh_config(cores: int = 1, script: Path = SEED_SCRIPT, depth: int = 4) -> Config:
    """examples/3dmesh_py_compact.yml, built in memory (WIDTH 16, HEIGHT 8, DEPTH 4)."""
    return seed_config(Architecture(dedicated_cores=cores), (depth, 8, 16), script)


def run_mesh(
    config: Config, world_size: int, *flags: str, observer=None, errors=None, **options
) -> list:
    """``3dmesh_py CONFIG -i 3 -v 2 -s 0 [flags]`` on ``world_size`` thread-ranks; with an
    ``errors`` dict, what each rank raised is recorded there (see :func:`ending_errors`)."""
    sim = SIMULATIONS["3dmesh_py"]
    args = sim.parse_args(["in-memory", "-i", "3", "-v", "2", "-s", "0", *flags])
    args.config = config
    options.setdefault("timeout", RUN_TIMEOUT)
    main = sim.rank_main(args) if errors is None else ending_errors(sim.rank_main(args), errors)
    return run_in_process(main, world_size, observer=observer, **options)


def ending_errors(main, errors: dict[int, BaseException]):
    """``main`` that also records in ``errors`` what each rank raised."""

    def recorded(damaris: Damaris, comm):
        try:
            return main(damaris, comm)
        except BaseException as error:
            errors[comm.Get_rank()] = error
            raise

    return recorded


def printed_sums(pattern: re.Pattern, out: str) -> dict[int, list[int]]:
    """{iteration: sorted sums} of every printed line matching ``pattern``."""
    sums: dict[int, list[int]] = defaultdict(list)
    for iteration, total in pattern.findall(out):
        sums[int(iteration)].append(int(total))
    return {i: sorted(values) for i, values in sums.items()}


def block_sums(recorder: Recorder, variable: str, iteration: int) -> dict[str, float]:
    return {
        key: float(array.sum(dtype=np.float64))
        for o in recorder.observations
        if o.iteration == iteration
        for key, array in o.arrays.get(variable, {}).items()
    }


# spec §6 seed numbers, from conformance/cases/seed-golden.yaml -----------------------------
def run_case(case_id: str, observer=None) -> Case:
    """The golden case ``case_id`` with the seed's script, its arguments as the suite gives
    them (``-i I -v 2 [-r] -s 0``), on ``np`` thread-ranks."""
    case = case_by_id(case_id)
    sim = SIMULATIONS[case.simulation]
    args = sim.parse_args(render(SEED_ARGS[case.simulation], case, Path("in-memory")))
    args.config = case.config(SEED_SCRIPT, "MyPyAction")
    run_in_process(sim.rank_main(args), case.np, observer=observer, timeout=RUN_TIMEOUT)
    return case


def per_iteration(values) -> dict[int, list[int]]:
    """``{iteration: [value]}`` of one value per iteration (what printed_sums gives)."""
    return {i: [v] for i, v in enumerate(values)}


def test_seed_five_ranks_one_core_rank_only(capsys):
    recorder = Recorder()
    golden = run_case("seed-5ranks-1core-r", recorder.observe).expect
    out = capsys.readouterr().out
    assert printed_sums(CXX_LINE, out) == per_iteration(golden.client_totals)
    one_server = {i: list(sums) for i, sums in golden.server_sums.items()}
    assert printed_sums(PYTHON_LINE, out) == one_server  # one server holds every block
    for iteration, sums in golden.block_sums.items():
        assert block_sums(recorder, "cube_i", iteration) == sums
    p3 = golden.block_sums[0]["P3_B0"]
    assert f"Python iteration  0 , Data found: cube_i[ P3_B0 ].sum() =  {p3}" in out


def test_seed_six_ranks_two_cores_rank_only(capsys):
    recorder = Recorder()
    golden = run_case("seed-6ranks-2cores-r", recorder.observe).expect
    out = capsys.readouterr().out
    expected = {i: sorted(sums) for i, sums in golden.server_sums.items()}
    assert printed_sums(PYTHON_LINE, out) == expected
    assert printed_sums(CXX_LINE, out) == per_iteration(golden.client_totals)
    for iteration, sums in golden.server_sums.items():
        assert recorder.server_sums("cube_i", iteration) == dict(enumerate(sums))
    owners = {
        o.server: sorted(o.arrays["cube_i"]) for o in recorder.observations if o.iteration == 0
    }
    assert owners == {
        server: [f"P{c}_B0" for c in clients] for server, clients in enumerate(golden.known_clients)
    }


def test_seed_without_rank_only(capsys):
    golden = run_case("seed-5ranks-1core").expect
    assert printed_sums(CXX_LINE, capsys.readouterr().out) == per_iteration(golden.client_totals)
    recorder = Recorder()
    golden = run_case("seed-6ranks-2cores", recorder.observe).expect
    assert printed_sums(PYTHON_LINE, capsys.readouterr().out)[0] == sorted(golden.server_sums[0])
    assert recorder.server_sums("cube_i", 0) == dict(enumerate(golden.server_sums[0]))


def test_seed_side_variables_reach_the_script():
    recorder = Recorder()
    case = run_case("seed-6ranks-2cores-r", recorder.observe)
    for o in recorder.observations:
        # cube_f = cube_i + 0.5 element-wise, as float32
        for key, cube in o.arrays["cube_i"].items():
            np.testing.assert_array_equal(o.arrays["cube_f"][key], cube + np.float32(0.5))
        assert o.variable("cube_f").type_string == "_float"
        owned = case.expect.known_clients[o.server]
        # last_iter is not time-varying: every client's copy at iteration 0 only
        expected_last = {f"P{c}_B0": [case.iterations] for c in owned}
        last = {k: a.tolist() for k, a in o.arrays.get("last_iter", {}).items()}
        assert last == (expected_last if o.iteration == 0 else {})
        # every client writes array_sum: the total on client 0, 0.0 on the others
        total = case.expect.client_totals[o.iteration]
        sums = {k: a.tolist() for k, a in o.arrays["array_sum"].items()}
        assert sums == {f"P{c}_B0": [total if c == 0 else 0.0] for c in owned}


# failures -----------------------------------------------------------------------------------
def test_a_script_failing_on_one_server_does_not_stop_the_run(capsys):
    run_mesh(mesh_config(cores=2, script=SCRIPTS / "fails_on_server0_iteration1.py"), 6, "-r")
    captured = capsys.readouterr()
    ran = set(re.findall(r"script ran on server (\d) at iteration (\d)", captured.out))
    assert ran == {(str(s), str(i)) for s in (0, 1) for i in range(3)}
    assert sorted(printed_sums(CXX_LINE, captured.out)) == [0, 1, 2]
    assert "server 0 iteration 1" in captured.err
    assert "[S0 I1] RuntimeError: server 0 fails at iteration 1" in captured.err
    assert "server 1 iteration" not in captured.err


def test_a_simulation_error_on_the_clients_is_reported_with_its_rank_in_time():
    errors: dict[int, BaseException] = {}
    with pytest.raises(RankFailed) as failure:
        run_mesh(mesh_config(cores=1, depth=2), 5, "-r", errors=errors, timeout=GUARD)
    # in time: the server did not wait out its timeout; the clients' failure woke it
    assert isinstance(errors[4], WorldAborted), errors
    assert failure.value.rank in range(4)
    assert isinstance(failure.value.error, SimulationSetupError)
    assert failure.value.__cause__ is failure.value.error
    assert (
        f"rank {failure.value.rank} failed: SimulationSetupError: 4 clients but DEPTH is 2"
        in str(failure.value)
    )


def test_one_failing_rank_is_named_and_the_blocked_ranks_are_woken():
    config = mesh_config(cores=1)

    def main(damaris: Damaris, comm):
        damaris.initialize(config, comm)
        if damaris.start():
            if comm.Get_rank() == 2:
                raise ValueError("rank two breaks")
            damaris.client_comm_get().barrier()  # waits for rank 2 forever
            damaris.stop()
        damaris.finalize()

    errors: dict[int, BaseException] = {}
    with pytest.raises(RankFailed, match="rank 2 failed: ValueError: rank two breaks") as failure:
        run_in_process(ending_errors(main, errors), 5, timeout=GUARD)
    assert failure.value.rank == 2
    woken = {rank: error for rank, error in errors.items() if rank != 2}
    assert sorted(woken) == [0, 1, 3, 4]  # the other clients, in their barrier, and the server
    assert all(isinstance(error, WorldAborted) for error in woken.values()), woken  # no timeout


@pytest.fixture
def buffer_wait(monkeypatch) -> threading.Event:
    """Set once a writer waits for space in any node buffer created during the test."""
    waiting = threading.Event()
    create = ByteBudget.__init__

    def watched(budget: ByteBudget, name: str, capacity: int) -> None:
        create(budget, name, capacity)
        budget._changed = WatchedCondition(waiting)

    monkeypatch.setattr(ByteBudget, "__init__", watched)
    return waiting


def test_a_client_waiting_for_buffer_space_is_woken_when_another_rank_fails(buffer_wait):
    config = Config(
        "stuck",
        Architecture(dedicated_cores=1, buffer_size=2500),
        layouts=(Layout("kilobyte", "double", ("125",)),),
        variables=(Variable("v", "kilobyte"),),
    )

    def main(damaris: Damaris, comm):
        damaris.initialize(config, comm)
        if damaris.start():
            if comm.Get_rank() == 1:  # once client 0 waits for space
                wait_for_event(buffer_wait, "a client waiting for buffer space")
                raise ValueError("client 1 fails before ending iteration 0")
            for _ in range(3):  # the third write waits for space the server never frees
                damaris.write("v", np.zeros(125))
                damaris.end_iteration()
            damaris.stop()
        damaris.finalize()

    errors: dict[int, BaseException] = {}
    with pytest.raises(RankFailed, match="rank 1 failed: ValueError"):
        run_in_process(ending_errors(main, errors), 3, timeout=GUARD)
    assert isinstance(errors[0], WorldAborted), errors  # the abort woke it, no full buffer


def test_an_error_raised_after_the_abort_is_reported_over_the_abort_itself():
    def main(damaris: Damaris, comm):
        if comm.Get_rank() == 0:  # looks like a rank woken up by the abort
            raise WorldAborted("the in-process world was aborted (another rank failed)")
        if comm.Get_rank() == 2:  # fails once rank 0's error aborted the world
            wait_for_event(damaris.backend.world.aborted, "the abort")
            raise ValueError("the real cause")
        comm.barrier()

    with pytest.raises(RankFailed, match="rank 2 failed: ValueError: the real cause"):
        run_in_process(main, 4, timeout=10)


def test_ranks_print_to_the_callers_stdout_and_each_line_stays_whole(capsys):
    caller_stdout = sys.stdout
    seen = []

    def main(damaris: Damaris, comm):
        seen.append(sys.stdout)
        for line in range(50):
            print(f"rank {comm.Get_rank()} line {line} " + "x" * 40)
            if line % 10 == 0:
                comm.barrier()

    run_in_process(main, 4, timeout=10)
    lines = capsys.readouterr().out.splitlines()
    assert seen == [caller_stdout] * 4  # never a stream of the engine's
    assert sorted(lines) == sorted(
        f"rank {r} line {i} " + "x" * 40 for r in range(4) for i in range(50)
    )


# API states ---------------------------------------------------------------------------------
@pytest.fixture
def lone_rank():
    """An uninitialized Damaris session of rank 0 in a 1-rank world."""
    damaris = Damaris(InProcessWorld(1, timeout=5).backend(0))
    yield damaris
    damaris.finalize()  # unbinds the rank context from this thread


def test_calls_before_initialize_are_state_errors(lone_rank):
    with pytest.raises(DamarisStateError, match="call initialize"):
        lone_rank.write("cube_i", np.zeros(1))
    with pytest.raises(DamarisStateError, match="call initialize"):
        lone_rank.start()


def test_write_before_start_is_a_state_error(lone_rank):
    lone_rank.initialize(mesh_config(cores=0))
    with pytest.raises(DamarisStateError, match=r"call start\(\) before writing"):
        lone_rank.write("cube_i", np.zeros((4, 8, 16), dtype=np.int32))


def test_initialize_with_a_foreign_comm_is_a_state_error(lone_rank):
    foreign = ThreadComm.world(1)[0]
    with pytest.raises(DamarisStateError, match="world communicator"):
        lone_rank.initialize(mesh_config(cores=0), foreign)


def test_client_calls_on_a_server_rank_are_state_errors():
    config = mesh_config(cores=1)

    def main(damaris: Damaris, comm):
        damaris.initialize(config, comm)
        if damaris.is_client:
            return None
        errors = []
        for call in (
            lambda: damaris.write("array_sum", np.zeros(1)),
            lambda: damaris.parameter_get("WIDTH"),
            damaris.client_comm_get,
        ):
            with pytest.raises(DamarisStateError, match="for client ranks") as caught:
                call()
            errors.append(caught.value)
        return errors

    client, server = run_in_process(main, 2, timeout=10)
    assert client is None
    assert len(server) == 3


# modes and damaris4py -----------------------------------------------------------------------
def test_standalone_runs_the_script_inside_each_client(capsys):
    seen = []

    def observer(server, pyscript, damaris_data):
        blocks = sorted(damaris_data["iteration_data"]["cube_i"]["numpy_data"])
        seen.append((threading.current_thread().name, server, blocks, damaris_data["damaris_env"]))

    run_mesh(mesh_config(cores=0), 4, "-r", observer=observer)
    assert sorted((thread, server, blocks) for thread, server, blocks, _ in seen) == sorted(
        (f"rank-{c}", c, [f"P{c}_B0"]) for c in range(4) for _ in range(3)
    )
    env = seen[0][3]
    assert (env["is_dedicated_core"], env["is_dedicated_node"]) == (False, False)
    assert env["servers_per_node"] == 0
    python = printed_sums(PYTHON_LINE, capsys.readouterr().out)
    block_sums_at_0 = case_by_id("seed-5ranks-1core-r").expect.block_sums[0]  # one per client
    assert python[0] == sorted(block_sums_at_0.values())


def test_damaris4py_server_functions_answer_from_the_topology(tmp_path, monkeypatch):
    monkeypatch.setenv("DAMARIS_TEST_RECORD_DIR", str(tmp_path))
    script = SCRIPTS / "record_damaris4py.py"
    run_mesh(mesh_config(cores=2, script=script), 6, "-r", magic="987654321")
    common = {
        "isserver": True,
        "isclient": False,
        "isdedicatedcore": True,
        "isdedicatednode": False,
        "clientspernode": 4,
        "corespernode": 6,
        "serverspernode": 2,
        "numberofnodes": 1,
        "magicnumber_string": "987654321",
        "damaris_comm_size": 2,
        "client_comm_size": None,
    }
    for server in (0, 1):
        for iteration in range(3):
            facts = json.loads((tmp_path / f"server_{server}_{iteration}.json").read_text())
            assert facts == {
                **common,
                "listknownclients": [2 * server, 2 * server + 1],
                "server_comm": [server, 2],
                "global_comm": [4 + server, 6],
            }
