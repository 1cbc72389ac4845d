"""The shipped 3dmesh_py examples, and format dispatch in ``load_config``."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from damaris_ref.conformance.cases import case_by_id
from damaris_ref.core.config import ConfigError, load_config
from damaris_ref.core.config.upstream_schema import upstream_structure_problems

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: the golden case the example is (5 ranks, 1 dedicated core)
SEED_CASE = "seed-5ranks-1core-r"


#: the PDI Damaris plugin example's own files (pdidev/pdi at 78806cfd), shipped unchanged
SEED_FILES = {
    "3dmesh_py.yml": "55fd638514c26bf7411bcefb4d0c8de0ff677d616f26a8d6cd249aaa7428518b",
    "3dmesh_dask.yml": "742cb49ac4ff3d9cb0936d5bdbd3735ed7f3a8760ab1a3c35fcc5f73ea304cdc",
    "3dmesh_py.py": "b82e4a97a780e5a7a2ca9c7bd8f39590e6b7c6870c43ac12a6a034809fdcbbbf",
    "3dmesh_dask.py": "d83a241a3c72ef6801c3136dadbbb079b9a1926bde892ea5cb522daeb609f285",
}


def without_source(config):
    return dataclasses.replace(config, source=None)


@pytest.mark.parametrize("name", SEED_FILES)
def test_the_seed_files_ship_byte_for_byte(name):
    assert hashlib.sha256((EXAMPLES / name).read_bytes()).hexdigest() == SEED_FILES[name]


def test_the_seed_py_file_loads_with_the_plugin_names_and_fixed_queue():
    config = load_config(EXAMPLES / "3dmesh_py.yml", environ={})
    arch = config.architecture
    assert config.simulation_name == "3dmesh_col_wf"
    assert (arch.buffer_name, arch.buffer_size) == ("3dmesh_col_wf_buffer", 536870912)
    assert (arch.queue_name, arch.queue_size, arch.dedicated_cores) == ("queue", 300, 1)
    assert config.layout("cells_whd_wf").dimensions == ("WIDTH/size", "HEIGHT", "DEPTH")
    assert [v.name for v in config.variables] == ["cube_i", "cube_f", "last_iter", "array_sum"]
    assert config.pyscript("MyPyAction").file == EXAMPLES / "3dmesh_py.py"
    assert config.pyscript("MyPyAction").scheduler_file == EXAMPLES / "dask_file.json"


def test_the_seed_dask_file_loads_with_its_domains_and_two_cores():
    config = load_config(EXAMPLES / "3dmesh_dask.yml", environ={})
    arch = config.architecture
    assert (config.simulation_name, arch.domains, arch.dedicated_cores) == ("3dmesh_wf", 8, 2)
    assert config.layout("cells_whd_wf").dimensions == ("WIDTH/size", "HEIGHT", "DEPTH/blocks")
    assert [v.name for v in config.variables] == ["cube_i", "last_iter", "array_sum"]


def test_yaml_and_xml_examples_describe_the_same_simulation():
    from_yaml = load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={})
    from_xml = load_config(EXAMPLES / "3dmesh_py.xml", environ={})
    assert without_source(from_yaml) == without_source(from_xml)
    assert from_yaml.source == EXAMPLES / "3dmesh_py_compact.yml"


def test_example_content_is_shaped_like_upstreams_3dmesh_py_example():
    """No ``blocks`` (3dmesh_py sets only ``size``), array_sum and last_iter undeclared."""
    config = load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={})
    assert config.simulation_name == "3dmesh_py"
    seed = case_by_id(SEED_CASE)
    assert {p.name: p.value for p in config.parameters} == {
        "WIDTH": seed.width,
        "HEIGHT": seed.height,
        "DEPTH": seed.depth,
        "size": 4,
        "whd_layout": 2,
    }
    assert config.layout("cells_whd_wf").dimensions == ("DEPTH/size", "HEIGHT", "WIDTH")
    assert config.layout("cells_whd_wf_float").type == "float"
    assert [(v.name, v.layout) for v in config.variables_of_script("MyPyAction")] == [
        ("cube_i", "cells_whd_wf"),
        ("cube_f", "cells_whd_wf_float"),
    ]
    arch = config.architecture
    assert (arch.domains, arch.dedicated_cores, arch.dedicated_nodes) == (1, 1, 0)
    script = config.pyscript("MyPyAction")
    assert script.file == EXAMPLES / "3dmesh_py_short.py"  # relative to the config's folder
    assert (script.frequency, script.scheduler_file, script.nthreads, script.timeout) == (
        1,
        None,
        1,
        2.0,
    )


def test_example_declares_the_seed_cases_config_for_what_it_declares():
    """The seed config has one source (the conformance cases); the example users run holds
    the same values for the parameters, cube layouts and variables it declares."""
    example = load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={})
    seed = case_by_id(SEED_CASE).config(EXAMPLES / "3dmesh_py_short.py", "MyPyAction")
    values = {p.name: p.value for p in seed.parameters}
    declared = {p.name: p.value for p in example.parameters}
    assert {name: declared[name] for name in ("WIDTH", "HEIGHT", "DEPTH")} == {
        name: values[name] for name in ("WIDTH", "HEIGHT", "DEPTH")
    }
    assert example.architecture.dedicated_cores == seed.architecture.dedicated_cores
    for variable in example.variables:
        theirs = seed.variable(variable.name)
        assert (variable.script, variable.time_varying) == (theirs.script, theirs.time_varying)
        mine, wanted = example.layout(variable.layout), seed.layout(theirs.layout)
        assert (mine.type, mine.global_dimensions) == (wanted.type, wanted.global_dimensions)
    assert example.pyscripts[0].file == seed.pyscripts[0].file


@pytest.mark.parametrize("example", ["3dmesh_py.xml", "3dmesh_dask.xml"])
def test_example_xml_passes_upstreams_structural_rules(example):
    text = (EXAMPLES / example).read_text()
    assert upstream_structure_problems(text) == []
    assert "<log " in text  # upstream's examples carry one; the reference ignores it


def test_dask_examples_describe_the_same_simulation():
    from_yaml = load_config(EXAMPLES / "3dmesh_dask_compact.yml", environ={})
    from_xml = load_config(EXAMPLES / "3dmesh_dask.xml", environ={})
    assert without_source(from_yaml) == without_source(from_xml)
    assert "cube_f" not in {v.name for v in from_xml.variables}  # 3dmesh_py_domains has none


@pytest.mark.parametrize("example", ["3dmesh_py_compact.yml", "3dmesh_py.xml"])
def test_other_suffixes_are_sniffed_from_the_first_character(tmp_path, example):
    copy = tmp_path / "settings.conf"
    copy.write_text((EXAMPLES / example).read_text())
    loaded = load_config(copy, environ={})
    assert loaded.pyscripts[0].file == tmp_path / "3dmesh_py_short.py"
    expected = load_config(EXAMPLES / "3dmesh_py_compact.yml", environ={})
    assert without_source(loaded) == dataclasses.replace(
        without_source(expected), pyscripts=loaded.pyscripts
    )


def test_missing_file_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yml")
    assert caught.value.file == str(tmp_path / "absent.yml")
    assert "cannot read the config file" in str(caught.value)
