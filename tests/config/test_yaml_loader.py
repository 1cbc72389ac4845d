"""The YAML form: both top-level layouts, mapping/list spellings, defaults and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from damaris_ref.core.config import (
    Architecture,
    ConfigError,
    Layout,
    Parameter,
    PyScript,
    Variable,
    load_config_text,
)

# Line numbers matter: the error table below points into this text.
BASE = """\
damaris:
  simulation_name: demo
  architecture:
    domains: 2
    dedicated: {core: 1, node: 0}
    buffer: {name: buf, size: 65536}
  parameters:
    WIDTH: {type: int, value: 16}
    size: {type: int, value: 1}
  layouts:
    cells:
      type: double
      dimensions: "WIDTH/size, 2"
      global: "WIDTH,2"
      ghosts: "0:0,1:1"
  variables:
    field: {layout: cells, script: action}
    step: {layout: cells, time_varying: no}
  pyscript:
    name: action
    file: action.py
    scheduler_file: sched.json
    nthreads: openmp
    keep_workers: yes
    timeout: 5
"""
FILE = "/cfg/demo.yml"


def load(text: str, source: str | None = FILE):
    return load_config_text(text, "yaml", source, environ={})


def mutated(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_loads_into_the_typed_model():
    config = load(BASE)
    assert config.simulation_name == "demo"
    assert config.architecture == Architecture(
        domains=2, dedicated_cores=1, buffer_name="buf", buffer_size=65536
    )
    assert config.parameters == (Parameter("WIDTH", "int", 16), Parameter("size", "int", 1))
    assert config.layouts == (
        Layout("cells", "double", ("WIDTH/size", "2"), ("WIDTH", "2"), ((0, 0), (1, 1))),
    )
    assert config.variables == (
        Variable("field", "cells", script="action"),
        Variable("step", "cells", time_varying=False),
    )
    assert config.pyscripts == (
        PyScript(
            "action",
            Path("/cfg/action.py"),
            scheduler_file=Path("/cfg/sched.json"),
            nthreads="openmp",
            keep_workers=True,
            timeout=5.0,
        ),
    )
    assert config.source == Path(FILE)


def test_pdi_plugin_form_is_the_same_config_and_other_pdi_keys_are_ignored():
    section = "\n".join("      " + line for line in BASE.splitlines()[1:])
    pdi = f"pdi:\n  metadata: {{step: int}}\n  plugins:\n    trace: ~\n    damaris:\n{section}\n"
    other = "app_settings: {steps: 3}\n"
    assert load(other + pdi) == load(BASE)


def test_list_spellings_equal_mapping_spellings():
    lists = """\
damaris:
  simulation_name: demo
  architecture: {domains: 2, dedicated: {core: 1}, buffer: {name: buf, size: 65536}}
  parameters:
    - {name: WIDTH, type: int, value: 16}
    - {name: size, type: int, value: 1}
  layouts:
    - {name: cells, type: double, dimensions: [WIDTH/size, 2], global: [WIDTH, 2],
       ghosts: ["0:0", "1:1"]}
  variables:
    - {name: field, layout: cells, script: action}
    - {name: step, layout: cells, time_varying: false}
  pyscript:
    - {name: action, file: action.py, scheduler_file: sched.json, nthreads: openmp,
       keep_workers: "yes", timeout: 5.0}
