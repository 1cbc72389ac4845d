"""The PDI Damaris plugin's grammar: the same Config as its twin, located errors, runtime part."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from damaris_ref.core.config import ConfigError, load_config_text
from damaris_ref.core.config.pdi_grammar import (
    DEFAULT_SIMULATION_NAME,
    ParameterUpdate,
    WriteEntry,
    load_pdi_text,
)

FILE = "/cfg/sim.yml"

# Line numbers matter: the error tests below point into this text.
PLUGIN = """\
pdi:
  metadata: {size: int}
  plugins:
    damaris:
      communicator: MPI_COMM_WORLD
      architecture:
        sim_name: demo
        domains: 2
        buffer_size: 65536
        placement: {start: , stride: , mask: }
        dedicated:
          core: 1
          node: 0
      parameters:
        - parameter: {name: WIDTH, type: int, value: 16}
        - parameter: {name: size, type: int, value: '1'}
      datasets:
        - dataset: {name: field, type: scalar, layout: cells, script: action, unit: m}
        - dataset: {name: step, layout: cells, time_varying: no, visualizable: YES}
        - dataset: {name: off, layout: cells, enabled: false}
      layouts:
        - layout: {name: cells, type: double, dimensions: 'WIDTH/size,2', global: 'WIDTH,2',
                   ghosts: '0:0,1:1', visualizable: true, comment: c}
      pyscript:
        name: action
        file: action.py
        scheduler_file: sched.json
        language: python
        keep_workers_: yes
        timeout: 5
      log: {rotation_size: 5}
"""

COMPACT = """\
damaris:
  simulation_name: demo
  architecture:
    domains: 2
    dedicated: {core: 1, node: 0}
    buffer: {name: demo_buffer, size: 65536}
    queue: {name: queue, size: 300}
  parameters:
    WIDTH: {type: int, value: 16}
    size: {type: int, value: 1}
  layouts:
    cells: {type: double, dimensions: 'WIDTH/size,2', global: 'WIDTH,2', ghosts: '0:0,1:1'}
  variables:
    field: {layout: cells, script: action, mesh: null}
    step: {layout: cells, time_varying: no}
  pyscript:
    name: action
    file: action.py
    scheduler_file: sched.json
    keep_workers: yes
    timeout: 5
