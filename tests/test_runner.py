"""How a pyscript file is executed and how its failures are reported (SPEC §3)."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest

from damaris_ref.config.model import PyScript
from damaris_ref.scripts.runner import ScriptRunner

SCRIPTS = Path(__file__).parent / "scripts"


def runner_for(path: Path, name: str = "probe", **options) -> tuple[ScriptRunner, io.StringIO]:
    stderr = io.StringIO()
    return ScriptRunner(PyScript(name, path, **options), stderr), stderr


def write_script(folder: Path, body: str, name: str = "script.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def isolated_imports(monkeypatch):
    """Undo the runner's sys.path change and forget modules scripts imported."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_script_runs_as_main_with_damaris_data_in_its_globals(tmp_path):
    path = write_script(
        tmp_path,
        """
        seen = {"name": __name__, "file": __file__}
        if __name__ == "__main__":
            DamarisData["seen"] = seen
        """,
    )
    runner, stderr = runner_for(path)
    damaris_data = {"iteration_data": {"iteration": 0}}
    assert runner.run(damaris_data, server=0, iteration=0) is True
    assert damaris_data["seen"] == {"name": "__main__", "file": str(path)}
    assert stderr.getvalue() == ""


def test_each_run_gets_fresh_globals(tmp_path):
    path = write_script(
        tmp_path,
        """
        assert "counter" not in globals()
        counter = 1
        DamarisData["runs"] = DamarisData.get("runs", 0) + counter
        """,
    )
    runner, _ = runner_for(path)
    shared = {}
    assert runner.run(shared, 0, 0) and runner.run(shared, 0, 1)
    assert shared["runs"] == 2


def test_an_exception_is_reported_with_server_iteration_and_traceback(tmp_path):
    path = write_script(
        tmp_path,
        """
        def analyse(data):
            return data["missing"]

        if __name__ == "__main__":
            analyse(DamarisData)
        """,
    )
    runner, stderr = runner_for(path, name="Analysis")
    assert runner.run({}, server=3, iteration=17) is False
    report = stderr.getvalue()
    assert report.startswith("[damaris-ref] server 3 iteration 17: pyscript 'Analysis'")
    assert str(path) in report
    # the full traceback down to the script's own frame, every line prefixed
    body = report.splitlines()[1:]
    assert all(line.startswith("[S3 I17] ") for line in body)
    assert body[0] == "[S3 I17] Traceback (most recent call last):"
    assert any(f'"{path}", line 3, in analyse' in line for line in body)
    assert body[-1] == "[S3 I17] KeyError: 'missing'"


def test_system_exit_in_a_script_is_reported_not_propagated():
    runner, stderr = runner_for(SCRIPTS / "exits.py")
    assert runner.run({}, server=1, iteration=2) is False
    assert "server 1 iteration 2" in stderr.getvalue()
    assert "SystemExit: 3" in stderr.getvalue()


def test_a_syntax_error_is_reported_like_any_script_error(tmp_path):
    path = write_script(tmp_path, "if __name__ == '__main__'\n    pass\n")
    runner, stderr = runner_for(path)
    assert runner.run({}, server=0, iteration=4) is False
    assert runner.run({}, server=0, iteration=5) is False
    report = stderr.getvalue()
    assert "server 0 iteration 4" in report and "server 0 iteration 5" in report
    assert "[S0 I4] SyntaxError" in report


def test_the_runner_keeps_working_after_a_failure(tmp_path):
    path = write_script(
        tmp_path,
        """
        if DamarisData["iteration"] == 1:
            raise ValueError("only iteration 1 fails")
        """,
    )
    runner, stderr = runner_for(path)
    assert [runner.run({"iteration": i}, 0, i) for i in range(3)] == [True, False, True]
    assert stderr.getvalue().count("ValueError: only iteration 1 fails") == 1


def test_a_missing_file_names_the_pyscript_and_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "analysis.py"
    runner, _ = runner_for(missing, name="MyPyAction")
    with pytest.raises(FileNotFoundError, match=r"pyscript 'MyPyAction'.*analysis\.py"):
        runner.run({}, 0, 0)


@pytest.mark.usefixtures("isolated_imports")
def test_a_helper_module_beside_the_script_can_be_imported(tmp_path):
    write_script(tmp_path, "def double(x):\n    return 2 * x\n", name="runner_test_helper.py")
    path = write_script(
        tmp_path,
        """
        import runner_test_helper

        DamarisData["answer"] = runner_test_helper.double(21)
        """,
    )
    runner, stderr = runner_for(path)
    damaris_data = {}
    assert runner.run(damaris_data, 0, 0), stderr.getvalue()
    assert damaris_data["answer"] == 42


@pytest.mark.parametrize(("frequency", "runs"), [(1, [0, 1, 2, 3, 4]), (2, [0, 2, 4]), (3, [0, 3])])
def test_should_run_when_frequency_divides_the_iteration(frequency, runs):
    runner, _ = runner_for(SCRIPTS / "noop.py", frequency=frequency)
    assert [i for i in range(5) if runner.should_run(i)] == runs
