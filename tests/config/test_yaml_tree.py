"""The YAML parse: aliases bounded before anything expands them, same data as ``safe_load``."""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.core.config import ConfigError, load_config_text, yaml_tree
from damaris_ref.core.config.yaml_tree import MAX_ALIAS_NODES

from profiles import examples

FILE = "/cfg/bomb.yml"


def alias_bomb(levels: int, fan_out: int = 9, section: str = "pdi") -> str:
    """``levels`` lines, each a list of ``fan_out`` aliases of the line before: fan_out**levels
    nodes once expanded, from a few hundred bytes (the issue's 9 x 9 file is 572 bytes)."""
    lines = [f"  a0: &a0 [{', '.join(['x'] * fan_out)}]"]
    lines += [
        f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan_out)}]" for i in range(1, levels + 1)
    ]
    if section == "pdi":
        return "pdi:\n" + "\n".join(lines) + "\n  plugins: {damaris: {}}\n"
    return "damaris:\n  simulation_name: x\nbomb:\n" + "\n".join(lines) + "\n"


def load(text: str):
    return load_config_text(text, "yaml", FILE, environ={})


@pytest.fixture
def no_schema_check(monkeypatch):
    """Fail if the loader gets as far as validating (and so walking) the data."""

    def refuse(section, where):
        raise AssertionError("the schema check ran: the alias bomb was not refused at parse")

    monkeypatch.setattr("damaris_ref.core.config.build.check_section", refuse)


@pytest.mark.timeout(20)  # before: 133 s and 5.7 GB, then MemoryError
def test_the_nine_by_nine_alias_bomb_is_refused_before_anything_expands_it(no_schema_check):
    with pytest.raises(ConfigError) as caught:
        load(alias_bomb(9))
    error = caught.value
    assert (error.file, error.line) == (FILE, 11), str(error)  # the last alias line
    assert "aliases would repeat" in error.message
    assert f"allowed: at most {MAX_ALIAS_NODES}" in error.message
    assert "anchored at line 10" in error.message


@pytest.mark.parametrize("section", ["pdi", "damaris"])
def test_a_small_alias_bomb_is_refused_wherever_it_sits(section, no_schema_check):
    """9**5 = 59,049 nodes: before, this loaded (after expanding it to index its lines)."""
    with pytest.raises(ConfigError, match="aliases would repeat"):
        load(alias_bomb(5, section=section))


def test_a_recursive_alias_is_refused():
    with pytest.raises(ConfigError) as caught:
        load("pdi:\n  loop: &loop [1, *loop]\n  plugins: {damaris: {}}\n")
    assert caught.value.line == 2
    assert "recursive alias: the node anchored at line 2 contains an alias of itself" in str(
        caught.value
    )


def test_moderate_aliases_and_merge_keys_still_load():
    layouts = "".join(f"    l{i}: {{<<: *cells, type: int}}\n" for i in range(200))
    text = (
        "damaris:\n"
        "  parameters: {N: {type: int, value: 4}}\n"
        "  layouts:\n"
        "    base: &cells {type: double, dimensions: 'N,2'}\n" + layouts
    )
    config = load(text)
    assert len(config.layouts) == 201
    assert config.layout("l7").dimensions == ("N", "2")
    assert config.layout("l7").type == "int"  # an explicit key overrides the merged one


def test_libyaml_parses_when_pyyaml_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml")
    assert issubclass(yaml_tree._Loader, yaml.CSafeLoader)


EDGE_CASES = """\
plain: text
quoted: "007"
octal: 010
hex: 0x1f
underscored: 1_000
sexagesimal: 1:30
signed: [+5, -0, -12]
floats: [1.5, .inf, -.inf, 1e3]
flags: [yes, no, on, off, true, null, ~]
date: 2001-12-14
stamp: 2001-12-14t21:59:43.10-05:00
binary: !!binary aGVsbG8=
set: !!set {a, b}
omap: !!omap [{a: 1}, {b: 2}]
explicit: !!str 12
base: &base {x: 1, y: [1, 2]}
merged: {<<: *base, y: 3}
shared: [*base, *base]
1: integer key
~: null key
"""


def test_the_fast_construction_equals_pyyamls_safe_load_on_every_kind_of_node():
    data, _root = yaml_tree.parse(EDGE_CASES, FILE)
    assert data == yaml.safe_load(EDGE_CASES)
    assert data["date"] == datetime.date(2001, 12, 14) and data["octal"] == 8
    assert data["shared"][0] is data["shared"][1]  # an alias is its anchor's object


documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text() | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=examples(100), deadline=None)
@given(documents, st.booleans())
def test_the_fast_construction_equals_safe_load_on_any_dumped_document(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    assert yaml_tree.parse(text, FILE)[0] == yaml.safe_load(text)


def test_duplicate_keys_are_refused_with_their_path_under_aliases_and_merges_too():
    text = "damaris:\n  layouts:\n    base: &b {type: int}\n    x: {<<: *b, a: 1, a: 2}\n"
    with pytest.raises(ConfigError) as caught:
        load(text)
    error = caught.value
    assert (error.path, error.line) == ("damaris.layouts.x.a", 4)
    assert "duplicate key 'a' (first at line 4)" in error.message