"""


def load(text: str) -> object:
    return load_config_text(text, "yaml", FILE, environ={})


def edited(old: str, new: str) -> str:
    assert old in PLUGIN, old
    return PLUGIN.replace(old, new, 1)


def test_plugin_form_loads_into_the_config_of_its_compact_twin():
    compact = load_config_text(COMPACT.replace("mesh: null", ""), "yaml", FILE, environ={})
    assert load(PLUGIN) == compact


def test_keep_workers_is_honoured_in_both_spellings():
    seed_spelling = edited("keep_workers_: yes", "keep_workers: yes")
    assert load(seed_spelling).pyscripts[0].keep_workers is True
    assert load(PLUGIN).pyscripts[0].keep_workers is True
    assert (
        load(edited("keep_workers_: yes", "keep_workers_: no")).pyscripts[0].keep_workers is False
    )


def test_no_architecture_gets_the_plugin_defaults():
    text = "pdi:\n  plugins:\n    damaris:\n      datasets: []\n"
    config = load(text)
    assert config.simulation_name == DEFAULT_SIMULATION_NAME
    arch = config.architecture
    assert (arch.buffer_name, arch.buffer_size) == ("damaris_pdi_simu_buffer", 64 * 1024 * 1024)
    assert (arch.domains, arch.dedicated_cores, arch.queue_size) == (1, 0, 300)


def test_a_dollar_in_a_value_is_data():
    config = load(edited("file: action.py", "file: 'cost$1$&.py'"))
    assert config.pyscripts[0].file.name == "cost$1$&.py"


def test_the_pdi_tree_itself_loads_as_pdi_init_is_given_it():
    tree = yaml.safe_load(PLUGIN)["pdi"]
    loaded = load_pdi_text(yaml.dump(tree), Path(FILE), environ={})
    assert loaded.config == load(PLUGIN)
    assert loaded.runtime.communicator == "MPI_COMM_WORLD"
    assert loaded.runtime.after_write == ("damaris_end_iteration",)


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "fragments"),
    [
        (  # an unknown dataset key: the plugin throws
            "unit: m}",
            "units: m}",
            "pdi.plugins.damaris.datasets[0].dataset.units",
            18,
            ("unknown dataset key 'units'", "did you mean 'unit'?"),
        ),
        (
            "comment: c}",
            "coment: c}",
            "pdi.plugins.damaris.layouts[0].layout.coment",
            23,
            ("unknown layout key 'coment'", "did you mean 'comment'?"),
        ),
        (
            "      pyscript:\n        name: action",
            "      pyscript:\n      - name: action",
            "pdi.plugins.damaris.pyscript",
            24,
            ("a list", "one mapping"),
        ),
        (
            "- parameter: {name: WIDTH, type: int, value: 16}",
            "- {parameter: {name: WIDTH, type: int, value: 16}, p: {name: X, type: int, value: 1}}",
            "pdi.plugins.damaris.parameters[0]",
            15,
            ("2 keys", "one wrapper key"),
        ),
        (
            "buffer_size: 65536",
            "buffer_size: 0",
            "pdi.plugins.damaris.architecture.buffer_size",
            9,
            ("invalid value 0", "4096"),
        ),
        (
            "core: 1",
            "core: -1",
            "pdi.plugins.damaris.architecture.dedicated.core",
            12,
            ("invalid value -1", ">= 0"),
        ),
        (
            "name: field, type: scalar, layout: cells,",
            "name: field, type: scalar, layout: cels,",
            "pdi.plugins.damaris.datasets[0].dataset.layout",
            18,
            ("unknown layout 'cels'", "did you mean 'cells'?"),
        ),
        (
            "{name: step, layout",
            "{name: field, layout",
            "pdi.plugins.damaris.datasets[1].dataset",
            19,
            ("duplicate name 'field'", "first declared at line 18"),
        ),
        (
            "time_varying: no",
            "time_varying: 1",
            "pdi.plugins.damaris.datasets[1].dataset.time_varying",
            19,
            ("invalid value 1", "true/false or yes/no"),
        ),
        (
            "value: '1'}",
            "value: '$size'}",
            "pdi.plugins.damaris.parameters[1].parameter.value",
            16,
            ("'$size' is a PDI expression", "depends_on"),
        ),
        (
            "      communicator: MPI_COMM_WORLD\n",
            "      communicator: MPI_COMM_WORLD\n      simulation_name: x\n",
            "pdi.plugins.damaris.simulation_name",
            6,
            ("mixes the compact form (simulation_name)", "PDI plugin's form (communicator"),
        ),
    ],
)
def test_bad_input_is_one_located_error(expect_error, old, new, path, line, fragments):
    with pytest.raises(ConfigError) as caught:
        load(edited(old, new))
    expect_error(caught.value, FILE, path, line, *fragments)


DEPENDS = """\
pdi:
  metadata: {dsize: {type: array, subtype: int, size: 2}, psize: [int, 2]}
  plugins:
    damaris:
      parameters:
        - parameter: {name: scale, type: double, value: '$dsize[0]*2', depends_on: dsize}
      layouts:
        - layout:
            name: main
            type: double
            dimensions: ['$dsize[0]', '$dsize[1]']
            global: '$psize[0]*($dsize[0]-2),$dsize[1]'
            depends_on: [dsize, psize]
      datasets:
        - dataset: {name: field, layout: main}
      write:
        field: {when: '$iter>0', position: ['$pcoord[0]', 0]}
        other: {dataset: field}
      parameter_get: {dsize: scale}
      parameter_set: [scale]
      get_is_client: is_client
      client_comm_get: comm
      after_write: [damaris_stop]
      init_on_event: go
