"""The shipped JSON Schema: valid draft 2020-12, package data, and it accepts the examples."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

import damaris_ref.core.config
from damaris_ref.core.config import SCHEMA_PATH, load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_schema_is_a_valid_draft_2020_12_schema_inside_the_package():
    assert Path(damaris_ref.core.config.__file__).with_name("schema.json") == SCHEMA_PATH
    assert SCHEMA_PATH.is_file()
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_whole_example_file_validates_for_ports():
    document = yaml.safe_load((EXAMPLES / "3dmesh_py_compact.yml").read_text())
    jsonschema.Draft202012Validator(load_schema()).validate(document)


def test_pdi_form_validates_and_other_top_level_keys_only_pass_in_it():
    validator = jsonschema.Draft202012Validator(load_schema())
    section = {"architecture": {"domains": 1}}
    assert validator.is_valid({"pdi": {"metadata": {}, "plugins": {"damaris": section}}, "x": 1})
    assert not validator.is_valid({"damaris": section, "x": 1})
    assert not validator.is_valid({"damaris": {"architecture": {"domains": 0}}})
