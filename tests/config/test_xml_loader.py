"""Upstream Damaris XML (spec §8): translation, upstream leftovers, groups, defaults, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from damaris_ref.core.config import (
    Architecture,
    Config,
    ConfigError,
    Layout,
    Parameter,
    PyScript,
    Variable,
    load_config_text,
)

# Line numbers matter: the error table below points into this text.
BASE = """\
<?xml version="1.0"?>
<simulation name="demo" language="c" xmlns="http://damaris.gforge.inria.fr/damaris/model">
  <architecture>
    <domains count="2"/>
    <dedicated cores="1" nodes="0"/>
    <placement/>
    <buffer name="buf" size="65536" type="posix"/>
    <queue name="q" size="100"/>
  </architecture>
  <data>
    <parameter name="WIDTH" type="int" value="16"/>
    <parameter name="size" type="int" value="1" comment="number of clients"/>
    <layout name="cells" type="double" dimensions="WIDTH/size, 2" global="WIDTH,2"
            ghosts="0:0,1:1"/>
    <variable name="field" type="scalar" layout="cells" script="action" unit="K"/>
    <variable name="step" layout="cells" time-varying="false" mesh="#"/>
    <mesh name="m" type="rectilinear"><coord name="x"/><coord name="y"/></mesh>
  </data>
  <storage><store name="s" type="HDF5"><option key="FileMode">Collective</option></store></storage>
  <actions><event name="e" action="f"/></actions>
  <scripts>
    <pyscript name="action" file="action.py" language="python" frequency="3"
              scheduler-file="sched.json" nthreads="openmp" keep-workers="yes" timeout="5"/>
  </scripts>
  <log FileName="log/x" RotationSize="5" LogFormat="%Message%" LogLevel="info" Flush="true"/>
</simulation>
"""
FILE = "/cfg/demo.xml"
NAMESPACE = ' xmlns="http://damaris.gforge.inria.fr/damaris/model"'


def load(text: str, source: str | None = FILE) -> Config:
    return load_config_text(text, "xml", source, environ={})


def mutated(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_translates_attributes_to_the_model():
    assert load(BASE) == Config(
        simulation_name="demo",
        architecture=Architecture(
            domains=2,
            dedicated_cores=1,
            buffer_name="buf",
            buffer_size=65536,
            queue_name="q",
            queue_size=100,
        ),
        parameters=(Parameter("WIDTH", "int", 16), Parameter("size", "int", 1)),
        layouts=(Layout("cells", "double", ("WIDTH/size", "2"), ("WIDTH", "2"), ((0, 0), (1, 1))),),
        variables=(
            Variable("field", "cells", script="action"),
            Variable("step", "cells", time_varying=False),
        ),
        pyscripts=(
            PyScript(
                "action",
                Path("/cfg/action.py"),
                frequency=3,
                scheduler_file=Path("/cfg/sched.json"),
                nthreads="openmp",
                keep_workers=True,
                timeout=5.0,
            ),
        ),
        source=Path(FILE),
    )


def test_files_without_the_namespace_mean_the_same():
    assert load(mutated(NAMESPACE, "")) == load(BASE)


def test_upstream_elements_and_attributes_are_ignored_and_noted_once(caplog):
    text = mutated("</data>", '<mesh name="m2" type="point"/></data>')
    with caplog.at_level(logging.DEBUG, logger="damaris_ref.core.config"):
        load(text)
    notes = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    for what in (
        "element <placement>",
        "element <mesh>",
        "element <storage>",
        "element <actions>",
        "element <log>",
        "attribute 'language' of <simulation>",
        "attribute 'type' of <buffer>",
        "attribute 'comment' of <parameter>",
        "attribute 'unit' of <variable>",
        "attribute 'language' of <pyscript>",
    ):
        assert sum(what in note for note in notes) == 1, (what, notes)
    assert all(note.startswith(f"{FILE}:") for note in notes)


def test_groups_name_their_variables_and_layouts_and_resolve_layouts_innermost_first():
    groups = """
    <group name="g">
      <layout name="cells" type="int" dimensions="3"/>
      <variable name="v" layout="cells"/>
      <group name="h" store="s">
        <variable name="w" layout="cells"/>
        <variable name="x" layout="WIDTH_layout"/>
      </group>
      <variable name="off" layout="cells" enabled="false"/>
    </group>
    <group name="disabled" enabled="no"><variable name="z" layout="cells"/></group>
    <layout name="WIDTH_layout" type="int" dimensions="WIDTH"/>
  </data>"""
    config = load(mutated("\n  </data>", groups))
    assert [layout.name for layout in config.layouts] == ["cells", "g/cells", "WIDTH_layout"]
    assert [(v.name, v.layout) for v in config.variables[2:]] == [
        ("g/v", "g/cells"),
        ("g/h/w", "g/cells"),
        ("g/h/x", "WIDTH_layout"),
    ]


def test_disabled_variables_are_left_out():
    config = load(mutated('time-varying="false"', 'time-varying="false" enabled="false"'))
    assert [v.name for v in config.variables] == ["field"]


def test_upstream_defaults_apply_to_unset_attributes():
    text = f"""<simulation{NAMESPACE}>
  <architecture><domains/><dedicated/></architecture>
  <data>
    <layout name="l" type="int" dimensions="4" global="#" ghosts="#"/>
    <variable name="v" layout="l" script="p"/>
  </data>
  <scripts><pyscript name="p" file="p.py" nthreads="" scheduler-file=""/></scripts>
