"""The pytest plugin behind ``python -m damaris_ref.conformance``: options, the implementation
under test, skip/xfail files, run caching and the JSON report.

Every option can also come from the environment: pytest's own ``PYTEST_ADDOPTS``, or a
variable ``DAMARIS_CONFORMANCE_<NAME>`` (``--impl-cmd`` -> ``DAMARIS_CONFORMANCE_IMPL_CMD``),
which the suite's command turns into the option (:mod:`damaris_ref.conformance.cli`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from damaris_ref.conformance import SUITE_VERSION, probe
from damaris_ref.conformance.cases import CONFIG_FORMATS, Case
from damaris_ref.conformance.checks import CHECKS, Check, exit_messages, tier_of
from damaris_ref.conformance.deviations import (
    Deviations,
    KnownDeviation,
    load_deviations,
)
from damaris_ref.conformance.expectations import Expectation, expect
from damaris_ref.conformance.generate import generated_cases
from damaris_ref.conformance.impls import (
    Implementation,
    make_implementation,
    parse_capabilities,
)
from damaris_ref.conformance.listing import case_listing
from damaris_ref.conformance.mutations import CONFIG_MUTATIONS
from damaris_ref.conformance.options import OPTIONS, environment_name
from damaris_ref.conformance.report import Report
from damaris_ref.conformance.runs import Run
from damaris_ref.core.errors import ConformanceError
from damaris_ref.core.output_lines import client_totals

#: failure messages list this many differences before counting the rest
SHOWN_DIFFERENCES = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the suite's options (their help names the environment variable of each)."""
    group = parser.getgroup("damaris-conformance", "Damaris conformance suite")
    for option, (default, spec) in OPTIONS.items():
        keywords = {**spec, "help": f"{spec['help']} [env {environment_name(option)}]"}
        group.addoption(option, default=default, **keywords)


