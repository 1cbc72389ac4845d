"""``damaris-ref run --in-process``: the mpiexec-shaped command line, without MPI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from damaris_ref.cli import main
from damaris_ref.conformance.cases import case_by_id
from damaris_ref.core.config import ConfigError
from damaris_ref.launch.exit_status import DEFAULT_DEADLINE, deadline_seconds

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


def test_clients_option_reads_a_pdi_file_with_run_time_expressions(capsys):
    heat = EXAMPLES / "heat2d_pdi.yml"  # its layout's dimensions are depends_on expressions
    code = main(["run", "--in-process", "--clients", "4", "heat2d_pdi", str(heat), "-i", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4 clients -> 5 ranks" in captured.out


def test_a_non_pdi_program_still_refuses_the_run_time_expressions(capsys):
    heat = EXAMPLES / "heat2d_pdi.yml"
    code = main(["run", "--in-process", "--clients", "4", "3dmesh_py", str(heat)])
    err = capsys.readouterr().err
    assert code == 1
    assert "layouts[0].layout.dimensions" in err
    assert "Run the simulation through damaris_ref.pdi" in err


def test_a_pdi_programs_file_is_checked_before_any_rank_starts(tmp_path, capsys):
    spec = tmp_path / "heat.yml"
    text = (EXAMPLES / "heat2d_pdi.yml").read_text()
    spec.write_text(text.replace("'$iter%$every=0'", "'$iter<=4'", 1))
    code = main(["run", "-n", "3", "heat2d_pdi", str(spec)])  # under MPI, were it started
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"damaris-ref: error: {spec}:48: pdi.plugins.damaris.write."), err
    assert "PDI expression '$iter<=4' uses '<='" in err and "rank" not in err


def test_clients_option_reads_a_pdi_tree_without_its_pdi_key(tmp_path, capsys):
    """pdi.init takes the tree alone, as PDI's own init is given it; so does --clients."""
    import yaml

    shutil.copy(EXAMPLES / "3dmesh_py.py", tmp_path)
    tree = yaml.safe_load((EXAMPLES / "3dmesh_py.yml").read_text())["pdi"]
    spec = tmp_path / "tree.yml"
    spec.write_text(yaml.safe_dump(tree, sort_keys=False))
    code = main(["run", "--in-process", "--clients", "4", "3dmesh_py_pdi", str(spec), "-i", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4 clients -> 5 ranks" in captured.out