"""


def test_depends_on_generates_parameters_and_records_each_update():
    loaded = load_pdi_text(DEPENDS, Path(FILE), environ={})
    config, runtime = loaded.config, loaded.runtime
    assert [(p.name, p.type, p.value) for p in config.parameters] == [
        ("scale", "double", 1.0),
        ("main_dim0", "int", 1),
        ("main_global0", "int", 1),
        ("main_dim1", "int", 1),
        ("main_global1", "int", 1),
    ]
    layout = config.layout("main")
    assert layout.dimensions == ("main_dim0", "main_dim1")
    assert layout.global_dimensions == ("main_global0", "main_global1")
    both = ("dsize", "psize")
    assert runtime.parameter_updates == (
        ParameterUpdate("scale", "$dsize[0]*2", ("dsize",)),
        ParameterUpdate("main_dim0", "$dsize[0]", both),
        ParameterUpdate("main_global0", "$psize[0]*($dsize[0]-2)", both),
        ParameterUpdate("main_dim1", "$dsize[1]", both),
        ParameterUpdate("main_global1", "$dsize[1]", both),
    )


def test_runtime_keys_are_returned_for_the_pdi_api():
    runtime = load_pdi_text(DEPENDS, Path(FILE), environ={}).runtime
    assert runtime.writes == (
        WriteEntry("field", "field", when="$iter>0", position=("$pcoord[0]", "0")),
        WriteEntry("other", "field"),
    )
    assert runtime.parameter_get == (("dsize", "scale"),)
    assert runtime.parameter_set == (("scale", "scale"),)
    assert (runtime.is_client_data, runtime.client_comm_data) == ("is_client", "comm")
    assert runtime.after_write == ("damaris_stop", "damaris_end_iteration")
    assert runtime.events == {"init": "go"}


def test_end_iteration_event_stops_the_default_after_write():
    text = DEPENDS.replace("      after_write: [damaris_stop]\n", "").replace(
        "init_on_event: go", "end_iteration_on_event: step"
    )
    runtime = load_pdi_text(text, Path(FILE), environ={}).runtime
    assert runtime.after_write == ()
    assert runtime.events == {"end_iteration": "step"}


def test_executables_refuse_expressions_naming_them(expect_error):
    with pytest.raises(ConfigError) as caught:
        load(DEPENDS)
    expect_error(
        caught.value,
        FILE,
        "pdi.plugins.damaris.parameters[0].parameter.value",
        6,
        "'$dsize[0]*2'",
        "damaris_ref.pdi",
    )


def test_a_layout_expression_is_named_at_its_layout(expect_error):
    text = DEPENDS.replace(
        "        - parameter: {name: scale", "        - parameter: {name: s2"
    ).replace("'$dsize[0]*2', depends_on: dsize", "2")
    text = text.replace("{dsize: scale}", "{dsize: s2}").replace("[scale]", "[s2]")
    with pytest.raises(ConfigError) as caught:
        load(text)
    expect_error(
        caught.value,
        FILE,
        "pdi.plugins.damaris.layouts[0].layout.dimensions",
        11,
        "'$dsize[0]'",
        "damaris_ref.pdi",
    )


def test_a_write_to_an_unknown_dataset_is_located(expect_error):
    with pytest.raises(ConfigError) as caught:
        load_pdi_text(DEPENDS.replace("{dataset: field}", "{dataset: feld}"), Path(FILE), {})
    expect_error(
        caught.value,
        FILE,
        "pdi.plugins.damaris.write.other.dataset",
        18,
        "unknown dataset to write 'feld'",
        "did you mean 'field'?",
    )


def test_ignored_outputs_get_one_warning_line(capsys, monkeypatch):
    monkeypatch.delenv("PMI_RANK", raising=False)
    monkeypatch.delenv("OMPI_COMM_WORLD_RANK", raising=False)
    text = edited("      log:", "      storages: []\n      meshes: []\n      log:")
    assert load(text) == load(PLUGIN)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"[damaris-ref] warning: {FILE}:31: 'storages', 'meshes' ignored")


def test_a_key_the_plugin_does_not_read_is_skipped_with_a_warning(capsys, monkeypatch):
    # the plugin's own example carries such a key (dc_ending_operations); the plugin skips it
    monkeypatch.delenv("PMI_RANK", raising=False)
    monkeypatch.delenv("OMPI_COMM_WORLD_RANK", raising=False)
    text = edited("log: {rotation_size: 5}", "logs: {rotation_size: 5}")
    assert load(text) == load(PLUGIN)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"[damaris-ref] warning: {FILE}:31: pdi.plugins.damaris.logs: unknown key 'logs'; "
        "did you mean 'log'?"
    )
    assert line.endswith("ignored, as the plugin ignores keys it does not read at this level")


def test_the_warning_comes_from_the_first_rank_only(capsys, monkeypatch):
    monkeypatch.setenv("PMI_RANK", "3")
    load(edited("      log:", "      paraview: {}\n      log:"))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("spelling", "value"), [("'TRUE'", True), ("'No'", False), ("'on'", None)])
def test_booleans_take_the_yaml_and_plugin_spellings_only(spelling, value):
    text = edited("time_varying: no", f"time_varying: {spelling}")
    if value is None:
        with pytest.raises(ConfigError, match=r"time_varying: invalid value 'on'"):
            load(text)
    else:
        assert load(text).variable("step").time_varying is value


def test_load_pdi_text_reads_the_environment_as_load_config_does(monkeypatch):
    monkeypatch.setenv("DAMARIS_RANKS_PER_NODE", "3")
    assert load_pdi_text(PLUGIN, Path(FILE)).config.architecture.ranks_per_node == 3
    assert load_pdi_text(PLUGIN, Path(FILE), environ={}).config.architecture.ranks_per_node == 0


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "fragment"),
    [
        (
            "'$dsize[0]*2', depends_on",
            "'$dsize[0]<=2', depends_on",
            "parameters[0].parameter.value",
            6,
            "'$dsize[0]<=2' uses '<='",
        ),
        (
            "['$dsize[0]', '$dsize[1]']",
            "['$dsize[0]', '$dsize.x']",
            "layouts[0].layout.dimensions[1]",
            11,
            "'$dsize.x' uses '.'",
        ),
        (
            "'$psize[0]*($dsize[0]-2),$dsize[1]'",
            "'$psize[0]*($dsize[0]-2),$dsize[1]+'",
            "layouts[0].layout.global",
            12,
            "'$dsize[1]+' ends where a value was due",
        ),
        ("'$iter>0'", "'$iter>=0'", "write.field.when", 17, "'$iter>=0' uses '>='"),
        ("['$pcoord[0]', 0]", "['$pcoord[0]', 'x']", "write.field.position[1]", 17, "bare name"),
        ("{dataset: field}", "{dataset: field, block: '${b}'}", "write.other.block", 18, "${...}"),
    ],
)
def test_an_expression_outside_the_subset_is_located_at_load(
    expect_error, old, new, path, line, fragment
):
    assert old in DEPENDS, old
    text = DEPENDS.replace(old, new, 1)
    for loader in (lambda: load_pdi_text(text, Path(FILE), environ={}), lambda: load(text)):
        with pytest.raises(ConfigError) as caught:
            loader()
        expect_error(
            caught.value, FILE, f"pdi.plugins.damaris.{path}", line, fragment, "supported:"
        )


def test_a_depends_on_value_is_required(expect_error):
    text = DEPENDS.replace("value: '$dsize[0]*2', ", "")
    with pytest.raises(ConfigError) as caught:
        load_pdi_text(text, Path(FILE), environ={})
    expect_error(
        caught.value,
        FILE,
        "pdi.plugins.damaris.parameters[0].parameter",
        6,
        "depends_on needs a value",
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "fragments"),
    [
        (
            "depends_on: [dsize, psize]",
            "depends_on: [dsize, pszie]",
            "layouts[0].layout.depends_on[1]",
            13,
            ("unknown metadata 'pszie'", "did you mean 'psize'?", "pdi.metadata"),
        ),
        (
            "depends_on: dsize}",
            "depends_on: size}",
            "parameters[0].parameter.depends_on",
            6,
            ("unknown metadata 'size'", "dsize, psize"),
        ),
    ],
)
def test_depends_on_must_name_declared_metadata(expect_error, old, new, path, line, fragments):
    assert old in DEPENDS, old
    text = DEPENDS.replace(old, new, 1)
    for loader in (lambda: load_pdi_text(text, Path(FILE), environ={}), lambda: load(text)):
        with pytest.raises(ConfigError) as caught:
            loader()
        expect_error(caught.value, FILE, f"pdi.plugins.damaris.{path}", line, *fragments)


def test_depends_on_is_not_checked_without_a_metadata_section():
    text = DEPENDS.replace(DEPENDS.splitlines(keepends=True)[1], "")
    text = text.replace("depends_on: [dsize, psize]", "depends_on: [dsize, other]")
    updates = load_pdi_text(text, Path(FILE), environ={}).runtime.parameter_updates
    assert updates[1].depends_on == ("dsize", "other")


def test_a_metadata_section_that_is_no_mapping_is_located(expect_error):
    text = DEPENDS.replace(DEPENDS.splitlines(keepends=True)[1], "  metadata: [dsize, psize]\n")
    with pytest.raises(ConfigError) as caught:
        load_pdi_text(text, Path(FILE), environ={})
    expect_error(caught.value, FILE, "pdi.metadata", 2, "allowed: a mapping from metadata name")
