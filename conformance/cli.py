"""``python -m damaris_ref.conformance`` and ``damaris-ref conformance``: run the suite.

Both run pytest on the suite's own test modules inside the installed package, with the suite's
plugin, so a port author needs no checkout. Every argument is passed on to pytest: the suite's
options (``--impl-cmd``, ``--report-json``...) and pytest's own (``-k``, ``-x``, ``--junitxml``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SUITE_DIR = Path(__file__).parent
#: the suite's own pytest configuration (so no configuration of the caller's folder applies)
SUITE_INI = SUITE_DIR / "suite.ini"


def pytest_arguments(argv: Sequence[str]) -> list[str]:
    """The pytest command line: the suite's folder as root, its own config, no cache."""
    return [
        str(SUITE_DIR),
        "--rootdir",
        str(SUITE_DIR),
        "-c",
        str(SUITE_INI),
        "--import-mode=importlib",
        "-p",
        "damaris_ref.conformance.plugin",
        "-p",
        "no:cacheprovider",
        *argv,
    ]


class IdsFromSuiteRoot:
    """Pytest plugin: the terminal names tests as the JSON report and the docs do
    (``test_port.py::test_case[...]``), not by a path from the caller's folder into the
    installed package. Pytest writes ids relative to the folder it was started from, so that
    folder is set to the suite's root once the command line is parsed; the paths given on it
    (``--junitxml``, ``--report-json``, the templates' commands) still mean the caller's."""

    def pytest_configure(self, config: Any) -> None:
        """Take the suite's root as the folder ids are shown relative to (a pytest hook)."""
        config.invocation_params = dataclasses.replace(
            config.invocation_params, dir=config.rootpath
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; the exit status is pytest's (0: conforming, 1: some test failed)."""
    import pytest

    arguments = pytest_arguments(sys.argv[1:] if argv is None else argv)
    return int(pytest.main(arguments, plugins=[IdsFromSuiteRoot()]))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``conformance`` subcommand (its arguments go to the suite unparsed)."""
    parser = subparsers.add_parser(
        "conformance",
        help="check an implementation against the specification (see docs/conformance.md)",
        description="Run the conformance suite; all arguments are passed on to it "
        "(--impl, --impl-cmd, --report-json, pytest options; --help lists them).",
        add_help=False,
        prefix_chars="\0",  # every argument, "-x" included, is the suite's, not ours
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    parser.set_defaults(func=lambda options: main(options.arguments))
