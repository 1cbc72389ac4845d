"""What a port author sees of the suite itself: test ids as the docs write them, each test's
tier, and temporary folders (only a failed run's folder is left, and the report names it)."""

from __future__ import annotations

from pathlib import Path

from damaris_ref.conformance.cases import load_cases
from damaris_ref.conformance.checks import CHECKS, tier_of

CASE = "seed-5ranks-1core-r"


def _leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir())


def test_the_terminal_shows_the_ids_of_the_report(run_suite):
    run = run_suite("-vv", "--max-examples", "0", "-k", f"{CASE}/routing")  # -vv after -q
    assert run.returncode == 0, run.output[-3000:]
    lines = run.output.splitlines()
    assert any(line.startswith(f"test_port.py::test_case[{CASE}/routing] PASSED") for line in lines)
    assert "configfile: suite.ini" in lines
    assert not [line for line in lines if "../" in line or "devnull" in line or "/dev/null" in line]


def test_help_and_a_passing_run_leave_no_temporary_folder(run_suite, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    helped = run_suite("--help", env={"TMPDIR": str(tmp)}, workdir=False)
    assert helped.returncode == 0 and "--impl-cmd" in helped.output
    assert _leftovers(tmp) == []
    passed = run_suite("--max-examples", "0", "-k", CASE, env={"TMPDIR": str(tmp)}, workdir=False)
    assert passed.returncode == 0, passed.output[-3000:]
    assert passed.report["workdir"] is None
    assert _leftovers(tmp) == []


def test_a_failed_run_keeps_its_folder_and_the_report_names_it(run_suite, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    failed = run_suite(
        "--mutation", "drop-block", "--max-examples", "0", "-k", f"{CASE}/reassembly",
        env={"TMPDIR": str(tmp)}, workdir=False,
    )  # fmt: skip
    assert failed.returncode == 1
    [kept] = _leftovers(tmp)
    assert kept.startswith("damaris-conformance-")
    assert failed.report["workdir"] == str(tmp / kept)
    assert (tmp / kept / CASE / "records").is_dir()
    assert f"conformance runs kept in {tmp / kept}" in failed.output


def test_a_tests_tier_is_optional_when_its_case_or_its_check_is():
    cases = {case.id: case for case in load_cases()}
    checks = {check.name: check for check in CHECKS}
    required_case, optional_case = cases[CASE], cases["frequency-2"]
    assert (required_case.tier, optional_case.tier) == ("required", "optional")
    assert tier_of(required_case, checks["routing"]) == "required"
    assert tier_of(required_case, None) == "required"  # the exit check
    assert tier_of(required_case, checks["time-varying"]) == "optional"
    assert tier_of(optional_case, checks["routing"]) == "optional"
    assert tier_of(optional_case, None) == "optional"
    assert tier_of(None, checks["dask-env"]) == "optional"  # a generated case


def test_the_report_and_tier_required_use_the_tests_tier(run_suite):
    broken = run_suite("--mutation", "drop-block", "--max-examples", "0", "-k", f"{CASE}/")
    tiers = {f["check"]: f["tier"] for f in broken.report["failures"]}
    assert tiers["time-varying"] == "optional", broken.report["failures"]
    assert tiers["reassembly"] == "required"
    required = run_suite("--tier", "required", "--max-examples", "0", "-k", f"{CASE}/")
    assert required.returncode == 0, required.output[-3000:]
    skipped = {s["id"]: s["reason"] for s in required.report["skipped"]}
    assert skipped == {
        f"test_port.py::test_case[{CASE}/{name}]": "optional tier (--tier required)"
        for name in ("time-varying", "known-clients", "damaris4py", "dask-env")
    }


def test_a_reused_workdir_gives_no_stale_records(run_suite):
    broken = run_suite("--mutation", "drop-block", "--max-examples", "0", "-k", f"{CASE}/")
    assert broken.returncode == 1
    again = run_suite("--max-examples", "0", "-k", f"{CASE}/")  # the same --workdir
    assert again.returncode == 0, again.output[-3000:]


def test_relative_report_paths_mean_the_callers_folder(run_suite, tmp_path):
    run = run_suite(  # a second --report-json wins over the fixture's absolute one
        "--max-examples", "0", "-k", f"{CASE}/routing",
        "--report-json", "relative.json", "--junitxml", "relative.xml",
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    assert (tmp_path / "relative.json").is_file() and (tmp_path / "relative.xml").is_file()