</simulation>"""
    config = load(text, "/runs/case7.xml")
    assert config.simulation_name == "case7"
    assert config.architecture == Architecture()
    assert config.layouts == (Layout("l", "int", ("4",)),)
    assert config.variables == (Variable("v", "l", script="p"),)
    assert config.pyscripts == (PyScript("p", Path("/runs/p.py")),)


def test_ranks_per_node_is_an_architecture_attribute():
    config = load(mutated("<architecture>", '<architecture ranks-per-node="4">'))
    assert config.architecture.ranks_per_node == 4


def test_schema_location_attributes_are_accepted():
    xsi = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="a b.xsd"'
    assert load(mutated(NAMESPACE, NAMESPACE + xsi)) == load(BASE)


PYSCRIPT = "simulation/scripts/pyscript[action]"
# (old, new, element path, line, fragments: bad value, allowed values, hint)
ERRORS = [
    (
        '<dedicated cores="1"',
        '<dedicated core="1"',
        "simulation/architecture/dedicated",
        5,
        ["unknown attribute 'core'", "did you mean 'cores'?", "(allowed: cores, nodes)"],
    ),
    (
        "<placement/>",
        "<placment/>",
        "simulation/architecture/placment",
        6,
        ["unknown element <placment>", "did you mean 'placement'?", "domains, dedicated, buffer"],
    ),
    (
        "  <storage>",
        "  <storag/><storage>",
        "simulation/storag",
        19,
        ["unknown element <storag>", "did you mean 'storage'?", "architecture, data, scripts"],
    ),
    (
        '<queue name="q" size="100"/>',
        '<queue name="q" size="100"/><buffer name="b" size="1"/>',
        "simulation/architecture/buffer[b]",
        8,
        ["<buffer> appears twice", "first at line 7"],
    ),
    (
        '<domains count="2"/>',
        '<domains count="two"/>',
        "simulation/architecture/domains/@count",
        4,
        ["invalid value 'two'", "allowed: an integer >= 1"],
    ),
    (
        '<parameter name="WIDTH" type="int" value="16"/>',
        '<parameter name="WIDTH" type="int"/>',
        "simulation/data/parameter[WIDTH]",
        11,
        ["missing required attribute 'value'", "(required: type, value)"],
    ),
    (
        'value="16"',
        'value="16.5"',
        "simulation/data/parameter[WIDTH]/@value",
        11,
        ["invalid value 16.5", "allowed: an integer"],
    ),
    (
        'name="size" type="int"',
        'name="WIDTH" type="int"',
        "simulation/data/parameter[WIDTH]",
        12,
        ["duplicate name 'WIDTH'", "first declared at line 11"],
    ),
    (
        'dimensions="WIDTH/size, 2"',
        'dimensions="WIDTH/sise, 2"',
        "simulation/data/layout[cells]/@dimensions",
        13,
        ["unknown parameter 'sise'", "did you mean 'size'?", "(allowed: WIDTH, size)"],
    ),
    (
        'ghosts="0:0,1:1"',
        'ghosts="0:0"',
        "simulation/data/layout[cells]/@ghosts",
        13,
        ["invalid value '0:0'", "1 entries for the 2 dimension(s)"],
    ),
    (
        'layout="cells" script="action"',
        'layout="cels" script="action"',
        "simulation/data/variable[field]/@layout",
        15,
        ["unknown layout 'cels'", "did you mean 'cells'?", "(allowed: cells)"],
    ),
    (
        'time-varying="false"',
        'time-varying="never"',
        "simulation/data/variable[step]/@time-varying",
        16,
        ["invalid value 'never'", "true/false or yes/no"],
    ),
    (
        'time-varying="false"',
        'timevarying="false"',
        "simulation/data/variable[step]",
        16,
        ["unknown attribute 'timevarying'", "did you mean 'time-varying'?"],
    ),
    (
        'time-varying="false"',
        'enabled="perhaps"',
        "simulation/data/variable[step]/@enabled",
        16,
        ["invalid value 'perhaps'", "true/false or yes/no"],
    ),
    (
        'frequency="3"',
        'frequency="0"',
        f"{PYSCRIPT}/@frequency",
        22,
        ["invalid value 0", "allowed: an integer >= 1"],
    ),
    (
        'nthreads="openmp"',
        'nthreads="many"',
        f"{PYSCRIPT}/@nthreads",
        22,
        ["invalid value 'many'", "an integer >= 1 or 'openmp'"],
    ),
    (
        'keep-workers="yes"',
        'keep-workers="maybe"',
        f"{PYSCRIPT}/@keep-workers",
        22,
        ["invalid value 'maybe'", "true/false or yes/no"],
    ),
    (
        'keep-workers="yes"',
        'keep_workers="yes"',
        PYSCRIPT,
        22,
        ["unknown attribute 'keep_workers'", "did you mean 'keep-workers'?"],
    ),
    (
        ' file="action.py"',
        "",
        PYSCRIPT,
        22,
        ["missing required attribute 'file'", "(required: name, file)"],
    ),
    (
        NAMESPACE,
        ' xmlns="http://example.org/other"',
        "simulation",
        2,
        ["namespace 'http://example.org/other'", "http://damaris.gforge.inria.fr/damaris/model"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "fragments"),
    ERRORS,
    ids=[f"{e[2].rsplit('/', 1)[-1]}-{i}" for i, e in enumerate(ERRORS)],
)
def test_errors_name_file_element_path_line_value_and_what_is_allowed(
    old, new, path, line, fragments, expect_error
):
    with pytest.raises(ConfigError) as caught:
        load(mutated(old, new))
    expect_error(caught.value, FILE, path, line, *fragments)


def test_grouped_elements_are_named_by_their_group_path_in_errors(expect_error):
    group = '<group name="g"><variable name="v" layout="nope"/></group>\n  </data>'
    with pytest.raises(ConfigError) as caught:
        load(mutated("\n  </data>", "\n    " + group))
    path = "simulation/data/group[g]/variable[v]/@layout"
    expect_error(caught.value, FILE, path, 18, "unknown layout 'nope'", "(allowed: cells)")


@pytest.mark.parametrize(
    ("text", "path", "line", "fragment"),
    [
        (BASE.replace("</data>", "</dat>"), "", 18, "not well-formed XML: mismatched tag"),
        ("<damaris/>", "damaris", 1, "unknown root element '<damaris>'"),
        ("", "", 1, "not well-formed XML: no element found"),
    ],
)
def test_document_level_errors(text, path, line, fragment, expect_error):
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(caught.value, FILE, path, line, fragment)
