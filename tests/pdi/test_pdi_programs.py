"""PDI programs on the in-process engine: every plugin event, ``write:``, ``depends_on``.

The seed's two programs (as the mock executables port them) exercise the multi-expose events;
small programs of each test exercise the configured side. What the server scripts received is
checked through the engine's observer.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from damaris_ref import pdi
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import RankFailed, run_in_process

from pdi_runs import RUN_TIMEOUT, run_pdi
from pdi_specs import NOOP_SCRIPT, ONE_VARIABLE_SPEC, ROOT, seed_spec

CXX_TOTAL = re.compile(r"C\+\+    iteration  (\d+) , Sum \(\) = (\d+)")
CXX_DOMAINS_TOTAL = re.compile(r"C\+\+    iteration (\d+)  Sum = (\d+)\.0+")
PYTHON_SUM = re.compile(r"Python iteration  (\d+) , Sum\(\) =  (\d+)")
SEED_SUMS = {0: 98304, 1: 98816, 2: 99328}


def run_seed_program(name: str, spec: Path, world_size: int, *flags: str, recorder=None):
    simulation = SIMULATIONS[name]
    args = simulation.parse_args([str(spec), "-i", "3", "-r", "-s", "0", *flags])
    observer = recorder.observe if recorder is not None else None
    return run_in_process(
        simulation.rank_main(args), world_size, observer=observer, timeout=RUN_TIMEOUT
    )


def sums(pattern: re.Pattern, text: str) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for iteration, total in pattern.findall(text):
        found.setdefault(int(iteration), []).append(int(total))
    return {i: sorted(v) for i, v in found.items()}


# the seed's programs: every multi-expose event -----------------------------------------------
def test_3dmesh_py_pdi_with_the_seeds_own_file_prints_the_seed_sums(capsys):
    run_seed_program("3dmesh_py_pdi", ROOT / "examples" / "3dmesh_py.yml", 5, "-v", "2")
    out = capsys.readouterr().out
    assert sums(CXX_TOTAL, out) == {i: [s] for i, s in SEED_SUMS.items()}
    assert sums(PYTHON_SUM, out) == {i: [s] for i, s in SEED_SUMS.items()}
    # every rank says what damaris_start told it: 4 clients, then the server once they stopped
    assert sorted(re.findall(r"is_client = (\d)", out)) == ["0", "1", "1", "1", "1"]


def test_3dmesh_py_pdi_on_two_servers_splits_the_sums(tmp_path, capsys):
    spec = seed_spec(tmp_path, cores=2, script=ROOT / "examples" / "3dmesh_py.py")
    run_seed_program("3dmesh_py_pdi", spec, 6, "-v", "2")
    assert sums(PYTHON_SUM, capsys.readouterr().out) == {
        0: [16384, 81920],
        1: [16640, 82176],
        2: [16896, 82432],
    }


def test_3dmesh_py_pdi_writes_positions_and_every_variable(tmp_path, recorder):
    run_seed_program("3dmesh_py_pdi", seed_spec(tmp_path), 5, "-v", "2", recorder=recorder)
    (first,) = [o for o in recorder.observations if o.iteration == 0]
    cube = first.variable("cube_i")
    assert cube.offsets == {f"P{c}_B0": [c, 0, 0] for c in range(4)}  # set_position
    assert first.arrays["cube_f"]["P1_B0"].dtype == np.float32
    assert first.arrays["cube_f"]["P1_B0"].ravel()[0] == 128.5
    assert first.arrays["last_iter"]["P3_B0"].tolist() == [3]
    assert first.arrays["array_sum"]["P0_B0"].tolist() == [98304.0]


def test_3dmesh_py_domains_pdi_writes_blocks_at_their_positions(tmp_path, capsys, recorder):
    spec = seed_spec(tmp_path, cores=2, domains=4, depth=16)
    run_seed_program("3dmesh_py_domains_pdi", spec, 6, "-d", "4", recorder=recorder)
    totals = sums(CXX_DOMAINS_TOTAL, capsys.readouterr().out)
    assert totals == {0: [98304], 1: [100352], 2: [102400]}
    for iteration, (total,) in totals.items():
        runs = [o for o in recorder.observations if o.iteration == iteration]
        offsets = {k: v for o in runs for k, v in o.variable("cube_i").offsets.items()}
        # set_block_position: client c's block b sits at (4c, 0, 4b) of the 16x8x16 cube
        assert offsets == {f"P{c}_B{b}": [4 * c, 0, 4 * b] for c in range(4) for b in range(4)}
        assert sum(o.block_sum("cube_i") for o in runs) == total


# is_client, the client communicator, and how servers leave ------------------------------------
def is_client_spec(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "spec.yml"
    path.write_text(f"{ONE_VARIABLE_SPEC}{extra}\n")
    return path


def write_one_iteration() -> None:
    pdi.multi_expose(
        "damaris_write", [("w_var_name", "v", pdi.OUT), ("data", np.array([7]), pdi.OUT)]
    )
    pdi.event("damaris_end_iteration")


def test_a_configured_is_client_datum_returns_on_servers_once_clients_stopped(tmp_path, recorder):
    spec = is_client_spec(tmp_path, "    get_is_client: is_client\n    client_comm_get: comm")

    def program(_comm):
        pdi.init(spec)
        is_client = np.array([-1], dtype=np.int32)
        pdi.expose("is_client", is_client, pdi.INOUT)
        comm = np.empty(1, dtype=object)
        pdi.expose("comm", comm, pdi.INOUT)  # a server leaves it as it is
        if is_client[0]:
            write_one_iteration()
            pdi.event("damaris_stop")
        pdi.finalize()
        return int(is_client[0]), None if comm[0] is None else comm[0].Get_size()

    assert run_pdi(program, 3, recorder) == [(1, 2), (1, 2), (0, None)]
    assert [o.block_sum("v") for o in recorder.observations] == [14]


def test_without_is_client_a_server_serves_then_leaves_the_program(tmp_path, recorder):
    spec = is_client_spec(tmp_path)

    def program(_comm):
        pdi.init(spec)
        pdi.event("initialize")
        write_one_iteration()  # a server starts here, serves, and never comes back
        pdi.event("finalize")  # stops the client, as the plugin's finalize does
        pdi.finalize()
        return "client done"

    assert run_pdi(program, 3, recorder) == ["client done", "client done", "server finished"]
    assert [o.block_sum("v") for o in recorder.observations] == [14]


def test_configured_event_names_replace_the_defaults(tmp_path, recorder):
    spec = is_client_spec(
        tmp_path,
        "    init_on_event: setup\n    start_on_event: go\n    end_iteration_on_event: step\n"
        "    stop_on_event: halt\n    finalize_on_event: done",
    )

    def program(_comm):
        pdi.init(spec)
        pdi.event("setup")
        is_client = np.array([-1], dtype=np.int32)
        pdi.multi_expose("go", [("is_client", is_client, pdi.INOUT)])
        if is_client[0]:
            pdi.multi_expose(
                "damaris_write", [("w_var_name", "v", pdi.OUT), ("d", np.array([1]), pdi.OUT)]
            )
            pdi.event("step")
            pdi.event("halt")
        pdi.event("done")
        pdi.finalize()
        return int(is_client[0])

    assert run_pdi(program, 3, recorder) == [1, 1, 0]
    assert len(recorder.observations) == 1


# parameter_get / parameter_set, by events and by configured metadata ---------------------------
def test_parameters_by_configured_metadata(tmp_path, recorder):
    spec = tmp_path / "spec.yml"
    spec.write_text(
        f"""
