"""A large config loads with little Python work per byte: libyaml (or expat) parses, a compiled
validator checks, and no line is indexed until an error needs one.

Speed itself is measured by ``benchmarks/bench_config_load.py``; these tests bound the work,
counted as Python function calls, so that they do not depend on the machine's load. Before,
a YAML config cost about 15 calls per byte (pure-Python scanner, a line index of every key,
jsonschema's walk) and an XML one about 3.4.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
import yaml

from damaris_ref.config import (
    Architecture,
    Config,
    Layout,
    Parameter,
    Variable,
    dump_xml,
    dump_yaml,
    load_config_text,
    schema,
)

ENTRIES = 500
CALLS_PER_BYTE = {"yaml": 4, "xml": 2}


def many_entries() -> Config:
    """``ENTRIES`` parameters, layouts (each over two parameters) and variables."""
    return Config(
        "large",
        Architecture(dedicated_cores=1),
        parameters=tuple(Parameter(f"N{i}", "int", 1 + i % 7) for i in range(ENTRIES)),
        layouts=tuple(
            Layout(
                f"l{i}",
                "float",
                (f"N{i}*2", f"(N{(i + 1) % ENTRIES}+3)/2"),
                ghosts=((0, 1), (1, 0)),
            )
            for i in range(ENTRIES)
        ),
        variables=tuple(Variable(f"g/v{i}", f"l{i}", mesh="m") for i in range(ENTRIES)),
    )


def python_calls(action: Callable[[], object]) -> int:
    """How many Python functions ``action`` calls (C functions not counted)."""
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize(("fmt", "dump"), [("yaml", dump_yaml), ("xml", dump_xml)])
def test_loading_a_large_config_costs_few_python_calls_per_byte(fmt, dump):
    if fmt == "yaml" and not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml: its pure-Python parser makes the calls")
    config = many_entries()
    text = dump(config)
    calls = python_calls(lambda: load_config_text(text, fmt, environ={}))
    assert calls < CALLS_PER_BYTE[fmt] * len(text), f"{calls / len(text):.1f} calls per byte"
    assert load_config_text(text, fmt, environ={}) == config


def test_a_valid_config_never_meets_the_python_validator(monkeypatch):
    """Only a section the compiled validator refuses is walked by jsonschema (to word it)."""

    def refuse(*args, **kwargs):
        raise AssertionError("jsonschema walked a valid section")

    monkeypatch.setattr(schema, "_section", refuse)
    load_config_text("damaris:\n  parameters: {N: {type: int, value: 4}}\n", "yaml", environ={})
