"""``python -m damaris_ref.conformance`` and ``damaris-ref conformance``: run the suite.

Both run pytest on the suite's own test modules inside the installed package, with the suite's
plugin, so a port author needs no checkout. Every argument is passed on to pytest: the suite's
options (``--impl-cmd``, ``--report-json``...) and pytest's own (``-k``, ``-x``, ``--junitxml``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

SUITE_DIR = Path(__file__).parent
#: the suite's own pytest configuration (so no configuration of the caller's folder applies)
SUITE_INI = SUITE_DIR / "suite.ini"


def _pytest_arguments(argv: Sequence[str]) -> list[str]:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; the exit status is pytest's (0: conforming, 1: some test failed)."""
    import pytest

    return int(pytest.main(_pytest_arguments(sys.argv[1:] if argv is None else argv)))


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
