"""What a port author meets: command templates, capabilities, skip/xfail files, timeouts,
failing commands, environment configuration and the ensemble checks."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from damaris_ref.conformance import SUITE_VERSION
from damaris_ref.conformance.cli import environment_arguments, main
from damaris_ref.core.config import ConfigError

PYTHON = shlex.quote(sys.executable)
#: the reference in-process, started as a command: a "port" that follows the seed CLI
SEED = f"{PYTHON} -m damaris_ref.cli run --in-process -n {{np}} 3dmesh_py {{config}}"


def _ids(run, outcome):
    return [r["id"] for r in run.report.get(outcome, [])]


def test_a_command_template_port_passes_and_the_report_names_it(run_suite):
    template = f"{SEED} -i {{iterations}} -v 2 {{r}} -s 0"
    run = run_suite("--impl-cmd", template, "--max-examples", "2", "-k", "seed- or generated")
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["suite_version"] == SUITE_VERSION
    assert run.report["implementation"]["name"] == "command"
    assert run.report["implementation"]["templates"] == {"3dmesh_py": template}
    skipped = {s["reason"] for s in run.report["skipped"]}
    assert skipped == {"needs capability domains"}  # no --impl-cmd-domains


def test_a_template_that_fixes_r_skips_the_other_cases(run_suite):
    run = run_suite(
        "--impl-cmd", f"{SEED} -i {{iterations}} -v 2 -r -s 0", "--max-examples", "0", "-k", "seed-"
    )
    assert run.returncode == 0, run.output[-3000:]
    reasons = {s["id"]: s["reason"] for s in run.report["skipped"]}
    assert reasons["test_port.py::test_case[seed-5ranks-1core/routing]"] == (
        "the command template always passes -r and has no {r} placeholder"
    )
    assert run.report["counts"]["passed"] > 0


def test_capabilities_a_port_lacks_skip_cases_and_checks(run_suite):
    run = run_suite("--without", "damaris4py,standalone", "--max-examples", "0")
    assert run.returncode == 0, run.output[-3000:]
    reasons = {s["id"]: s["reason"] for s in run.report["skipped"]}
    assert reasons["test_port.py::test_case[standalone-3ranks/exit]"] == (
        "needs capability standalone"
    )
    assert reasons["test_port.py::test_case[seed-5ranks-1core-r/known-clients]"] == (
        "check needs capability damaris4py"
    )


def test_required_tier_skips_optional_cases(run_suite):
    run = run_suite("--tier", "required", "--max-examples", "0", "-k", "frequency-2/exit")
    assert run.returncode == 0
    assert run.report["skipped"][0]["reason"] == "optional tier (--tier required)"


def test_skip_and_xfail_files_and_an_unexpected_pass(run_suite, tmp_path: Path):
    (tmp_path / "skip.txt").write_text("# known gaps\n/known-clients\n")
    (tmp_path / "xfail.txt").write_text("seed-5ranks-1core-r/routing  # believed broken\n")
    run = run_suite(
        "--skip-file", str(tmp_path / "skip.txt"), "--xfail-file", str(tmp_path / "xfail.txt"),
        "--max-examples", "0", "-k", "seed-5ranks-1core-r",
    )  # fmt: skip
    assert run.returncode == 1  # the xfail passed: the list is out of date
    assert run.report["unexpected_passes"] == [
        "test_port.py::test_case[seed-5ranks-1core-r/routing]"
    ]
    reasons = {s["id"]: s["reason"] for s in run.report["skipped"]}
    assert reasons["test_port.py::test_case[seed-5ranks-1core-r/known-clients]"] == (
        f"listed in the skip file ({tmp_path / 'skip.txt'}:2)"
    )


def test_a_hanging_port_is_stopped_and_named(run_suite):
    template = f"{PYTHON} -c 'import time; time.sleep(60)' {{np}} {{config}} {{iterations}}"
    run = run_suite(
        "--impl-cmd", template, "--run-timeout", "1", "--max-examples", "0",
        "-k", "seed-5ranks-1core/exit",
    )  # fmt: skip
    assert run.returncode == 1
    message = run.failure("test_port.py::test_case[seed-5ranks-1core/exit]")["message"]
    assert message.startswith(f"timed out after 1 s: {sys.executable} -c 'import time;")


def test_a_failing_port_is_reported_with_its_exit_code_and_stderr(run_suite):
    script = shlex.quote('import sys; sys.exit("no such option -r")')
    template = f"{PYTHON} -c {script} {{np}} {{config}} {{iterations}}"
    run = run_suite("--impl-cmd", template, "--max-examples", "0", "-k", "seed-5ranks-1core/")
    failure = run.failure("test_port.py::test_case[seed-5ranks-1core/exit]")
    assert failure["message"].startswith("exit code 1: ")
    assert failure["details"].endswith("stderr ends with:\nno such option -r")
    routing = run.failure("test_port.py::test_case[seed-5ranks-1core/routing]")
    assert routing["message"].startswith("not checked: the run failed (exit code 1: ")


def test_options_come_from_the_environment(run_suite):
    run = run_suite(
        "-k", "seed-5ranks-1core-r/exit",
        env={"DAMARIS_CONFORMANCE_IMPL_CMD": f"{SEED} -i {{iterations}} -v 2 {{r}} -s 0",
             "DAMARIS_CONFORMANCE_MAX_EXAMPLES": "0"},
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["implementation"]["name"] == "command"


def test_pytest_addopts_sets_the_suites_options_too(run_suite):
    run = run_suite("--collect-only", env={"PYTEST_ADDOPTS": "--without gpu"})
    assert run.returncode == 4, run.output[-3000:]  # parsed as the option: a usage error
    assert "unknown capability gpu" in run.output


def test_an_option_given_wins_over_its_environment_variable(run_suite):
    bad = {"DAMARIS_CONFORMANCE_WITHOUT": "gpu"}
    assert "unknown capability gpu" in run_suite("--collect-only", env=bad).output
    run = run_suite("--collect-only", "--without", "domains", env=bad)
    assert run.returncode == 0, run.output[-3000:]


def test_environment_variables_become_the_options_they_name():
    environ = {
        "DAMARIS_CONFORMANCE_IMPL_CMD": "run {np} {config} {iterations}",
        "DAMARIS_CONFORMANCE_MAX_EXAMPLES": " 3 ",
        "DAMARIS_CONFORMANCE_DERANDOMIZE": "yes",
        "DAMARIS_CONFORMANCE_KEEP_WORKDIR": "off",
        "DAMARIS_CONFORMANCE_TIER": "",
        "DAMARIS_CONFORMANCE_UNKNOWN": "ignored",
    }
    assert environment_arguments(environ) == [
        "--impl-cmd=run {np} {config} {iterations}",
        "--max-examples=3",
        "--derandomize",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("DAMARIS_CONFORMANCE_MAX_EXAMPLES", "ten", "an integer"),
        ("DAMARIS_CONFORMANCE_RUN_TIMEOUT", "soon", "a number"),
        ("DAMARIS_CONFORMANCE_DERANDOMIZE", "maybe", "one of 1, true, yes, on, 0, false"),
    ],
)
def test_a_bad_environment_variable_is_a_one_line_usage_error(variable, value, allowed, capsys):
    with pytest.raises(ConfigError, match=f"^environment: {variable}: invalid value '{value}'"):
        environment_arguments({variable: value})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, value)
        assert main([]) == pytest.ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"allowed: {allowed}" in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--impl-cmd", "run {np} {config}", "lacks {iterations}"),
        ("--impl-cmd", "run {np} {config} {iterations} {ranks}", "unknown placeholder(s) ranks"),
        ("--without", "gpu", "unknown capability gpu"),
        ("--impl", "upstream", "unknown implementation 'upstream'"),
    ],
)
def test_bad_options_are_usage_errors(run_suite, option, value, message):
    run = run_suite(option, value)
    assert run.returncode == 4  # pytest's usage error
    assert message in run.output


def test_the_ensemble_checks_fail_a_broken_port(run_suite):
    run = run_suite("--ensemble-impl", "broken_espresso", "-k", "ensemble")
    assert run.report["counts"]["passed"] == 0
    assert run.report["counts"]["failed"] == 20
    swallowed = run.failure("test_ensemble.py::test_task_undecodable_output_raises")
    assert swallowed["message"] == "undecodable output returned None"
    wire = run.failure("test_ensemble.py::test_port_encodes_reference_decodes[scalars]")
    assert "TransportDecodeError" in wire["message"]
