"""``damaris-ref check-script FILE...``: lint pyscripts for names that fail only on Damaris.

Prints one ``file:line:col: message`` line per finding, then ``N finding(s) in M file(s)`` or
``ok: no findings in M file(s)`` (M counts the files checked); a file that cannot be analysed
gets ``cannot analyse FILE: why`` on stderr and the others are still checked. Exit code 2 if a
file could not be analysed, else 1 if there were findings, else 0, so CI can gate on it. See
:mod:`damaris_ref.scripts.check` for what is checked and why.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check-script`` subcommand."""
    parser = subparsers.add_parser(
        "check-script",
        help="lint pyscripts for top-level names their functions cannot see on Damaris",
        description=(
            "Report names a pyscript binds at its top level but uses inside its functions, "
            "and DamarisData read inside functions: both work in plain Python but raise "
            "NameError when Damaris runs the script as exec(code, G, L)."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="pyscript(s) to check")
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Check every file; return 2 if one could not be analysed, else 1 on findings, else 0."""
    from damaris_ref.scripts.check import CannotAnalyse, check_file

    checked = findings = 0
    unanalysed = False
    for path in options.files:
        try:
            results = check_file(path)
        except CannotAnalyse as reason:
            print(f"damaris-ref check-script: cannot analyse {path}: {reason}", file=sys.stderr)
            unanalysed = True
            continue
        checked += 1
        findings += len(results)
        for finding in results:
            print(finding)
    if findings:
        print(f"{findings} finding(s) in {checked} file(s)")
    else:
        print(f"ok: no findings in {checked} file(s)")
    if unanalysed:
        return 2
    return 1 if findings else 0
