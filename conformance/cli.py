"""``python -m damaris_ref.conformance`` and ``damaris-ref conformance``: run the suite.

Both run pytest on the suite's own test modules inside the installed package, with the suite's
plugin, so a port author needs no checkout. Every argument is passed on to pytest: the suite's
options (``--impl-cmd``, ``--report-json``...) and pytest's own (``-k``, ``-x``, ``--junitxml``).

From the environment, pytest's own ``PYTEST_ADDOPTS`` holds any options; a variable
``DAMARIS_CONFORMANCE_<NAME>`` sets the one option ``--<name>`` (the spelling CI jobs use). Such
a variable becomes that option ahead of the arguments, so pytest parses it like any other and a
given argument wins.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from damaris_ref.core.errors import DamarisError
from damaris_ref.core.settings import Setting

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


#: the words a flag's variable may hold, by the flag's state
_FLAG_WORDS = {True: ("1", "true", "yes", "on"), False: ("0", "false", "no", "off")}
#: what a variable of an option taking a ``type`` must hold
_TYPE_NAMES = {int: "an integer", float: "a number"}


def _flag(text: str) -> bool:
    for state, words in _FLAG_WORDS.items():
        if text.lower() in words:
            return state
    raise ValueError(text)


def option_setting(option: str, spec: dict[str, Any]) -> Setting[Any]:
    """The environment variable of ``option``: it reads as the option would (None: unset)."""
    from damaris_ref.conformance.options import environment_name

    name = environment_name(option)
    if spec.get("action") == "store_true":
        words = ", ".join(_FLAG_WORDS[True] + _FLAG_WORDS[False])
        return Setting(name, _flag, f"one of {words}", None)
    kind = spec.get("type", str)
    return Setting(name, lambda text: str(kind(text)), _TYPE_NAMES.get(kind, "any text"), None)


def environment_arguments(environ: Mapping[str, str]) -> list[str]:
    """The suite's options that ``DAMARIS_CONFORMANCE_<NAME>`` variables in ``environ`` set."""
    from damaris_ref.conformance.options import OPTIONS

    arguments = []
    for option, (_default, spec) in OPTIONS.items():
        value = option_setting(option, spec).read(environ)
        if value is True:
            arguments.append(option)
        elif isinstance(value, str):
            arguments.append(f"{option}={value}")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; the exit status is pytest's (0: conforming, 1: some test failed, 4: a
    usage error, such as a bad option or ``DAMARIS_CONFORMANCE_*`` variable)."""
    import pytest

    try:
        from_environment = environment_arguments(os.environ)
    except DamarisError as error:  # a ConfigError naming the variable
        print(f"damaris-ref conformance: error: {error}", file=sys.stderr)
        return int(pytest.ExitCode.USAGE_ERROR)
    arguments = [*from_environment, *(sys.argv[1:] if argv is None else argv)]
    return int(pytest.main(_pytest_arguments(arguments)))


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