"""
    assert load(lists) == load(BASE)


def test_minimal_config_takes_model_defaults_and_the_file_stem_as_name():
    config = load("damaris: {}\n", "/x/run_42.yaml")
    assert config.simulation_name == "run_42"
    assert config.architecture == Architecture()
    assert (config.parameters, config.layouts, config.variables, config.pyscripts) == ((),) * 4
    script = load("damaris:\n  pyscript: {name: s, file: s.py, scheduler_file: ''}\n").pyscripts[0]
    assert script == PyScript("s", Path("/cfg/s.py"))  # "" = no Dask, defaults from the model


def test_relative_paths_join_the_config_folder_and_absolute_ones_stay():
    text = mutated("file: action.py", "file: /opt/a.py").replace("sched.json", "../d/s.json")
    script = load(text, "rel/dir/demo.yml").pyscripts[0]
    assert script.file == Path("/opt/a.py")
    assert script.scheduler_file == Path.cwd() / "rel/dir/../d/s.json"


def test_text_without_a_file_keeps_relative_paths_and_gets_a_default_name():
    config = load(BASE.replace("  simulation_name: demo\n", ""), None)
    assert config.pyscripts[0].file == Path("action.py")
    assert config.simulation_name == "simulation"
    assert config.source is None


def test_float_parameter_values_become_floats():
    config = load(mutated("WIDTH: {type: int, value: 16}", "WIDTH: {type: real, value: 16}"))
    value = config.parameters[0].value
    assert value == 16.0 and isinstance(value, float)


# (old, new, key path, line, fragments that must appear: bad value, allowed values, hint)
ERRORS = [
    (
        "dedicated: {core: 1, node: 0}",
        "dedicated: {cores: 1, node: 0}",
        "damaris.architecture.dedicated.cores",
        5,
        ["unknown key 'cores'", "did you mean 'core'?", "(allowed: core, node)"],
    ),
    (
        "  architecture:",
        "  architectur:",
        "damaris.architectur",
        3,
        ["'architectur'", "did you mean 'architecture'?", "simulation_name, architecture,"],
    ),
    (
        "domains: 2",
        "domains: 0",
        "damaris.architecture.domains",
        4,
        ["invalid value 0", "allowed: an integer >= 1"],
    ),
    (
        "size: 65536",
        "size: lots",
        "damaris.architecture.buffer.size",
        6,
        ["invalid value 'lots'", "allowed: an integer from 4096 (one 4096-byte page"],
    ),
    (
        "{type: int, value: 16}",
        "{type: integr, value: 16}",
        "damaris.parameters.WIDTH.type",
        8,
        ["invalid value 'integr'", "one of int, integer, float, real, double, long"],
    ),
    (
        "{type: int, value: 16}",
        "{type: int, value: 16.5}",
        "damaris.parameters.WIDTH.value",
        8,
        ["invalid value 16.5", "'int'", "allowed: an integer"],
    ),
    (
        "{type: int, value: 16}",
        "{type: int}",
        "damaris.parameters.WIDTH",
        8,
        ["missing required key 'value'", "(required: type, value)"],
    ),
    (
        "    size: {type",
        "    WIDTH: {type",
        "damaris.parameters.WIDTH",
        9,
        ["duplicate key 'WIDTH'", "first at line 8"],
    ),
    (
        "    size: {type",
        "    2size: {type",
        "damaris.parameters.2size",
        9,
        ["invalid name '2size'", "letters, digits and '_'"],
    ),
    (
        "type: double",
        "type: complex",
        "damaris.layouts.cells.type",
        12,
        ["invalid value 'complex'", "double"],
    ),
    (
        '"WIDTH/size, 2"',
        '"WIDHT/size, 2"',
        "damaris.layouts.cells.dimensions",
        13,
        ["'WIDHT/size'", "unknown parameter 'WIDHT'", "did you mean 'WIDTH'?", "WIDTH, size"],
    ),
    (
        '"WIDTH/size, 2"',
        '"WIDTH/(size, 2"',
        "damaris.layouts.cells.dimensions",
        13,
        ["'WIDTH/(size'", "missing ')'", "+ - * /"],
    ),
    (
        '"WIDTH/size, 2"',
        "7",
        "damaris.layouts.cells.dimensions",
        13,
        ["invalid value 7", "comma-separated string", "list of expressions/integers"],
    ),
    (
        '"WIDTH/size, 2"',
        "[WIDTH, -2]",
        "damaris.layouts.cells.dimensions[1]",
        13,
        ["invalid value -2", "a non-empty string or an integer >= 0"],
    ),
    (
        'global: "WIDTH,2"',
        'global: "WIDTH"',
        "damaris.layouts.cells.global",
        14,
        ["invalid value 'WIDTH'", "1 entries for the 2 dimension(s)", "one entry per dimension"],
    ),
    (
        'ghosts: "0:0,1:1"',
        'ghosts: "0:0,1-1"',
        "damaris.layouts.cells.ghosts",
        15,
        ["'0:0,1-1'", "'1-1' is not a ghost zone", "'lo:hi'"],
    ),
    (
        'ghosts: "0:0,1:1"',
        'ghosts: "0:0"',
        "damaris.layouts.cells.ghosts",
        15,
        ["invalid value '0:0'", "1 entries for the 2 dimension(s)"],
    ),
    (
        "field: {layout: cells,",
        "field: {layout: cels,",
        "damaris.variables.field.layout",
        17,
        ["unknown layout 'cels'", "did you mean 'cells'?", "(allowed: cells)"],
    ),
    (
        "script: action}",
        "script: acton}",
        "damaris.variables.field.script",
        17,
        ["unknown pyscript 'acton'", "did you mean 'action'?", "(allowed: action)"],
    ),
    (
        "time_varying: no}",
        "time_varying: sometimes}",
        "damaris.variables.step.time_varying",
        18,
        ["invalid value 'sometimes'", "allowed: true/false or yes/no"],
    ),
    (
        "time_varying: no}",
        "timevarying: no}",
        "damaris.variables.step.timevarying",
        18,
        ["unknown key 'timevarying'", "did you mean 'time_varying'?", "layout, script"],
    ),
    (
        "    name: action\n",
        "",
        "damaris.pyscript",
        19,
        ["missing required key 'name'", "(required: name, file)"],
    ),
    (
        "nthreads: openmp",
        "nthreads: 0",
        "damaris.pyscript.nthreads",
        23,
        ["invalid value 0", "allowed: an integer >= 1 or 'openmp'"],
    ),
    (
        "keep_workers: yes",
        "keep_workers: sometimes",
        "damaris.pyscript.keep_workers",
        24,
        ["invalid value 'sometimes'", "true/false or yes/no"],
    ),
    (
        "timeout: 5",
        "timeout: 0",
        "damaris.pyscript.timeout",
        25,
        ["invalid value 0", "allowed: a number > 0"],
    ),
    (
        "    timeout: 5\n",
        "    timeout: 5\n    frequency: 0\n",
        "damaris.pyscript.frequency",
        26,
        ["invalid value 0", "allowed: an integer >= 1"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "fragments"), ERRORS, ids=[e[2].split(".", 1)[1] for e in ERRORS]
)
def test_errors_name_file_path_line_value_and_what_is_allowed(
    old, new, path, line, fragments, expect_error
):
    with pytest.raises(ConfigError) as caught:
        load(mutated(old, new))
    expect_error(caught.value, FILE, path, line, *fragments)


def test_duplicate_names_in_list_form_point_at_the_second_one(expect_error):
    text = (
        "damaris:\n  layouts:\n"
        "    - {name: a, type: int, dimensions: '1'}\n"
        "    - {name: a, type: int, dimensions: '2'}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(caught.value, FILE, "damaris.layouts[1]", 4, "duplicate name 'a'", "line 3")


def test_mapping_entry_name_must_match_its_key(expect_error):
    text = "damaris:\n  layouts:\n    a: {name: b, type: int, dimensions: '1'}\n"
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(caught.value, FILE, "damaris.layouts.a.name", 3, "'b'", "differs from its key 'a'")


@pytest.mark.parametrize(
    ("text", "path", "line", "fragments"),
    [
        ("damaris: {}\ndamaris_extra: 1\n", "damaris_extra", 2, ["unknown top-level key"]),
        ("damaris: {}\npdi: {}\n", "pdi", 2, ["both 'damaris' and 'pdi'"]),
        ("damars: {}\n", "damars", 1, ["did you mean 'damaris'?", "(allowed: damaris, pdi)"]),
        ("pdi:\n  plugins: {trace: 1}\n", "pdi.plugins", 2, ["no pdi.plugins.damaris section"]),
        ("- damaris\n", "", 1, ["invalid document ['damaris']", "'damaris' or 'pdi' key"]),
    ],
)
def test_top_level_errors(text, path, line, fragments, expect_error):
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(caught.value, FILE, path, line, *fragments)


def test_yaml_syntax_errors_carry_the_line():
    with pytest.raises(ConfigError) as caught:
        load(mutated("    timeout: 5\n", "    timeout: [5\n"))
    assert caught.value.line == 26  # the stream's end, right after the '[' left open on 25
    assert str(caught.value).startswith(f"{FILE}:{caught.value.line}: not valid YAML")


def test_unreadable_characters_are_config_errors_too():
    with pytest.raises(ConfigError) as caught:
        load(BASE + "# bell \x07\n")
    assert str(caught.value) == (
        f"{FILE}:26: not valid YAML: unacceptable character #x0007: "
        "special characters are not allowed"
    )


def test_in_memory_text_is_named_in_messages():
    with pytest.raises(ConfigError) as caught:
        load(mutated("domains: 2", "domains: -1"), None)
    assert str(caught.value).startswith("<yaml text>:4: damaris.architecture.domains: ")


def test_config_error_is_a_value_error_with_its_parts():
    error = ConfigError("bad", file="f.yml", path="damaris.x", line=3)
    assert isinstance(error, ValueError)
    assert str(error) == "f.yml:3: damaris.x: bad"
    assert (error.file, error.path, error.line, error.message) == ("f.yml", "damaris.x", 3, "bad")
