"""``damaris-ref check-script FILE... [--config FILE]``: lint pyscripts for names that fail
only on Damaris (``--config``: the pyscripts a configuration names, each found as the
simulation would find it).

Prints one ``file:line:col: message`` line per finding, then ``N finding(s) in M file(s)`` or
``ok: no findings in M file(s)`` (M counts the files checked); a file that cannot be analysed
gets ``cannot analyse FILE: why`` on stderr, the others are still checked, and the summary
then ends with ``; U file(s) not analysed`` and never starts with ``ok``. Exit code 2 if a
file could not be analysed, else 1 if there were findings, else 0, so CI can gate on it. See
:mod:`damaris_ref.check.analysis` for what is checked and why.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from damaris_ref.core.errors import DamarisError, ScriptError


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
    parser.add_argument("files", nargs="*", metavar="FILE", help="pyscript(s) to check")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="also check every pyscript this Damaris configuration names (repeatable)",
    )
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Check every file; return 2 if one could not be analysed, else 1 on findings, else 0."""
    from damaris_ref.check.analysis import check_file

    try:
        paths = _paths(options.files, options.config)
    except DamarisError as error:  # a config that does not load, or nothing to check
        print(f"damaris-ref check-script: {error}", file=sys.stderr)
        return 2
    checked = findings = unanalysed = 0
    for path in paths:
        try:
            results = check_file(path)
        except ScriptError as reason:
            print(f"damaris-ref check-script: cannot analyse {path}: {reason}", file=sys.stderr)
            unanalysed += 1
            continue
        checked += 1
        findings += len(results)
        for finding in results:
            print(finding)
    print(_summary(findings, checked, unanalysed))
    if unanalysed:
        return 2
    return 1 if findings else 0


def _paths(files: list[str], configs: list[str]) -> list[str]:
    """The files given, then each config's pyscripts that are not among them yet (shown
    relative to the current folder when inside it)."""
    from damaris_ref.core.config import load_config

    if not files and not configs:
        raise DamarisError("nothing to check: give FILE... or --config FILE")
    paths = list(files)
    seen = {Path(p).resolve() for p in paths}
    for config in configs:
        for script in load_config(config).pyscripts:
            if script.file.resolve() not in seen:
                seen.add(script.file.resolve())
                relative = os.path.relpath(script.file)
                paths.append(str(script.file) if relative.startswith("..") else relative)
    return paths


def _summary(findings: int, checked: int, unanalysed: int) -> str:
    """The last line: what was found in the files checked; "ok" only when every file was."""
    found = f"{findings} finding(s)" if findings else "no findings"
    if unanalysed:
        return f"{found} in {checked} file(s); {unanalysed} file(s) not analysed"
    return f"{found} in {checked} file(s)" if findings else f"ok: {found} in {checked} file(s)"
