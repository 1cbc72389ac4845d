"""Checks made when a config is loaded rather than mid-run: every layout evaluated against the
initial parameter values, parameter values within their type, and the buffer's size and split.

Unchecked at load, each of these configs would fail later: at the first write, with no file or
key, or as an OverflowError from the MPI allocation, or with "slice of 0 bytes" on every write.
"""

from __future__ import annotations

import pytest

from damaris_ref.core.config import ConfigError, load_config_text, load_schema
from damaris_ref.core.config.buffer import PAGE, client_share
from damaris_ref.core.config.expressions import MAX_DEPTH

FILE = "/cfg/case.yml"

# Line numbers matter: the tables below point into this text.
BASE = """\
damaris:
  architecture:
    dedicated: {core: 1}
    buffer: {name: buf, size: 65536}
  parameters:
    WIDTH: {type: int, value: 16}
    size: {type: short, value: 4}
  layouts:
    cells: {type: int, dimensions: "WIDTH/size,8", global: "WIDTH,8"}
  variables:
    field: {layout: cells}
"""
DIMENSIONS = ("damaris.layouts.cells.dimensions", 9)
GLOBAL = ("damaris.layouts.cells.global", 9)


def load(text: str, environ: dict[str, str] | None = None):
    return load_config_text(text, "yaml", FILE, environ=environ or {})


