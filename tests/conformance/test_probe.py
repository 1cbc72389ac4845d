"""The probe runs in a port's old, bare interpreter: Python 3.9 grammar, standard library and
NumPy only, no crash on odd DamarisData, atomic files when many servers write at once."""

from __future__ import annotations

import ast
import json
import sys
import threading
from pathlib import Path

import numpy as np

from damaris_ref.conformance import probe

SOURCE = Path(probe.__file__).read_text(encoding="utf-8")


def test_probe_is_python_3_9_with_only_the_standard_library_and_numpy():
    tree = ast.parse(SOURCE, feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"numpy", "damaris4py"}
    assert imported <= allowed, imported - allowed


def _damaris_data():
    block = np.arange(6, dtype=np.int32).reshape(2, 3)
    return {
        "damaris_env": {"simulation_magic_number": "42", "cores_per_node": np.int64(5)},
        "dask_env": {"dask_scheduler_file": ""},
        "iteration_data": {
            "iteration": 1,
            "cube_i": {
                "numpy_data": {"P3_B0": block},
                "sort_list": [["S1_I1_42", "P3_B0", (2, 0, 0)], "garbage"],
                "type_string": "_int",
            },
            "odd": 7,
        },
    }


def test_observe_records_blocks_and_odd_entries_without_failing():
    record = probe.observe(_damaris_data())
    assert record["tag_servers"] == [1]
    assert record["damaris_env"]["cores_per_node"] == 5
    cube = record["variables"]["cube_i"]
    assert cube["sort_list"] == [["S1_I1_42", "P3_B0", [2, 0, 0]], "'garbage'"]
    assert cube["blocks"]["P3_B0"] | {"sha256": None} == {
        "shape": [2, 3],
        "dtype": "int32",
        "dtype_str": "<i4",
        "sum": 15,
        "sha256": None,
    }
    assert record["variables"]["odd"] == {"error": "entry is not a dict: int"}
    json.dumps(record)  # everything recorded is JSON


def test_observe_says_what_is_missing():
    assert probe.observe({"iteration_data": {}})["missing"] == [
        "damaris_env",
        "dask_env",
        "iteration_data.iteration",
    ]
    assert probe.observe(None)["missing"] == ["DamarisData"]


def test_concurrent_servers_write_whole_distinct_files(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(probe.DIR_VARIABLE, str(tmp_path / "records"))
    threads = [threading.Thread(target=probe.main, args=(_damaris_data(),)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = list((tmp_path / "records").iterdir())
    assert len(files) == 16
    assert all(f.name.startswith("i1_s1_") and f.suffix == ".json" for f in files)
    assert all(json.loads(f.read_text())["tag_servers"] == [1] for f in files)


def test_without_the_directory_variable_nothing_is_written(monkeypatch, capsys):
    monkeypatch.delenv(probe.DIR_VARIABLE, raising=False)
    probe.main(_damaris_data())
    assert "DAMARIS_PROBE_DIR is not set" in capsys.readouterr().err


def test_probe_records_under_upstreams_two_dict_exec_model(tmp_path: Path, monkeypatch):
    """Executed as upstream does (exec(code, G, L), both kept between runs), the probe still
    records every run, and says that its locals were separate and persisted."""
    monkeypatch.setenv(probe.DIR_VARIABLE, str(tmp_path))
    code = compile(SOURCE, probe.__file__, "exec", dont_inherit=True)
    damaris_data = _damaris_data()
    main_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    script_locals = {"DamarisData": damaris_data}
    for _ in range(3):
        damaris_data["iteration_data"] = _damaris_data()["iteration_data"]
        exec(code, main_namespace, script_locals)
        del damaris_data["iteration_data"]
    records = [json.loads(f.read_text()) for f in tmp_path.iterdir()]
    assert sorted(r["execution"]["runs_before"] for r in records) == [0, 1, 2]
    assert all(r["execution"]["separate_locals"] for r in records)
    assert all("probe_error" not in r and r["variables"]["cube_i"]["blocks"] for r in records)
