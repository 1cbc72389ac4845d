"""``damaris-ref run --in-process``: the mpiexec-shaped command line, without MPI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from damaris_ref.cli import main
from damaris_ref.config import ConfigError
from damaris_ref.conformance.cases import case_by_id
from damaris_ref.shared_errors import DEFAULT_DEADLINE, deadline_seconds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def two_core_config(tmp_path: Path) -> Path:
    """examples/3dmesh_py_compact.yml with 2 dedicated cores, beside its script."""
    shutil.copy(EXAMPLES / "3dmesh_py_short.py", tmp_path)
    text = (
        (EXAMPLES / "3dmesh_py_compact.yml")
        .read_text()
        .replace("{core: 1, node: 0}", "{core: 2, node: 0}")
    )
    path = tmp_path / "two_cores.yml"
    path.write_text(text)
    return path


def test_clients_option_derives_the_rank_count_from_the_architecture(two_core_config, capsys):
    code = main(
        [
            "run",
            "--in-process",
            "--clients",
            "4",
            "3dmesh_py",
            str(two_core_config),
            "-i",
            "1",
            "-v",
            "2",
            "-r",
            "-s",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "4 clients -> 6 ranks" in out
    golden = case_by_id("seed-6ranks-2cores-r").expect  # 4 clients, 2 dedicated cores, -r
    assert f"C++    iteration  0 , Sum () = {golden.client_totals[0]}" in out
    for server_sum in golden.server_sums[0]:
        assert f"Python iteration  0 , Sum() =  {server_sum}" in out


def test_impossible_client_count_is_one_clear_error(two_core_config, capsys):
    code = main(["run", "--in-process", "--clients", "5", "3dmesh_py", str(two_core_config)])
    assert code == 1
    assert "dedicated cores must divide clients per node" in capsys.readouterr().err


def test_simulation_error_names_the_simulation_and_rank(two_core_config, capsys):
    code = main(["run", "--in-process", "-n", "12", "3dmesh_py", str(two_core_config), "-s", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "damaris-ref: error: 3dmesh_py: 10 clients but DEPTH is 4" in err


@pytest.mark.parametrize("text", ["0", "-3", "soon"])
def test_the_shared_error_deadline_must_be_positive_seconds(text):
    message = f"environment: DAMARIS_SHARED_ERROR_DEADLINE: invalid value {text!r}; allowed: a"
    with pytest.raises(ConfigError, match=message):
        deadline_seconds({"DAMARIS_SHARED_ERROR_DEADLINE": text})
    assert deadline_seconds({"DAMARIS_SHARED_ERROR_DEADLINE": "2.5"}) == 2.5
    assert deadline_seconds({}) == DEFAULT_DEADLINE
