"""Writers: ``load(dump(config)) == config`` for any valid Config, in both formats."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.config import (
    Architecture,
    Config,
    Layout,
    Parameter,
    PyScript,
    Variable,
    dump_xml,
    dump_yaml,
    load_config,
    load_config_text,
)
from damaris_ref.config.upstream_schema import upstream_structure_problems
from damaris_ref.data import TYPE_NAMES, dtype_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
# layout/variable names may hold group separators and other punctuation
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,9}", fullmatch=True)
small = st.integers(min_value=0, max_value=64)
finite = st.floats(allow_nan=False, allow_infinity=False)


def parameter(name: str) -> st.SearchStrategy[Parameter]:
    def typed(type_name: str) -> st.SearchStrategy[Parameter]:
        integral = dtype_of(type_name).kind == "i"
        values = st.integers(-(2**31), 2**31 - 1) if integral else finite
        return values.map(lambda v: Parameter(name, type_name, v))

    return st.sampled_from(TYPE_NAMES).flatmap(typed)


def expression(parameters: tuple[str, ...]) -> st.SearchStrategy[str]:
    atoms = st.one_of(small.map(str), *([st.sampled_from(parameters)] if parameters else []))
    return st.recursive(
        atoms,
        lambda inner: st.tuples(inner, st.sampled_from("+-*/"), inner).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"
        ),
        max_leaves=4,
    )


@st.composite
def layout(draw, name: str, parameters: tuple[str, ...]) -> Layout:
    rank = draw(st.integers(1, 3))
    dims = st.lists(expression(parameters), min_size=rank, max_size=rank).map(tuple)
    ghosts = st.lists(st.tuples(small, small), min_size=rank, max_size=rank).map(tuple)
    return Layout(
        name=name,
        type=draw(st.sampled_from(TYPE_NAMES)),
        dimensions=draw(dims),
        global_dimensions=draw(st.none() | dims),
        ghosts=draw(st.none() | ghosts),
    )


paths = st.builds(
    lambda absolute, parts: Path(("/" if absolute else "") + "/".join(parts)),
    st.booleans(),
    st.lists(identifiers, min_size=1, max_size=3),
)


@st.composite
def pyscript(draw, name: str) -> PyScript:
    return PyScript(
        name=name,
        file=draw(paths),
        frequency=draw(st.integers(1, 100)),
        scheduler_file=draw(st.none() | paths),
        nthreads=draw(st.integers(1, 64) | st.just("openmp")),
        keep_workers=draw(st.booleans()),
        timeout=draw(st.floats(min_value=1e-3, max_value=1e6)),
    )


@st.composite
def configs(draw) -> Config:
    parameter_names = tuple(draw(st.lists(identifiers, unique=True, max_size=4)))
    layout_names = draw(st.lists(names, unique=True, min_size=1, max_size=3))
    script_names = draw(st.lists(names, unique=True, max_size=2))
    variable_names = draw(st.lists(names, unique=True, max_size=4))
    return Config(
        simulation_name=draw(names),
        architecture=Architecture(
            domains=draw(st.integers(1, 8)),
            dedicated_cores=draw(small),
            dedicated_nodes=draw(small),
            buffer_name=draw(names),
            buffer_size=draw(st.integers(1, 2**40)),
            queue_name=draw(names),
            queue_size=draw(st.integers(1, 10_000)),
            ranks_per_node=draw(small),
        ),
        parameters=tuple(draw(parameter(n)) for n in parameter_names),
        layouts=tuple(draw(layout(n, parameter_names)) for n in layout_names),
        variables=tuple(
            Variable(
                name=n,
                layout=draw(st.sampled_from(layout_names)),
                time_varying=draw(st.booleans()),
                script=draw(st.none() | st.sampled_from(script_names or [None])),
                mesh=draw(st.none() | names),
                centering=draw(st.sampled_from([None, "nodal", "zonal"])),
            )
            for n in variable_names
        ),
        pyscripts=tuple(draw(pyscript(n)) for n in script_names),
    )


@settings(max_examples=40, deadline=None)
@given(configs())
def test_yaml_round_trip(config):
    assert load_config_text(dump_yaml(config), "yaml", environ={}) == config


@settings(max_examples=40, deadline=None)
@given(configs())
def test_xml_round_trip(config):
    assert load_config_text(dump_xml(config), "xml", environ={}) == config


@settings(max_examples=40, deadline=None)
@given(configs())
def test_written_xml_passes_upstreams_structural_rules(config):
    """Upstream refuses to start on XML without <placement/> or with children out of order."""
    assert upstream_structure_problems(dump_xml(config)) == []


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda text: text.replace("    <placement/>\n", ""), "<placement> 0 time(s)"),
        (
            lambda text: text.replace("<queue ", "<queue/><queue "),
            "<queue> 2 time(s)",
        ),
        (
            lambda text: text.replace("<scripts>", "<log/><scripts>"),
            "not in the order",
        ),
        (lambda text: text.replace(' name="3dmesh_py"', "", 1), "no name attribute"),
    ],
)
def test_the_structural_check_names_what_upstream_would_refuse(edit, problem):
    text = dump_xml(load_config(EXAMPLES / "3dmesh_py.yml", environ={}))
    assert upstream_structure_problems(text) == []
    problems = upstream_structure_problems(edit(text))
    assert any(problem in p for p in problems), problems


def test_written_files_reload_to_the_example(tmp_path):
    example = load_config(EXAMPLES / "3dmesh_py.yml", environ={})
    for name, dump in (("case.yml", dump_yaml), ("case.xml", dump_xml)):
        (tmp_path / name).write_text(dump(example))
        reloaded = load_config(tmp_path / name, environ={})
        assert dataclasses.replace(reloaded, source=example.source) == example
