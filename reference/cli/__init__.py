"""The ``damaris-ref`` command: one entry point whose subcommands live in their own modules.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to the callable that runs it; imports are lazy so ``damaris-ref --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from damaris_ref.core.errors import DamarisError

#: subcommand modules, in the order ``--help`` lists them
SUBCOMMAND_MODULES = (
    "damaris_ref.cli.run",
    "damaris_ref.demo",
    "damaris_ref.stats.cli",
    "damaris_ref.ensemble.cli",
    "damaris_ref.conformance.cli",
    "damaris_ref.check.cli",
    "damaris_ref.cli.convert",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    from damaris_ref import __version__

    parser = argparse.ArgumentParser(
        prog="damaris-ref",
        description="Reference implementation of Damaris-style in-situ Python/Dask analytics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; return the process exit code.

    A :class:`~damaris_ref.core.errors.DamarisError` a subcommand lets through is printed on one
    line (exit status 1); any other exception is a bug and keeps its traceback. Called without
    ``argv`` it is the process's entry point (the ``damaris-ref`` command), and only then it
    makes the process a child subreaper, so that what its jobs start stays in its tree even
    when re-parented (:func:`damaris_ref.launch.processes.become_subreaper`).
    """
    if argv is None:
        from damaris_ref.launch.processes import become_subreaper

        become_subreaper()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        from damaris_ref.launch.log_level import apply_log_level

        apply_log_level()
        return int(args.func(args) or 0)
    except DamarisError as error:
        raise_if_bug(error)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1


def raise_if_bug(error: DamarisError) -> None:
    """Raise the exception behind ``error`` when it is a bug: a rank of an in-process run that
    failed with anything but a DamarisError. It is raised with that rank's own traceback."""
    from damaris_ref.runtime.in_process import RankFailed

    if isinstance(error, RankFailed) and not isinstance(error.error, DamarisError):
        raise error.error from None
