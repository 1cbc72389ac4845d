"""Options that several ``damaris-ref`` subcommands share, added by one function each so that
every command spells and defaults them the same way. Imports nothing heavy: ``damaris-ref
--help`` builds every subcommand's parser."""

from __future__ import annotations

import argparse


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--progress/--no-progress``, stored as ``progress``: True or False when given, else None,
    which draws the bar only when stderr is a terminal (never into a file or a pipe)."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar on stderr (default: only when stderr is a terminal)",
    )
