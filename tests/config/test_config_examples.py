"""The shipped 3dmesh_py examples, and format dispatch in ``load_config``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from damaris_ref.config import ConfigError, load_config
from damaris_ref.config.upstream_schema import upstream_structure_problems

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def without_source(config):
    return dataclasses.replace(config, source=None)


def test_yaml_and_xml_examples_describe_the_same_simulation():
    from_yaml = load_config(EXAMPLES / "3dmesh_py.yml", environ={})
    from_xml = load_config(EXAMPLES / "3dmesh_py.xml", environ={})
    assert without_source(from_yaml) == without_source(from_xml)
    assert from_yaml.source == EXAMPLES / "3dmesh_py.yml"


def test_example_content_is_shaped_like_upstreams_3dmesh_py_example():
    """No ``blocks`` (3dmesh_py sets only ``size``), array_sum and last_iter undeclared."""
    config = load_config(EXAMPLES / "3dmesh_py.yml", environ={})
    assert config.simulation_name == "3dmesh_py"
    assert {p.name: p.value for p in config.parameters} == {
        "WIDTH": 16,
        "HEIGHT": 8,
        "DEPTH": 4,
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
    assert script.file == EXAMPLES / "3dmesh_py.py"  # relative to the config's folder
    assert (script.frequency, script.scheduler_file, script.nthreads, script.timeout) == (
        1,
        None,
        1,
        2.0,
    )


@pytest.mark.parametrize("example", ["3dmesh_py.xml", "3dmesh_dask.xml"])
def test_example_xml_passes_upstreams_structural_rules(example):
    text = (EXAMPLES / example).read_text()
    assert upstream_structure_problems(text) == []
    assert "<log " in text  # upstream's examples carry one; the reference ignores it


def test_dask_examples_describe_the_same_simulation():
    from_yaml = load_config(EXAMPLES / "3dmesh_dask.yml", environ={})
    from_xml = load_config(EXAMPLES / "3dmesh_dask.xml", environ={})
    assert without_source(from_yaml) == without_source(from_xml)
    assert "cube_f" not in {v.name for v in from_xml.variables}  # 3dmesh_py_domains has none


@pytest.mark.parametrize("example", ["3dmesh_py.yml", "3dmesh_py.xml"])
def test_other_suffixes_are_sniffed_from_the_first_character(tmp_path, example):
    copy = tmp_path / "settings.conf"
    copy.write_text((EXAMPLES / example).read_text())
    loaded = load_config(copy, environ={})
    assert loaded.pyscripts[0].file == tmp_path / "3dmesh_py.py"
    expected = load_config(EXAMPLES / "3dmesh_py.yml", environ={})
    assert without_source(loaded) == dataclasses.replace(
        without_source(expected), pyscripts=loaded.pyscripts
    )


def test_missing_file_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yml")
    assert caught.value.file == str(tmp_path / "absent.yml")
    assert "cannot read the config file" in str(caught.value)