plugins:
  damaris:
    architecture: {{sim_name: t, dedicated: {{core: 1}}}}
    parameters:
      - parameter: {{name: n, type: int, value: 1}}
      - parameter: {{name: width, type: int, value: 5}}
    datasets: [{{dataset: {{name: v, layout: row, script: s}}}}]
    layouts: [{{layout: {{name: row, type: int, dimensions: 'n', global: 'n*2'}}}}]
    pyscript: {{name: s, file: {NOOP_SCRIPT}, language: python}}
    parameter_get: {{my_width: width}}
    parameter_set: {{my_n: n}}
    get_is_client: is_client
"""
    )

    def program(comm):
        pdi.init(spec)
        is_client = np.array([0], dtype=np.int32)
        pdi.expose("is_client", is_client, pdi.INOUT)
        width = np.zeros(1, dtype=np.int32)
        if is_client[0]:
            pdi.expose("my_width", width, pdi.IN)  # parameter_get: receives 5
            pdi.expose("my_n", np.int32(3), pdi.OUT)  # parameter_set: row is now 3 long
            rank = comm.Get_rank()
            pdi.multi_expose(
                "damaris_set_position",
                [("pos_var_name", "v", pdi.OUT), ("position", np.array([3 * rank]), pdi.OUT)],
            )
            pdi.multi_expose(
                "damaris_write", [("w_var_name", "v", pdi.OUT), ("d", np.arange(3), pdi.OUT)]
            )
            pdi.event("damaris_end_iteration")
        pdi.finalize()
        return int(width[0])

    assert run_pdi(program, 3, recorder) == [5, 5, 0]
    (run,) = recorder.observations
    assert run.variable("v").offsets == {"P0_B0": [0], "P1_B0": [3]}
    assert run.arrays["v"]["P1_B0"].tolist() == [0, 1, 2]


def test_parameter_events_read_and_set_by_name(tmp_path):
    spec = seed_spec(tmp_path)

    def program(_comm):
        pdi.init(spec)
        is_client = np.array([0], dtype=np.int32)
        pdi.multi_expose("damaris_start", [("is_client", is_client, pdi.INOUT)])
        values = []
        if is_client[0]:
            for name, value in (("DEPTH", None), ("size", 2), ("size", None)):
                buffer = np.array([value or 0], dtype=np.int32)
                event = "damaris_parameter_get" if value is None else "damaris_parameter_set"
                pdi.multi_expose(
                    event,
                    [
                        ("prm_name", name, pdi.OUT),
                        ("prm_buffer", buffer, pdi.INOUT),
                        ("prm_size", buffer.nbytes, pdi.OUT),
                    ],
                )
                values.append(int(buffer[0]))
            pdi.event("damaris_stop")
        pdi.finalize()
        return values

    assert run_pdi(program, 3)[:2] == [[4, 2, 2], [4, 2, 2]]


# write: when, position, block, after_write; depends_on ----------------------------------------
def write_spec(tmp_path: Path, write: str, layout: str | None = None, extra: str = "") -> Path:
    layout = layout or (
        "{name: f_layout, type: double, dimensions: ['$dsize[0]', '$dsize[1]'], "
        "global: ['$psize[0]*$dsize[0]', '$dsize[1]'], depends_on: [dsize, psize]}"
    )
    pair = "{size: 2, type: array, subtype: int}"
    path = tmp_path / "spec.yml"
    path.write_text(
        f"""
