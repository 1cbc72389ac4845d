"""How a pyscript file is executed (upstream's two-dict exec model) and how its failures are
reported (spec §3)."""

from __future__ import annotations

import io
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from damaris_ref.core.config.model import PyScript
from damaris_ref.core.errors import ScriptError
from damaris_ref.runtime.scripts.runner import ScriptRunner, main_namespace

SCRIPTS = Path(__file__).parent / "scripts"


def runner_for(path: Path, name: str = "probe", **options) -> tuple[ScriptRunner, io.StringIO]:
    stderr = io.StringIO()
    return ScriptRunner(PyScript(name, path, **options), stderr), stderr


def write_script(folder: Path, body: str, name: str = "script.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def run_iterations(runner: ScriptRunner, count: int, server: int = 0) -> list[bool]:
    """Run ``runner`` on ``count`` iterations, each with its own ``iteration_data``."""
    return [
        runner.run({"damaris_env": {}, "iteration_data": {"iteration": i}}, server, i)
        for i in range(count)
    ]


def test_script_runs_as_main_with_damaris_data_but_no_file(tmp_path):
    path = write_script(
        tmp_path,
        """
        seen = {"name": __name__, "has_file": "__file__" in dir()}
        if __name__ == "__main__":
            DamarisData["seen"] = seen
        """,
    )
    runner, stderr = runner_for(path)
    assert runner.run({"iteration_data": {"iteration": 0}}, server=0, iteration=0) is True
    assert runner.damaris_data["seen"] == {"name": "__main__", "has_file": False}
    assert stderr.getvalue() == ""


def test_top_level_imports_are_not_visible_inside_the_scripts_functions(tmp_path):
    """Upstream's exec(code, G, L): functions look names up in G, top-level names sit in L."""
    path = write_script(
        tmp_path,
        """
        import os

        def main(DD):
            return os.getcwd()

        if __name__ == "__main__":
            main(DamarisData)
        """,
    )
    runner, stderr = runner_for(path)
    assert runner.run({"iteration_data": {"iteration": 0}}, 0, 0) is False
    assert "NameError: name 'os' is not defined" in stderr.getvalue()


def test_imports_inside_main_and_arguments_work(tmp_path):
    path = write_script(
        tmp_path,
        """
        def main(DD):
            import os
            DD["cwd"] = os.getcwd()

        if __name__ == "__main__":
            main(DamarisData)
        """,
    )
    runner, stderr = runner_for(path)
    assert runner.run({"iteration_data": {"iteration": 0}}, 0, 0), stderr.getvalue()
    assert runner.damaris_data["cwd"]


def test_top_level_names_persist_from_one_iteration_to_the_next(tmp_path):
    path = write_script(
        tmp_path,
        """
        try:
            runs += 1
        except NameError:
            runs = 1
        DamarisData["runs"] = runs
        """,
    )
    runner, stderr = runner_for(path)
    assert run_iterations(runner, 3) == [True, True, True], stderr.getvalue()
    assert runner.damaris_data["runs"] == 3
    assert runner.locals["runs"] == 3


def test_pyscripts_of_one_server_share_main_but_not_their_locals(tmp_path):
    """``global`` in one script's function writes G, which every pyscript of the server sees."""
    writer = write_script(
        tmp_path,
        """
        def publish():
            global shared
            shared = 42
        mine = "writer"
        publish()
        """,
        name="writer.py",
    )
    reader = write_script(
        tmp_path,
        """
        def read():
            return shared
        DamarisData["seen"] = (read(), "mine" in dir())
        """,
        name="reader.py",
    )
    namespace = main_namespace()
    first = ScriptRunner(PyScript("w", writer), io.StringIO(), namespace)
    second = ScriptRunner(PyScript("r", reader), io.StringIO(), namespace)
    assert run_iterations(first, 1) == [True]
    assert run_iterations(second, 1) == [True]
    assert second.damaris_data["seen"] == (42, False)
    assert namespace["__name__"] == "__main__"


def test_iteration_data_is_deleted_after_each_run_and_the_environment_kept(tmp_path):
    path = write_script(
        tmp_path,
        """
        kept = DamarisData
        DamarisData["iterations_seen"] = DamarisData.get("iterations_seen", []) + [
            DamarisData["iteration_data"]["iteration"]
        ]
        """,
    )
    runner, stderr = runner_for(path)
    assert run_iterations(runner, 2) == [True, True], stderr.getvalue()
    assert "iteration_data" not in runner.damaris_data
    assert runner.locals["kept"] is runner.damaris_data
    assert runner.damaris_data["iterations_seen"] == [0, 1]
    assert runner.damaris_data["damaris_env"] == {}


def test_iteration_data_is_deleted_even_when_the_script_raises(tmp_path):
    path = write_script(tmp_path, "raise RuntimeError('boom')\n")
    runner, _ = runner_for(path)
    assert run_iterations(runner, 1) == [False]
    assert "iteration_data" not in runner.damaris_data


def test_the_scripts_folder_is_not_put_on_sys_path(tmp_path):
    """A helper module beside the script is not importable on upstream either."""
    write_script(tmp_path, "def double(x):\n    return 2 * x\n", name="runner_test_helper.py")
    path = write_script(tmp_path, "import runner_test_helper\n")
    runner, stderr = runner_for(path)
    before = list(sys.path)
    assert run_iterations(runner, 1) == [False]
    assert "No module named 'runner_test_helper'" in stderr.getvalue()
    assert sys.path == before


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
        if DamarisData["iteration_data"]["iteration"] == 1:
            raise ValueError("only iteration 1 fails")
        """,
    )
    runner, stderr = runner_for(path)
    assert run_iterations(runner, 3) == [True, False, True]
    assert stderr.getvalue().count("ValueError: only iteration 1 fails") == 1


def test_a_missing_file_names_the_pyscript_and_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "analysis.py"
    runner, _ = runner_for(missing, name="MyPyAction")
    with pytest.raises(ScriptError, match=r"pyscript 'MyPyAction'.*analysis\.py"):
        runner.run({}, 0, 0)


@pytest.mark.parametrize(("frequency", "runs"), [(1, [0, 1, 2, 3, 4]), (2, [0, 2, 4]), (3, [0, 3])])
def test_should_run_when_frequency_divides_the_iteration(frequency, runs):
    runner, _ = runner_for(SCRIPTS / "noop.py", frequency=frequency)
    assert [i for i in range(5) if runner.should_run(i)] == runs


class ReportsThenRelease(io.StringIO):
    """A stderr that lets the stuck script go once the watchdog has reported twice."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.getvalue().count("[damaris-ref] watchdog:") >= 2:
            self.release.set()
        return written


def test_a_long_run_is_reported_with_its_stack_and_not_stopped(tmp_path):
    path = write_script(
        tmp_path,
        """
        def stuck_here(release):
            release.wait(30)  # until it has been reported twice

        stuck_here(DamarisData["iteration_data"]["release"])
        """,
    )
    stderr = ReportsThenRelease()
    runner = ScriptRunner(PyScript("Slow", path), stderr, watchdog_after=0.05)
    damaris_data = {"iteration_data": {"iteration": 0, "release": stderr.release}}
    assert runner.run(damaris_data, 0, 0) is True  # it ran to its end
    lines = stderr.getvalue().splitlines()
    reports = [line for line in lines if line.startswith("[damaris-ref] watchdog:")]
    # after 0.05 s, then when the run has lasted twice as long
    assert reports[:2] == [
        f"[damaris-ref] watchdog: server 0 iteration 0: pyscript 'Slow' is still running "
        f"after {t} s (it is not stopped); it is at:"
        for t in ("0.05", "0.1")
    ]
    assert f'File "{path}", line 3, in stuck_here\n    release.wait(30)  #' in stderr.getvalue()


def test_a_quick_run_and_a_disabled_watchdog_say_nothing(tmp_path):
    quick = write_script(tmp_path, "pass\n", name="quick.py")
    slow = write_script(tmp_path, "import time\ntime.sleep(0.2)\n", name="slow.py")
    for path, after in ((quick, 0.1), (slow, None)):
        stderr = io.StringIO()
        runner = ScriptRunner(PyScript("s", path), stderr, watchdog_after=after)
        assert run_iterations(runner, 1) == [True]
        assert stderr.getvalue() == ""


class _Writes(io.StringIO):
    """A stream that keeps each ``write`` call apart, as a pipe shared by ranks sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_a_line_a_script_prints_reaches_the_stream_in_one_write(tmp_path, monkeypatch):
    """Two servers printing at once interleaved inside their lines when ``print`` wrote each
    value and separator apart; each ``print`` call now makes one write, then a flush."""
    stream, errors = _Writes(), _Writes()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "stderr", errors)
    path = write_script(
        tmp_path,
        """
        import sys
        print("Python iteration ", 0, ", Sum() = ", 16384)
        print("to", "stderr", file=sys.stderr)
        """,
    )
    runner, _ = runner_for(path)
    assert runner.run({"iteration_data": {"iteration": 0}}, 0, 0)
    assert stream.writes == ["Python iteration  0 , Sum() =  16384\n"]
    assert errors.writes == ["to stderr\n"]
