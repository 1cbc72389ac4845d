"""Writers: ``load(dump(config)) == config`` for any valid Config, in all three forms."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.core.config import (
    Architecture,
    Config,
    Layout,
    Parameter,
    PdiFormError,
    PyScript,
    Variable,
    dump_pdi,
    dump_xml,
    dump_yaml,
    load_config,
    load_config_text,
    pdi_losses,
)
from damaris_ref.core.config.buffer import PAGE
from damaris_ref.core.config.evaluation import block_shape
from damaris_ref.core.config.upstream_schema import upstream_structure_problems
from damaris_ref.core.data import TYPE_NAMES, dtype_of

from profiles import examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
# layout/variable names may hold group separators and other punctuation
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,9}", fullmatch=True)
small = st.integers(min_value=0, max_value=64)
finite = st.floats(allow_nan=False, allow_infinity=False)
INTEGER_TYPES = [t for t in TYPE_NAMES if dtype_of(t).kind == "i"]


def parameter(name: str) -> st.SearchStrategy[Parameter]:
    """Any type, any value of its range (such parameters appear in no layout)."""

    def typed(type_name: str) -> st.SearchStrategy[Parameter]:
        dtype = dtype_of(type_name)
        if dtype.kind == "i":
            limits = np.iinfo(dtype)
            values = st.integers(int(limits.min), int(limits.max))
        else:
            values = finite
        return values.map(lambda v: Parameter(name, type_name, v))

    return st.sampled_from(TYPE_NAMES).flatmap(typed)


def dimension_parameter(name: str) -> st.SearchStrategy[Parameter]:
    """An integer parameter layouts use: positive, so that dimensions can be too."""
    return st.builds(Parameter, st.just(name), st.sampled_from(INTEGER_TYPES), st.integers(1, 64))


def expression(values: dict[str, int]) -> st.SearchStrategy[tuple[str, int]]:
    """``(text, value)`` of an expression over ``values`` whose value is > 0 (every operator).

    ``-`` is only taken when it stays positive and ``/`` is written larger-over-smaller, so
    division truncates but never reaches 0; ``*`` is taken while the value stays small.
    """
    atoms = st.integers(1, 64).map(lambda v: (str(v), v))
    if values:
        atoms |= st.sampled_from(sorted(values.items()))

    def combine(lhs: tuple[str, int], op: str, rhs: tuple[str, int]) -> tuple[str, int]:
        (a, x), (b, y) = lhs, rhs
        if op == "/" and x < y:
            (a, x), (b, y) = (b, y), (a, x)
        if (op == "-" and x <= y) or (op == "*" and x * y > 4096):
            op = "+"
        value = {"+": x + y, "-": x - y, "*": x * y, "/": x // max(y, 1)}[op]
        return f"({a}{op}{b})", value

    return st.recursive(
        atoms,
        lambda inner: st.builds(combine, inner, st.sampled_from("+-*/"), inner),
        max_leaves=4,
    )


@st.composite
def layout(draw, name: str, values: dict[str, int]) -> Layout:
    rank = draw(st.integers(1, 3))
    dims = st.lists(expression(values), min_size=rank, max_size=rank).map(
        lambda drawn: tuple(text for text, _value in drawn)
    )
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
        watchdog=draw(st.just(PyScript.watchdog) | st.floats(min_value=0, max_value=1e6)),
    )


@st.composite
def configs(draw) -> Config:
    """Any configuration the loaders accept: layouts valid for the initial values, a buffer
    that holds every block and gives each client of an emulated node a page."""
    parameter_names = draw(st.lists(identifiers, unique=True, max_size=6))
    dimension_names = parameter_names[: draw(st.integers(0, len(parameter_names)))]
    parameters = tuple(
        draw(dimension_parameter(n) if n in dimension_names else parameter(n))
        for n in parameter_names
    )
    values = {p.name: p.value for p in parameters if p.name in dimension_names}
    layout_names = draw(st.lists(names, unique=True, min_size=1, max_size=3))
    layouts = tuple(draw(layout(n, values)) for n in layout_names)
    script_names = draw(st.lists(names, unique=True, max_size=2))
    variable_names = draw(st.lists(names, unique=True, max_size=4))
    cores, nodes, ranks_per_node = draw(small), draw(small), draw(small)
    clients = ranks_per_node - cores if cores and not nodes and ranks_per_node > cores else 1
    needed = max(clients * PAGE, *(math.prod(block_shape(x, values, 2**47)) * 8 for x in layouts))
    return Config(
        simulation_name=draw(names),
        architecture=Architecture(
            domains=draw(st.integers(1, 8)),
            dedicated_cores=cores,
            dedicated_nodes=nodes,
            buffer_name=draw(names),
            buffer_size=draw(st.integers(needed, 2**47)),
            queue_name=draw(names),
            queue_size=draw(st.integers(1, 10_000)),
            ranks_per_node=ranks_per_node,
        ),
        parameters=parameters,
        layouts=layouts,
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


@settings(max_examples=examples(40), deadline=None)
@given(configs())
def test_yaml_round_trip(config):
    assert load_config_text(dump_yaml(config), "yaml", environ={}) == config


@settings(max_examples=examples(40), deadline=None)
@given(configs())
def test_xml_round_trip(config):
    assert load_config_text(dump_xml(config), "xml", environ={}) == config


def in_pdi_reach(config: Config) -> Config:
    """``config`` with what the PDI plugin's form fixes or cannot hold set as it would be: the
    buffer and queue names, the queue size, one pyscript with an integer thread count and
    whole seconds of timeout."""
    arch = dataclasses.replace(
        config.architecture,
        buffer_name=f"{config.simulation_name}_buffer",
        queue_name="queue",
        queue_size=300,
    )
    scripts = tuple(
        dataclasses.replace(
            p,
            nthreads=p.nthreads if isinstance(p.nthreads, int) else 1,
            timeout=float(max(1, round(p.timeout))),
        )
        for p in config.pyscripts[:1]
    )
    kept = {p.name for p in scripts}
    variables = tuple(
        v if v.script in kept or v.script is None else dataclasses.replace(v, script=None)
        for v in config.variables
    )
    return dataclasses.replace(config, architecture=arch, pyscripts=scripts, variables=variables)


@settings(max_examples=examples(40), deadline=None)
@given(configs().map(in_pdi_reach))
def test_every_form_written_loads_into_the_same_config(config):
    assert pdi_losses(config) == []
    for dump in (dump_yaml, dump_xml, dump_pdi):
        assert load_config_text(dump(config), "yaml" if dump is not dump_xml else "xml") == config


@settings(max_examples=examples(20), deadline=None)
@given(configs())
def test_the_pdi_form_names_what_it_fixes_and_keeps_the_rest(config):
    try:
        text = dump_pdi(config)
    except PdiFormError as error:
        assert len(config.pyscripts) > 1 or any(
            not isinstance(p.nthreads, int) or p.timeout != int(p.timeout) for p in config.pyscripts
        ), error
        return
    loaded = load_config_text(text, "yaml", environ={})
    losses = pdi_losses(config)
    assert (loaded.architecture.buffer_name != config.architecture.buffer_name) == any(
        "buffer name" in loss for loss in losses
    )
    assert dataclasses.replace(loaded, architecture=config.architecture) == config


def test_the_pdi_form_is_headed_by_the_plugin_version_it_is_written_for():
    text = dump_pdi(load_config(EXAMPLES / "3dmesh_py.yml", environ={}))
    assert text.startswith("# PDI specification tree for the pdidev/pdi Damaris plugin at 78806cfd")
    assert "keep_workers_: 'no'" in text and "- parameter:" in text and "- dataset:" in text


@settings(max_examples=examples(40), deadline=None)
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
    text = dump_xml(load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={}))
    assert upstream_structure_problems(text) == []
    problems = upstream_structure_problems(edit(text))
    assert any(problem in p for p in problems), problems


def test_written_files_reload_to_the_example(tmp_path):
    example = load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={})
    for name, dump in (("case.yml", dump_yaml), ("case.xml", dump_xml)):
        (tmp_path / name).write_text(dump(example))
        reloaded = load_config(tmp_path / name, environ={})
        assert dataclasses.replace(reloaded, source=example.source) == example