metadata: {{iter: int, dsize: {pair}, psize: {pair}}}
plugins:
  damaris:
    architecture: {{sim_name: t, domains: 2, dedicated: {{core: 1}}}}
    datasets: [{{dataset: {{name: field, layout: f_layout, script: s}}}}]
    layouts: [{{layout: {layout}}}]
    pyscript: {{name: s, file: {NOOP_SCRIPT}, language: python}}
    write:
{write}
{extra}
"""
    )
    return path


def heat_program(spec: Path, iterations: int = 3, rows=lambda i: 2, expose_psize=True):
    """Clients expose iter, dsize, psize, pcoord and then the field, as the plugin's example."""

    def program(comm):
        pdi.init(spec)
        pdi.event("initialize")
        clients = comm.Get_size() - 1
        for iteration in range(iterations):
            pdi.expose("iter", iteration, pdi.OUT)
            pdi.expose("dsize", np.array([rows(iteration), 3], dtype=np.int32), pdi.OUT)
            if expose_psize:
                pdi.expose("psize", np.array([clients, 1], dtype=np.int32), pdi.OUT)
            pdi.expose("pcoord", np.array([comm.Get_rank(), 0], dtype=np.int32), pdi.OUT)
            field = np.full((rows(iteration), 3), 10.0 * iteration + comm.Get_rank())
            pdi.expose("field", field, pdi.OUT)
        pdi.finalize()

    return program


def test_write_section_honours_when_and_position(tmp_path, recorder):
    spec = write_spec(
        tmp_path,
        "      field:\n        when: '$iter<2'\n        position: ['$dsize[0]*$pcoord[0]', '0']",
    )
    run_pdi(heat_program(spec), 3, recorder)
    # after_write (damaris_end_iteration by default) ended iterations 0 and 1; in iteration 2
    # `when` was false, nothing was written, and no empty iteration was ended
    assert sorted(o.iteration for o in recorder.observations) == [0, 1]
    for run in recorder.observations:
        assert run.variable("field").offsets == {"P0_B0": [0, 0], "P1_B0": [2, 0]}
        assert run.arrays["field"]["P1_B0"].ravel()[0] == 10.0 * run.iteration + 1


def test_write_section_block_uses_the_block_calls(tmp_path, recorder):
    spec = write_spec(
        tmp_path, "      field:\n        block: '1'\n        position: ['$dsize[0]*$pcoord[0]', 0]"
    )
    run_pdi(heat_program(spec, iterations=1), 3, recorder)
    (run,) = recorder.observations
    assert run.variable("field").offsets == {"P0_B1": [0, 0], "P1_B1": [2, 0]}


