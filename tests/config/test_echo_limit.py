"""A bad value is echoed cut to about 200 characters, wherever a message echoes one.

Without the cut, a 1 MB value gives a 1 MB message (and a 50 MB one, 50 MB).
"""

from __future__ import annotations

import pytest

from damaris_ref.core.config import ConfigError, load_config_text
from damaris_ref.core.config.errors import ECHO_LIMIT, allowed, echo

HUGE = "x" * 1_000_000
#: a message names a file, a key path and what is allowed besides the echoed values
MESSAGE_LIMIT = 4 * ECHO_LIMIT + 400

GOOD_LAYOUT = "cells: {type: int, dimensions: '4'}"
# (text, what the message is about); a key longer than 1024 characters must be written as an
# explicit "? key" in YAML
YAML_CASES = {
    "schema value": (f"damaris:\n  architecture: {{domains: {HUGE}}}\n", "invalid value 'xxx"),
    "unknown key": (f"damaris:\n  architecture:\n    ? {HUGE}\n    : 1\n", "unknown key 'xxx"),
    "invalid name": (
        f"damaris:\n  parameters:\n    ? 1{HUGE}\n    : {{type: int, value: 1}}\n",
        "invalid name '1xxx",
    ),
    "long key in a path": (
        f"damaris:\n  layouts:\n    ? {HUGE}\n    : {{type: cplx, dimensions: '4'}}\n",
        "characters).type: invalid value 'cplx'",
    ),
    "expression": (
        f"damaris:\n  layouts: {{cells: {{type: int, dimensions: '4+{HUGE}'}}}}\n",
        "unknown parameter 'xxx",
    ),
    "long literal": (
        f"damaris:\n  layouts: {{cells: {{type: int, dimensions: '{'9' * 10**6}'}}}}\n",
        "overflows a 64-bit integer",
    ),
    "ghosts": (
        f"damaris:\n  layouts: {{{GOOD_LAYOUT[:-1]}, ghosts: '{HUGE}'}}}}\n",
        "is not a ghost zone",
    ),
    "variable's layout": (
        f"damaris:\n  layouts: {{{GOOD_LAYOUT}}}\n  variables: {{v: {{layout: {HUGE}}}}}\n",
        "unknown layout 'xxx",
    ),
    "parameter value": (
        f"damaris:\n  parameters: {{N: {{type: int, value: {'9' * 10**5}}}}}\n",
        "not valid YAML: Exceeds the limit (4300 digits)",
    ),
    "document": (f"'{HUGE}'\n", "invalid document 'xxx"),
    "duplicate key": (f"pdi:\n  ? {HUGE}\n  : 1\n  ? {HUGE}\n  : 2\n", "duplicate key 'xxx"),
}
XML_CASES = {
    "unknown attribute": (f'<simulation {HUGE}="1"/>', "unknown attribute 'xxx"),
    "unknown element": (f"<simulation><{HUGE}/></simulation>", "unknown element <xxx"),
    "enabled flag": (
        f'<simulation><data><variable name="v" enabled="{HUGE}"/></data></simulation>',
        "invalid value 'xxx",
    ),
    "long name in a path": (
        f'<simulation><data><layout name="{HUGE}" type="cplx" dimensions="4"/></data></simulation>',
        "invalid value 'cplx'",
    ),
}


@pytest.mark.parametrize(("text", "about"), YAML_CASES.values(), ids=YAML_CASES)
def test_yaml_errors_echo_a_huge_value_cut_short(text, about):
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "yaml", "/cfg/huge.yml", environ={})
    message = str(caught.value)
    assert about in message and len(message) < MESSAGE_LIMIT, message[:2000]


@pytest.mark.parametrize(("text", "about"), XML_CASES.values(), ids=XML_CASES)
def test_xml_errors_echo_a_huge_value_cut_short(text, about):
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "xml", "/cfg/huge.xml", environ={})
    message = str(caught.value)
    assert about in message and len(message) < MESSAGE_LIMIT, message[:2000]


def test_the_environment_variable_is_echoed_cut_short():
    with pytest.raises(ConfigError) as caught:
        load_config_text("damaris: {}\n", "yaml", environ={"DAMARIS_RANKS_PER_NODE": HUGE})
    assert len(str(caught.value)) < MESSAGE_LIMIT


def test_an_echo_keeps_both_ends_and_says_how_long_the_value_was():
    text = echo("a" * 500 + "z" * 500)
    assert text.startswith("'aaa") and text.endswith("zzz' (1000 characters)")
    assert len(text) <= ECHO_LIMIT + len(" (1000 characters)")
    assert echo("short") == "'short'" and echo(99999999999999999999) == "99999999999999999999"


def test_a_long_list_of_allowed_names_is_cut_to_a_count():
    message = allowed(f"layout_{i}" for i in range(10_000))
    assert message.startswith("(allowed: layout_0, layout_1, ") and message.endswith(" more)")
    assert len(message) < 2 * ECHO_LIMIT
