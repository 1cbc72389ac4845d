"""Turning command-line ``--param`` options and parameter files into a list of parameter sets.

``--param name=v1,v2`` gives the values one parameter takes; several of them span a grid.
Each value is read as an integer, a float, ``true``/``false``, ``none`` or else a string.
A parameter file (JSON, or YAML with ``.yaml``/``.yml``) holds either a mapping from name to a
value or list of values (a grid, like ``--param``) or a list of mappings (explicit sets).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from damaris_ref.ensemble.input_error import EnsembleInputError
from damaris_ref.ensemble.sweep import parameter_grid

_WORDS = {"true": True, "false": False, "none": None, "null": None}


def parse_value(text: str) -> Any:
    """Read one command-line value: int, float, bool, None or (otherwise) the string itself."""
    word = text.strip()
    if word.lower() in _WORDS:
        return _WORDS[word.lower()]
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    return word


def parse_param_option(option: str) -> tuple[str, list[Any]]:
    """Split ``name=v1,v2,...`` into the name and its parsed values."""
    name, sep, values = option.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise EnsembleInputError(
            f"--param {option!r} is invalid; expected NAME=VALUE[,VALUE...], "
            "e.g. volume_fraction=0.1,0.2"
        )
    items = values.split(",")
    if any(not item.strip() for item in items):
        raise EnsembleInputError(
            f"--param {option!r} has an empty value; separate values with commas"
        )
    return name, [parse_value(item) for item in items]


def _load_params_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSON or YAML parameter file into parameter sets (see the module docstring)."""
    path = Path(path)
    try:
        content = _parsed(path)
    except (OSError, ValueError) as exc:  # unreadable, or not JSON/YAML (both ValueErrors)
        raise EnsembleInputError(f"--params-file {str(path)!r}: {exc}") from None
    if isinstance(content, Mapping):
        return parameter_grid(
            {
                str(name): value if isinstance(value, list) else [value]
                for name, value in content.items()
            }
        )
    if isinstance(content, list) and all(isinstance(item, Mapping) for item in content):
        return [dict(item) for item in content]
    raise EnsembleInputError(
        f"{path}: expected a mapping of name -> value(s) or a list of mappings, "
        f"got {type(content).__name__}"
    )


def _parsed(path: Path) -> Any:
    text = path.read_text()
    if path.suffix.lower() not in (".yaml", ".yml"):
        return json.loads(text)
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None


def build_param_sets(
    options: Sequence[str], params_file: str | os.PathLike[str] | None
) -> list[dict[str, Any]]:
    """Combine a parameter file's sets with the grid of ``--param`` options (which win)."""
    grid: dict[str, list[Any]] = {}
    for option in options:
        name, values = parse_param_option(option)
        if name in grid:
            raise EnsembleInputError(
                f"--param {name} is given twice; list all its values in one option"
            )
        grid[name] = values
    base = _load_params_file(params_file) if params_file else [{}]
    combos = parameter_grid(grid) if grid else [{}]
    sets = [{**fixed, **combo} for fixed in base for combo in combos]
    if sets == [{}]:
        raise EnsembleInputError(
            "no parameters given; use --param NAME=VALUES or --params-file FILE"
        )
    return sets
