"""The run record: what the probe writes follows probe-record.schema.json, a malformed record
is refused with the field it breaks, and a record is parsed once into attributes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from damaris_ref.conformance import probe, record
from damaris_ref.conformance.cases import load_cases
from damaris_ref.conformance.checks import golden
from damaris_ref.conformance.expectations import expect
from damaris_ref.conformance.runs import Run
from damaris_ref.core.data import block_key, iteration_tag
from damaris_ref.core.errors import ConformanceError


def _damaris_data(server: int = 1, sources: tuple[int, ...] = (3,)) -> dict:
    blocks = {block_key(s, 0): np.full((2, 3), s, dtype=np.int32) for s in sources}
    return {
        "damaris_env": {"simulation_magic_number": "42", "cores_per_node": np.int64(5)},
        "dask_env": {"dask_scheduler_file": ""},
        "iteration_data": {
            "iteration": 0,
            "cube_i": {
                "numpy_data": blocks,
                "sort_list": [[iteration_tag(server, 0, "42"), k, (2, 0, 0)] for k in blocks],
                "type_string": "_int",
            },
        },
    }


def test_the_schema_is_valid_and_names_the_probes_format():
    schema = record.record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["probe_format"]["const"] == probe.PROBE_FORMAT


def test_a_probe_record_parses_into_attributes(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(probe.DIR_VARIABLE, str(tmp_path))
    probe.main(_damaris_data(), {"separate_locals": True, "runs_before": 2})
    (path,) = tmp_path.glob("*.json")
    run = record.read(path)
    assert (run.server, run.iteration, run.magic) == (1, 0, "42")
    assert run.damaris_env["cores_per_node"] == 5
    assert run.execution == record.Execution(separate_locals=True, runs_before=2)
    cube = run.variable("cube_i")
    assert cube.type_string == "_int"
    assert cube.offsets == {"P3_B0": [2, 0, 0]}
    assert (cube.blocks["P3_B0"].shape, cube.blocks["P3_B0"].sum) == ((2, 3), 18)
    assert run.block_sum("cube_i") == 18 and run.variable("cube_f").blocks == {}
    assert run.arrays == {}  # the probe keeps no blocks file


def test_the_writer_keeps_blocks_in_an_npz_beside_the_record(tmp_path: Path):
    data = _damaris_data(sources=(2, 3))
    probe.write_record(probe.observe(data, server=1), str(tmp_path), probe.block_arrays(data))
    (path,) = tmp_path.glob("*.json")
    assert json.loads(path.read_text())["blocks_file"] == path.with_suffix(".npz").name
    run = record.read(path)
    assert sorted(run.arrays["cube_i"]) == ["P2_B0", "P3_B0"]
    np.testing.assert_array_equal(run.arrays["cube_i"]["P2_B0"], np.full((2, 3), 2))
    assert sorted(tmp_path.iterdir()) == [path, path.with_suffix(".npz")]  # no temp files left


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["variables"]["cube_i"]["blocks"]["P3_B0"].update(sha256=5),
            "bad.json: variables/cube_i/blocks/P3_B0/sha256: 5 is not of type 'string'",
        ),
        (lambda r: r.update(tag_servers="1"), "tag_servers: '1' is not of type 'array'"),
        (lambda r: r.pop("missing"), "(top level): 'missing' is a required property"),
        (lambda r: r.update(servers=[1]), "'servers' was unexpected"),
        (lambda r: r.update(probe_format=2), "has format 2, this suite reads 3"),
    ],
)
def test_a_malformed_record_is_refused_naming_the_field(change, message):
    data = json.loads(json.dumps(probe.observe(_damaris_data())))
    change(data)
    with pytest.raises(ConformanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        record.parse(data, "bad.json")


def test_unusable_records_are_problems_of_the_run(tmp_path: Path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text(json.dumps({"probe_format": 3, "probe_error": "Boom"}))
    records, problems = record.load_records(tmp_path)
    assert records == []
    assert problems[0].startswith("probe record a.json is unreadable")
    assert problems[1] == "the probe failed inside the port: Boom"


def test_golden_known_clients_are_the_sources_a_server_receives():
    case = next(c for c in load_cases() if c.id == "seed-6ranks-2cores-r")
    records = [
        record.parse(probe.observe(_damaris_data(0, (0, 2)), helpers=False), "s0.json"),
        record.parse(probe.observe(_damaris_data(1, (1, 3)), helpers=False), "s1.json"),
    ]
    run = Run("cmd", Path("."), 0, "", "", 1.0, 1.0, records)
    messages = [m for m in golden(expect(case), run) if "known clients" in m]
    assert messages[0] == (
        "iteration 0: server 0 received the blocks of clients [0, 2], golden known clients "
        f"[0, 1] ({case.spec})"
    )


def test_the_documented_record_follows_the_schema():
    page = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text()
    section = page.split("## The run record", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    run = record.parse(json.loads(example), "conformance.md")
    assert run.variable("cube_i").offsets == {"P0_B0": [0, 0, 0]}