@dataclass
class Suite:
    """One session's state: the implementation, its runs and the report."""

    impl: Implementation
    tier: str
    timeout: float
    max_examples: int
    derandomize: bool
    #: the folder for runs; a temporary one is made by :meth:`open_workdir` when None
    workdir: Path | None
    keep_workdir: bool
    ensemble_module: str | None
    deviations: Deviations = field(default_factory=Deviations)
    report: Report = field(default_factory=Report)
    runs: dict[str, Run] = field(default_factory=dict)
    expectations: dict[str, Expectation] = field(default_factory=dict)

    def open_workdir(self) -> Path:
        """Make the work folder (a new temporary one unless ``--workdir`` named it) and put the
        probe in it. Called when the session starts, so ``--help`` leaves nothing behind."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="damaris-conformance-"))
        self.workdir = self.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(probe.__file__, self.probe_file)
        return self.workdir

    @property
    def probe_file(self) -> Path:
        """The probe every case's configuration names as its pyscript."""
        assert self.workdir is not None, "open_workdir() first"
        return self.workdir / "probe.py"

    def skip_reason(self, case: Case | None, check: Check | None) -> str | None:
        """Why a (case, check) does not apply to this port; None when it does."""
        if self.tier == "required" and tier_of(case, check) == "optional":
            return "optional tier (--tier required)"
        if (
            check is not None
            and check.capability
            and check.capability not in self.impl.capabilities
        ):
            return f"check needs capability {check.capability}"
        return self.impl.unsupported(case) if case is not None else None

    def run(self, case: Case) -> Run:
        """Run a case once per session (checks of the same case share the run)."""
        if case.id not in self.runs:
            directory = self.probe_file.parent / case.id  # the work folder, once opened
            self.runs[case.id] = self.impl.run(case, directory, self.probe_file, self.timeout)
        return self.runs[case.id]

    def expectation(self, case: Case) -> Expectation:
        """Compute a case's expectation once per session (its checks share it, like the run)."""
        if case.id not in self.expectations:
            self.expectations[case.id] = expect(case)
        return self.expectations[case.id]

    def finished_before_failing(self, case: Case, run: Run) -> bool:
        """Whether a run that exited non-zero had done all its work first: every script run
        recorded and every total printed (a failure in teardown, which spoils no data)."""
        if case.expect_error is not None or run.returncode in (None, 0) or run.problems:
            return False
        exp = self.expectation(case)
        places = {(i, s) for i in exp.script_iterations for s in exp.servers}
        printed = client_totals(run.stdout)
        return places <= set(run.by_place()) and set(exp.client_totals) <= set(printed)

    def differences(self, case: Case, check: Check | None, run: Run) -> list[str]:
        """What differs for one check (``None``: the exit check)."""
        finished = self.finished_before_failing(case, run)
        if check is None:
            return list(exit_messages(case, run, finished))
        if not run.succeeded and not finished:
            first = (run.failure() or "").splitlines()[0]
            return [f"not checked: the run failed ({first}); see the exit check"]
        return list(check.function(self.expectation(case), run))

    def verify(self, case: Case, check: Check | None, node: pytest.Item) -> None:
        """The body of a data-case test: skip, run, compare, fail with the differences."""
        name = check.name if check else "exit"
        tier = tier_of(case, check)
        node.user_properties.extend(
            [("case", case.id), ("check", name), ("spec", case.spec), ("tier", tier)]
        )
        reason = self.skip_reason(case, check)
        if reason:
            pytest.skip(reason)
        run = self.run(case)
        node.user_properties.extend(
            [
                ("command", run.command),
                ("workdir", str(run.workdir)),
                ("run_seconds", round(run.seconds, 3)),
            ]
        )
        messages = self.differences(case, check, run)
        if self.deviations.unexplained(case, name, messages):
            pytest.fail(_format_differences(messages), pytrace=False)
        if messages:  # every difference is a known deviation: an expected failure
            raise KnownDeviation(_format_differences(messages))

    def verify_generated(self) -> None:
        """Run ``--max-examples`` generated cases through every applicable check."""
        if self.max_examples <= 0:
            pytest.skip("no generated cases (--max-examples 0)")
        checks = [c for c in CHECKS if c.name != "golden" and not self.skip_reason(None, c)]

        @settings(
            max_examples=self.max_examples,
            derandomize=self.derandomize,
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )
        @given(generated_cases(self.impl))
        def generated(case: Case) -> None:
            run = self.run(case)
            for check in (None, *checks):
                name = check.name if check else "exit"
                messages = self.deviations.unexplained(
                    case, name, self.differences(case, check, run)
                )
                if messages:
                    raise AssertionError(
                        f"generated case {case.id} ({case.describe()}; files in "
                        f"{run.workdir}): {name}: " + _format_differences(messages)
                    )

        first_failure = None
        try:
            generated()
        except AssertionError as failure:  # the first failing case, already described
            first_failure = str(failure)
        if first_failure:
            pytest.fail(first_failure, pytrace=False)


def _format_differences(messages: list[str]) -> str:
    """The first differences, one per line, and how many more there are."""
    shown = messages[:SHOWN_DIFFERENCES]
    rest = len(messages) - len(shown)
    return "\n".join(shown) + (f"\n... and {rest} more difference(s)" if rest else "")


def _patterns(path: str | None) -> list[tuple[str, str]]:
    """(substring, where it was listed) for each non-comment line of a skip/xfail file."""
    if not path:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise pytest.UsageError(f"cannot read {path}: {error}") from None
    found = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            found.append((text, f"{path}:{number}"))
    return found


