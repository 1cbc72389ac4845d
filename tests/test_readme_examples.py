"""The README's "Your own simulation" and "Configuration" examples are shipped files that do
what the README says: examples/programs/my_simulation.py runs in-process (the MPI run is in the docs
test, tests/docs), and examples/bad.yml fails with exactly the quoted line."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from damaris_ref.cli import main as damaris_ref
from damaris_ref.core.config import ConfigError, load_config
from damaris_ref.runtime.in_process import run_in_process

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXPECTED_SUMS = [
    "iteration 0: field sum 128.0 from P0_B0,P1_B0",
    "iteration 1: field sum 384.0 from P0_B0,P1_B0",
    "iteration 2: field sum 640.0 from P0_B0,P1_B0",
]


def _quoted_error() -> str:
    """The one line the README's "Configuration" section quotes, as the command prints it."""
    section = README[README.index("### Configuration") : README.index("### Scripts")]
    [block] = re.findall(r"^```\n(.*?)^```", section, re.S | re.M)
    return block.strip()


def test_my_simulation_runs_in_process_and_prints_the_readmes_sums(capsys):
    spec = importlib.util.spec_from_file_location(
        "my_simulation", ROOT / "examples" / "programs" / "my_simulation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run_in_process(module.main, 3, timeout=30)
    assert capsys.readouterr().out.splitlines() == EXPECTED_SUMS
    assert f"`{EXPECTED_SUMS[0]}`, then the sums 384.0 and\n640.0" in README


def test_bad_yml_fails_with_the_readmes_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as raised:
        load_config("examples/bad.yml")
    assert f"damaris-ref: error: {raised.value}" == _quoted_error()


def test_the_readmes_command_for_bad_yml_prints_that_line(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert damaris_ref(["run", "--in-process", "-n", "5", "3dmesh_py", "examples/bad.yml"]) == 1
    assert capsys.readouterr().err == f"{_quoted_error()}\n"
