"""A large config loads with little Python work per byte: libyaml (or expat) parses, a compiled
validator checks, and no line is indexed until an error needs one.

Speed itself is measured by ``benchmarks/bench_config_load.py``; these tests bound the work,
counted as Python function calls, so that they do not depend on the machine's load. A
pure-Python scanner, a line index of every key and jsonschema's walk cost a YAML config about
15 calls per byte, and an XML one about 3.4.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
import yaml

from damaris_ref.core.config import (
    Architecture,
    Config,
    ConfigError,
    Layout,
    Parameter,
    Variable,
    dump_xml,
    dump_yaml,
    load_config_text,
    schema,
    xml_loader,
)

from memory import peak_memory

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


def nested(depth: int, name: str) -> str:
    """``depth`` elements ``<name>``, each inside the one before."""
    return f"<{name}>" * depth + f"</{name}>" * depth


def test_xml_nested_deeper_than_any_damaris_file_is_refused_at_once_and_in_little_memory():
    """Elements nested 5000 deep inside an ignored <actions> once kept every element's whole
    path, memory growing with the square of the depth (40,000 levels took 1.8 GB); the file
    is now refused at the first element past the limit, with its line."""
    depth = xml_loader.MAX_DEPTH
    text = '<simulation name="s">\n<actions>\n' + "<a>\n" * 5000 + "</a>" * 5000
    text += "</actions></simulation>\n"
    errors: list[ConfigError] = []

    def load() -> None:
        try:
            load_config_text(text, "xml", "deep.xml", environ={})
        except ConfigError as error:
            errors.append(error)

    peak = peak_memory(load)
    assert len(errors) == 1, "the deep file loaded"
    line = depth + 1  # <simulation> is level 1 on line 1, <actions> level 2 on line 2...
    assert str(errors[0]).startswith(f"deep.xml:{line}: simulation/actions/a/a/"), errors[0]
    assert f"nested {depth + 1} elements deep; allowed: at most {depth}" in str(errors[0])
    assert peak < 1_000_000, f"{peak} bytes to refuse a {len(text)}-byte file"


def test_xml_memory_is_linear_in_the_text_at_the_deepest_nesting_allowed():
    """Many chains of long-named elements as deep as allowed: memory stays a small multiple of
    the text, as it would not if each element kept its whole path (about 30x here)."""
    chain = nested(xml_loader.MAX_DEPTH - 2, "n" * 200)
    text = '<simulation name="s"><actions>' + chain * 40 + "</actions></simulation>"
    peak = peak_memory(lambda: load_config_text(text, "xml", environ={}))
    assert peak < 4 * len(text), f"{peak / len(text):.1f} bytes per byte of text"
