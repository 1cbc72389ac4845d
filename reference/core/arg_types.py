"""Argument types the subcommands share: each refuses, while the command line is parsed and so
before anything starts, a value no run could use, with argparse's usage and one line naming
the option, the bound and the value given."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

#: the largest iteration count: iterations are C ``int`` (32-bit) values, upstream as here
INT32_MAX = 2**31 - 1
#: the longest sleep a simulation takes per iteration (``-s``): one day
MAX_SLEEP_SECONDS = 86_400.0


def integer_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound when None)."""
    bounds = f"from {low} to {high}" if high is not None else f">= {low}"

    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {text}")
        return value

    return integer


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (a time limit)."""
    value = _number(text)
    if value is None or not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text}")
    return value


def sleep_seconds(text: str) -> float:
    """An argparse type: seconds to sleep, finite, from 0 to :data:`MAX_SLEEP_SECONDS`."""
    value = _number(text)
    if value is None or not 0 <= value <= MAX_SLEEP_SECONDS:  # NaN fails the comparison
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds from 0 to {MAX_SLEEP_SECONDS:g}, got {text}"
        )
    return value


def output_folder(text: str) -> Path:
    """An argparse type: a folder to write into; something else already there is refused."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} exists and is not a folder")
    return path


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