def test_depends_on_updates_the_layout_at_every_change(tmp_path, recorder):
    spec = write_spec(tmp_path, "      field:\n        position: ['$dsize[0]*$pcoord[0]', '0']")
    run_pdi(heat_program(spec, rows=lambda i: 2 + 2 * i), 3, recorder)
    shapes = {o.iteration: o.variable("field").blocks["P1_B0"].shape for o in recorder.observations}
    assert shapes == {0: (2, 3), 1: (4, 3), 2: (6, 3)}


def test_after_write_fires_the_configured_events_once_every_entry_was_handled(tmp_path, recorder):
    spec = write_spec(
        tmp_path,
        "      field:\n        position: ['$dsize[0]*$pcoord[0]', '0']\n"
        "      iter:\n        dataset: step\n        when: '$iter=1'",
        extra="    after_write: [damaris_end_iteration]",
    )
    text = spec.read_text().replace(
        "datasets: [", "datasets: [{dataset: {name: step, layout: one, script: s}}, "
    )
    text = text.replace(
        "layouts: [", "layouts: [{layout: {name: one, type: int, dimensions: '1', global: '1'}}, "
    )
    spec.write_text(text)
    run_pdi(heat_program(spec, iterations=3), 3, recorder)
    by_iteration = {o.iteration: o for o in recorder.observations}
    assert sorted(by_iteration) == [0, 1, 2]  # field was written each time, iter only at 1
    assert [sorted(o.arrays) for _, o in sorted(by_iteration.items())] == [
        ["field"],
        ["field", "step"],
        ["field"],
    ]


# bad input: one pdi.Error naming the problem -------------------------------------------------
def test_a_depends_on_metadata_never_exposed_is_an_error_naming_it(tmp_path):
    spec = write_spec(tmp_path, "      field:\n        position: ['0', '0']")
    with pytest.raises(RankFailed) as caught:
        run_pdi(heat_program(spec, expose_psize=False), 3)
    assert isinstance(caught.value.error, pdi.Error)
    message = str(caught.value.error)
    assert "metadata 'psize' was never exposed" in message
    assert "f_layout" in message


def test_a_write_expression_outside_the_subset_is_located_at_init(tmp_path):
    spec = write_spec(tmp_path, "      field:\n        when: '$iter<=3'")

    def program(_comm):
        pdi.init(spec)

    with pytest.raises(RankFailed) as caught:
        run_pdi(program, 2)
    assert isinstance(caught.value.error, pdi.Error)
    message = str(caught.value.error)
    assert message.startswith(f"{spec}:11: plugins.damaris.write.field.when: "), message
    assert "PDI expression '$iter<=3'" in message


# the write:-section example ------------------------------------------------------------------
def test_heat2d_pdi_example_writes_every_other_step_and_the_sums_agree(capsys, recorder):
    simulation = SIMULATIONS["heat2d_pdi"]
    args = simulation.parse_args([str(ROOT / "examples" / "heat2d_pdi.yml"), "-i", "7"])
    run_in_process(simulation.rank_main(args), 5, observer=recorder.observe, timeout=RUN_TIMEOUT)
    out = capsys.readouterr().out
    simulation_sums = dict(re.findall(r"C\+\+    step (\d+) , Sum \(\) = (\S+)", out))
    script_sums = dict(re.findall(r"Python iteration  \d+ , step (\d+) , Sum\(\) = (\S+)", out))
    assert sorted(simulation_sums, key=int) == ["0", "2", "4", "6"]
    assert script_sums == simulation_sums
    assert float(simulation_sums["6"]) > float(simulation_sums["2"]) > 0  # heat spreads in
    # each client's 12 interior rows sit below the previous client's
    run = next(o for o in recorder.observations if o.iteration == 1)
    assert run.variable("field").offsets == {f"P{c}_B0": [12 * c, 0] for c in range(4)}


def test_a_real_parameter_with_depends_on_takes_the_float_value(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(
        is_client_spec(tmp_path).read_text()
        + "    parameters:\n"
        + "      - parameter: {name: scale, type: double, value: '$factor*2', depends_on: factor}\n"
    )

    def program(_comm):
        pdi.init(spec)
        is_client = np.array([0], dtype=np.int32)
        pdi.multi_expose("damaris_start", [("is_client", is_client, pdi.INOUT)])
        scale = np.zeros(1)
        if is_client[0]:
            pdi.expose("factor", np.float64(1.25), pdi.OUT)
            pdi.multi_expose(
                "damaris_parameter_get",
                [("prm_name", "scale", pdi.OUT), ("b", scale, pdi.INOUT), ("s", 8, pdi.OUT)],
            )
        pdi.finalize()
        return float(scale[0])

    assert run_pdi(program, 3) == [2.5, 2.5, 0.0]