def mutated(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_the_base_loads():
    assert load(BASE).layout("cells").dimensions == ("WIDTH/size", "8")


DEEP = "(" * 5000 + "WIDTH" + ")" * 5000
LAYOUT_ERRORS = [
    ('"WIDTH/size,8"', '"1/0,8"', DIMENSIONS, ["'1/0' divides by zero"]),
    (
        '"WIDTH/size,8"',
        '"1/(WIDTH-16),8"',
        DIMENSIONS,
        ["'1/(WIDTH-16)' divides by zero (with WIDTH=16)"],
    ),
    ('"WIDTH/size,8"', '"0,8"', DIMENSIONS, ["dimension '0' is 0", "every dimension > 0"]),
    ('"WIDTH/size,8"', '"1-WIDTH,8"', DIMENSIONS, ["'1-WIDTH' is -15 (with WIDTH=16)"]),
    ('"WIDTH/size,8"', '"size/WIDTH,8"', DIMENSIONS, ["'size/WIDTH' is 0 (with WIDTH=16, size=4)"]),
    ('global: "WIDTH,8"', 'global: "WIDTH-16,8"', GLOBAL, ["'WIDTH-16' is 0 (with WIDTH=16)"]),
    (
        '"WIDTH/size,8"',
        f'"{DEEP},8"',
        DIMENSIONS,
        [f"nested deeper than {MAX_DEPTH} levels", "(((((", "(10005 characters)"],
    ),
    (
        '"WIDTH/size,8"',
        '"WIDTH*4611686018427387904,8"',
        DIMENSIONS,
        ["overflows a 64-bit integer: 16 * 4611686018427387904 = 73786976294838206464"],
    ),
    (
        '"WIDTH/size,8"',
        '"99999999999999999999,8"',
        DIMENSIONS,
        ["the literal '99999999999999999999' overflows a 64-bit integer"],
    ),
    (
        '"WIDTH/size,8"',
        '"WIDTH*1024,8"',
        DIMENSIONS,
        [
            "a block of 16384 x 8 'int' elements is 524288 bytes (with WIDTH=16)",
            "more than the whole buffer (architecture.buffer.size = 65536 bytes)",
        ],
    ),
    (
        "{type: int, value: 16}",
        "{type: int, value: 2147483648}",
        ("damaris.parameters.WIDTH.value", 6),
        ["value 2147483648 overflows type 'int' (int32)", "-2147483648..2147483647"],
    ),
    (
        "{type: short, value: 4}",
        "{type: short, value: -40000}",
        ("damaris.parameters.size.value", 7),
        ["value -40000 overflows type 'short' (int16)", "-32768..32767"],
    ),
    (
        "{type: short, value: 4}",
        "{type: double, value: " + "9" * 400 + "}",
        ("damaris.parameters.size.value", 7),
        ["overflows type 'double'", "a finite number"],
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "fragments"), LAYOUT_ERRORS)
def test_layouts_are_evaluated_at_load_against_the_initial_values(
    old, new, where, fragments, expect_error
):
    with pytest.raises(ConfigError) as caught:
        load(mutated(old, new))
    expect_error(caught.value, FILE, *where, *fragments)


def test_xml_layouts_are_evaluated_at_load_too(expect_error):
    text = (
        '<simulation name="s"><architecture><buffer name="b" size="65536"/></architecture>\n'
        '<data><parameter name="W" type="int" value="16"/>\n'
        '<layout name="cells" type="int" dimensions="1/(W-16)"/></data></simulation>\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "xml", "/cfg/case.xml", environ={})
    expect_error(
        caught.value,
        "/cfg/case.xml",
        "simulation/data/layout[cells]/@dimensions",
        3,
        "'1/(W-16)' divides by zero (with W=16)",
    )


BUFFER = ("damaris.architecture.buffer.size", 4)
BUFFER_ERRORS = [
    ("size: 99999999999999999999", ["invalid value 99999999999999999999", "140737488355328"]),
    ("size: 4000", ["invalid value 4000", "an integer from 4096 (one 4096-byte page"]),
    ("size: 0", ["invalid value 0", "split evenly among a node's clients"]),
]


@pytest.mark.parametrize(("new", "fragments"), BUFFER_ERRORS)
def test_absurd_buffer_sizes_are_refused_at_load(new, fragments, expect_error):
    with pytest.raises(ConfigError) as caught:
        load(mutated("size: 65536", new))
    expect_error(caught.value, FILE, *BUFFER, *fragments)


def test_a_buffer_leaving_an_emulated_nodes_clients_no_page_is_refused_at_load(expect_error):
    text = mutated("size: 65536}", "size: 4096}\n    ranks_per_node: 3").replace("8", "1")
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(
        caught.value,
        FILE,
        *BUFFER,
        "4096 bytes split evenly among the 2 clients of a node leave each 0 bytes once "
        "rounded down to whole 4096-byte pages; allowed: at least 8192 bytes (4096 per client)",
        "; a node's 3 ranks (architecture.ranks_per_node) less its 1 dedicated core(s) make "
        "2 clients",
    )
    assert load(text.replace("size: 4096", "size: 8192")).architecture.buffer_size == 8192


def test_the_split_is_checked_with_the_ranks_per_node_the_environment_sets(expect_error):
    text = mutated("size: 65536", "size: 8192")
    assert load(text).architecture.ranks_per_node == 0  # real hosts: checked when the run starts
    with pytest.raises(ConfigError) as caught:
        load(text, {"DAMARIS_RANKS_PER_NODE": "4"})
    expect_error(
        caught.value, FILE, *BUFFER, "among the 3 clients", "4 ranks (DAMARIS_RANKS_PER_NODE)"
    )


def test_the_schema_states_the_page_rule_the_split_uses():
    size = load_schema()["$defs"]["architecture"]["properties"]["buffer"]["properties"]["size"]
    assert size["minimum"] == PAGE == client_share(PAGE, 1)
    assert client_share(3 * PAGE - 1, 2) == PAGE  # each share rounded down to whole pages
    assert size["maximum"] == 2**47


PYSCRIPT = BASE + "  pyscript:\n    - {name: s, file: s.py, timeout: 2, watchdog: 60}\n"
NON_FINITE = [
    ("timeout: 2", "timeout: .nan", "timeout", "nan", "a finite number > 0"),
    ("timeout: 2", "timeout: .inf", "timeout", "inf", "a finite number > 0"),
    ("watchdog: 60", "watchdog: .nan", "watchdog", "nan", "a finite number >= 0 (0: never)"),
    ("watchdog: 60", "watchdog: .inf", "watchdog", "inf", "a finite number >= 0 (0: never)"),
]


@pytest.mark.parametrize(("old", "new", "key", "shown", "allowed"), NON_FINITE)
def test_a_pyscript_time_that_is_not_finite_is_refused(old, new, key, shown, allowed, expect_error):
    """``timeout: .nan`` once aborted every rank at start ("Invalid time unit: nan") and
    ``watchdog: .nan`` printed a stack at every script run."""
    with pytest.raises(ConfigError) as caught:
        load(PYSCRIPT.replace(old, new))
    path = f"damaris.pyscript[0].{key}"
    expect_error(caught.value, FILE, path, 13, f"invalid value {shown}; allowed: {allowed}")


@pytest.mark.parametrize("value", [".nan", "-.inf"])
def test_a_float_parameter_that_is_not_finite_is_refused(value, expect_error):
    text = BASE.replace("  layouts:", f"    ratio: {{type: double, value: {value}}}\n  layouts:")
    with pytest.raises(ConfigError) as caught:
        load(text)
    shown = "nan" if value == ".nan" else "-inf"
    expect_error(
        caught.value,
        FILE,
        "damaris.parameters.ratio.value",
        8,
        f"invalid value {shown}; allowed: a finite number",
    )


@pytest.mark.parametrize(
    ("attribute", "text", "shown"),
    [("timeout", "nan", "nan"), ("timeout", "INF", "inf"), ("watchdog", "1e999", "inf")],
)
def test_xml_refuses_non_finite_times_too(attribute, text, shown, expect_error):
    xml = (
        '<simulation name="s">\n<scripts>\n'
        f'<pyscript name="p" file="p.py" {attribute}="{text}"/>\n'
        "</scripts></simulation>\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(xml, "xml", "/cfg/case.xml", environ={})
    expect_error(
        caught.value,
        "/cfg/case.xml",
        f"simulation/scripts/pyscript[p]/@{attribute}",
        3,
        f"invalid value {shown}; allowed: a finite number",
    )