_SUITE = pytest.StashKey[Suite]()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--list-cases``: print what the suite covers and stop before any run (exit 0)."""
    if not config.getoption("list_cases"):
        return None
    print(case_listing())
    return 0


def pytest_configure(config: pytest.Config) -> None:
    """Build the implementation under test from the options (bad options: a usage error)."""
    option = config.getoption
    if option("config_format") not in CONFIG_FORMATS:
        raise pytest.UsageError(f"--config-format must be one of {', '.join(CONFIG_FORMATS)}")
    if option("mutation") in CONFIG_MUTATIONS and option("config_format") != "pdi":
        raise pytest.UsageError(f"--mutation {option('mutation')} needs --config-format pdi")
    if option("tier") not in ("required", "all"):
        raise pytest.UsageError("--tier must be required or all")
    try:
        impl = make_implementation(
            option("impl"),
            option("impl_cmd"),
            option("impl_cmd_domains"),
            parse_capabilities(option("capabilities"), option("without")),
            option("config_format"),
            option("mutation"),
        )
        deviations = load_deviations(option("deviations"))
    except ConformanceError as error:  # a command template or deviations file
        raise pytest.UsageError(str(error)) from None
    workdir = option("workdir")
    config.stash[_SUITE] = suite = Suite(
        impl=impl,
        tier=option("tier"),
        timeout=option("run_timeout"),
        max_examples=option("max_examples"),
        derandomize=option("derandomize"),
        workdir=Path(workdir) if workdir else None,
        keep_workdir=option("keep_workdir") or bool(workdir),
        ensemble_module=option("ensemble_impl"),
        deviations=deviations,
    )
    config.pluginmanager.register(suite.report, "damaris-conformance-report")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Make the work folder before the header names it; show ids from the suite's root."""
    session.config.stash[_SUITE].open_workdir()
    _ids_from_root(session.config)


def _ids_from_root(config: pytest.Config) -> None:
    """Make the terminal name tests as the JSON report and the docs do (``test_port.py::
    test_case[...]``), not by a path from the caller's folder into the installed package.

    Pytest writes ids and files relative to the folder it was started from; here only how
    they are shown changes, not that folder, so every path given on the command line
    (``--report-json``, ``--junitxml``, the commands' own) keeps meaning the caller's.
    """
    config.cwd_relative_nodeid = lambda nodeid: nodeid  # type: ignore[method-assign]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.startpath = config.rootpath


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply the port's skip and xfail files (substrings of test ids) and its deviations."""
    skips = _patterns(config.getoption("skip_file"))
    xfails = _patterns(config.getoption("xfail_file"))
    deviations = config.stash[_SUITE].deviations
    for item in items:
        _mark_deviations(item, deviations)
        for text, where in skips:
            if text in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=f"listed in the skip file ({where})"))
        for text, where in xfails:
            if text in item.nodeid:
                reason = f"listed in the xfail file ({where})"
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def _mark_deviations(item: pytest.Item, deviations: Deviations) -> None:
    """A data-case test that known deviations concern must fail with exactly those."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    case, check = params.get("case"), params.get("check")
    if not isinstance(case, Case):
        return
    found = deviations.applicable(case, check.name if check else "exit")
    if found:
        item.add_marker(
            pytest.mark.xfail(
                raises=KnownDeviation,
                strict=not all(d.flaky for d in found),
                reason="; ".join(d.describe() for d in found),
            )
        )


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> Suite:
    """The session's :class:`Suite`."""
    return pytestconfig.stash[_SUITE]


@pytest.fixture(scope="session", autouse=True)
def _junit_properties(suite: Suite, record_testsuite_property) -> None:
    """Name the suite version and the implementation in the JUnit XML."""
    record_testsuite_property("suite_version", SUITE_VERSION)
    for key, value in suite.impl.describe().items():
        record_testsuite_property(f"implementation_{key}", str(value))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say what is under test before anything runs."""
    suite = config.stash[_SUITE]
    described = ", ".join(f"{k}={v}" for k, v in suite.impl.describe().items())
    return [f"damaris conformance {SUITE_VERSION}: {described}", f"workdir: {suite.workdir}"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON summary; drop the work directory when everything passed."""
    suite = session.config.stash[_SUITE]
    counts = suite.report.counts()
    failed = any(counts[o] for o in ("failed", "error", "unexpected-pass"))
    keep = suite.keep_workdir or failed
    path = session.config.getoption("report_json")
    if path:
        summary = suite.report.summary(
            suite.impl.describe(),
            tier=suite.tier,
            exit_status=int(exitstatus),
            workdir=str(suite.workdir) if keep else None,
        )
        suite.report.write(Path(path), summary)
    if not keep and suite.workdir is not None:
        shutil.rmtree(suite.workdir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Point at the kept runs and the JSON report."""
    suite = config.stash[_SUITE]
    if suite.workdir is not None and suite.workdir.exists():
        terminalreporter.write_line(f"conformance runs kept in {suite.workdir}")
    if config.getoption("report_json"):
        terminalreporter.write_line(f"JSON report: {config.getoption('report_json')}")
