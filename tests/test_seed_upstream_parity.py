"""The seed executables set and write exactly what upstream's do, so upstream-shaped configs
run unchanged (spec §6): no ``blocks`` from 3dmesh_py, ``array_sum`` on every client, no
``cube_f`` from 3dmesh_py_domains, and undeclared names warned about once, not fatal."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.conformance.cases import case_by_id
from damaris_ref.core.config import Layout, Parameter, Variable, load_config
from damaris_ref.core.config.model import Architecture
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process

from recorder import Recorder
from strategies import seed_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WARNING = re.compile(r"^(3dmesh_py\w*): warning: (.*); ignored, the run goes on$", re.MULTILINE)


def run(simulation: str, config, ranks: int, *flags: str) -> Recorder:
    """``simulation CONFIG -i 2 -s 0 [flags]`` on thread-ranks; what the scripts received."""
    sim = SIMULATIONS[simulation]
    args = sim.parse_args(["in-memory", "-i", "2", "-s", "0", *flags])
    args.config = config
    recorder = Recorder()
    run_in_process(sim.rank_main(args), ranks, observer=recorder.observe, timeout=20)
    return recorder


def test_upstream_shaped_3dmesh_py_config_runs_with_one_warning_per_undeclared_name(capsys):
    config = load_config(EXAMPLES / "3dmesh_py.xml", environ={})
    recorder = run("3dmesh_py", config, 5, "-v", "2", "-r")
    captured = capsys.readouterr()
    golden = case_by_id("seed-5ranks-1core-r").expect
    assert f"C++    iteration  1 , Sum () = {golden.client_totals[1]}" in captured.out
    warned = WARNING.findall(captured.err)
    assert sorted(text.split("'")[1] for _, text in warned) == ["array_sum", "last_iter"]
    assert all(program == "3dmesh_py" for program, _ in warned)
    assert recorder.server_sums("cube_i", 0) == {0: golden.client_totals[0]}


@pytest.mark.parametrize(
    ("simulation", "flags", "expected"),
    [("3dmesh_py", (), {"size"}), ("3dmesh_py_domains", ("-d", "2"), {"size", "blocks"})],
)
def test_which_parameters_each_executable_sets(simulation, flags, expected):
    """Upstream's 3dmesh_py config has no ``blocks``: only the domains executable sets it."""
    config = seed_config(Architecture(dedicated_cores=1, domains=2), (4, 2, 8))
    sim = SIMULATIONS[simulation]
    args = sim.parse_args(["in-memory", "-i", "1", "-s", "0", *flags])
    args.config = config
    names = []

    def main(damaris, comm):
        set_parameter = damaris.parameter_set
        damaris.parameter_set = lambda name, value: (names.append(name), set_parameter(name, value))
        return sim.main(damaris, comm, args)

    run_in_process(main, 5, timeout=20)
    assert set(names) == expected


def test_every_client_writes_array_sum_with_0_off_client_0():
    config = seed_config(Architecture(dedicated_cores=1), (4, 8, 16))
    recorder = run("3dmesh_py", config, 5, "-v", "2", "-r")
    for o in recorder.observations:
        total = case_by_id("seed-5ranks-1core-r").expect.client_totals[o.iteration]
        sums = {k: a.tolist() for k, a in o.arrays["array_sum"].items()}
        assert sums == {"P0_B0": [total], "P1_B0": [0.0], "P2_B0": [0.0], "P3_B0": [0.0]}


def test_3dmesh_py_writes_array_sum_only_with_verbosity_2():
    config = seed_config(Architecture(dedicated_cores=1), (4, 8, 16))
    recorder = run("3dmesh_py", config, 5, "-v", "0")
    assert all("array_sum" not in o.variables for o in recorder.observations)
    assert all(
        set(o.variables) == {"cube_i", "cube_f", "last_iter"} for o in recorder.observations[:1]
    )


def test_3dmesh_py_domains_writes_no_cube_f_even_when_declared(capsys):
    config = seed_config(Architecture(dedicated_cores=1, domains=2), (4, 2, 8))
    recorder = run("3dmesh_py_domains", config, 5, "-d", "2", "-r")
    assert "warning" not in capsys.readouterr().err
    first = next(o for o in recorder.observations if o.iteration == 0)
    assert set(first.variables) == {"cube_i", "last_iter", "array_sum"}
    assert sorted(first.arrays["cube_i"]) == [f"P{c}_B{b}" for c in range(4) for b in range(2)]
    array_sum = {k: a.tolist() for k, a in first.arrays["array_sum"].items()}
    cube_total = sum(int(a.sum()) for a in first.arrays["cube_i"].values())
    assert array_sum == {"P0_B0": [cube_total], "P1_B0": [0.0], "P2_B0": [0.0], "P3_B0": [0.0]}


def test_a_config_without_size_still_runs_with_a_warning(capsys):
    """``parameter_set`` of an unknown parameter: upstream's API returns an error code."""
    config = seed_config(Architecture(dedicated_cores=1), (4, 8, 16))
    config = dataclasses.replace(
        config,
        parameters=(
            *(p for p in config.parameters if p.name != "size"),
            Parameter("size_of_cube", "int", 1),
        ),
        layouts=tuple(
            dataclasses.replace(
                layout, dimensions=tuple(d.replace("DEPTH/size", "1") for d in layout.dimensions)
            )
            for layout in config.layouts
        ),
    )
    run("3dmesh_py", config, 5)
    warnings = WARNING.findall(capsys.readouterr().err)
    assert [text for _, text in warnings] == [
        "unknown parameter 'size'; known parameters: WIDTH, HEIGHT, DEPTH, blocks, size_of_cube"
    ]


def test_whd_layout_is_read_when_declared_and_not_needed():
    config = seed_config(Architecture(dedicated_cores=1), (4, 8, 16))
    declared = dataclasses.replace(
        config,
        parameters=(*config.parameters, Parameter("whd_layout", "int", 2)),
        layouts=(*config.layouts, Layout("unused", "int", ("1",))),
        variables=(*config.variables, Variable("unused_var", "unused")),
    )
    case = case_by_id("seed-5ranks-1core-r")
    total, cells = case.expect.client_totals[0], case.width * case.height * case.depth
    for each in (config, declared):
        recorder = run("3dmesh_py", each, 5, "-r")
        assert recorder.server_sums("cube_i", 0) == {0: total}
        assert np.isclose(recorder.server_sums("cube_f", 0)[0], total + 0.5 * cells)
