"""Turning command-line ``--param`` options and parameter files into a list of parameter sets.

``--param name=v1,v2`` gives the values one parameter takes; several of them span a grid.
Each value is read as an integer, a float, ``true``/``false``, ``none`` or else a string.
A parameter file (JSON, or YAML with ``.yaml``/``.yml``) holds either a mapping from name to a
value or list of values (a grid, like ``--param``) or a list of mappings (explicit sets).
YAML is read by the config loader's parser, which refuses alias bombs and duplicate keys.

The number of sets is known before any is made: past :data:`MAX_PARAM_SETS` the ensemble is
refused before any work starts.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from damaris_ref.core.config.errors import ConfigError
from damaris_ref.core.config.yaml_tree import parse
from damaris_ref.core.errors import UsageError
from damaris_ref.ensemble.sweep import grid_shape, iter_grid

#: the most simulations one ensemble may run (each is a Dask task and a process)
MAX_PARAM_SETS = 100_000

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
        raise UsageError(
            f"--param {option!r} is invalid; expected NAME=VALUE[,VALUE...], "
            "e.g. volume_fraction=0.1,0.2"
        )
    items = values.split(",")
    if any(not item.strip() for item in items):
        raise UsageError(f"--param {option!r} has an empty value; separate values with commas")
    return name, [parse_value(item) for item in items]


def _read_params_file(
    path: str | os.PathLike[str],
) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """A parameter file's explicit sets and its grid (see the module docstring): a grid file
    gives one empty set and its grid, a list of sets gives them and no grid."""
    path = Path(path)
    try:
        content = _parsed(path)
    except (OSError, ValueError) as exc:  # unreadable, or not JSON/YAML (both ValueErrors)
        raise UsageError(f"--params-file {str(path)!r}: {exc}") from None
    if isinstance(content, Mapping):
        grid = {
            str(name): value if isinstance(value, list) else [value]
            for name, value in content.items()
        }
        return [{}], grid
    if isinstance(content, list) and all(isinstance(item, Mapping) for item in content):
        return [dict(item) for item in content], {}
    raise UsageError(
        f"{path}: expected a mapping of name -> value(s) or a list of mappings, "
        f"got {type(content).__name__}"
    )


def _parsed(path: Path) -> Any:
    text = path.read_text()
    if path.suffix.lower() not in (".yaml", ".yml"):
        try:
            return json.loads(text)
        except RecursionError:
            raise ValueError("not valid JSON: nested too deeply") from None
    try:
        data, _root = parse(text, path)
    except ConfigError as error:  # not YAML, a duplicate key, an alias bomb: file and line
        raise ValueError(str(error)) from None
    return data


def build_param_sets(
    options: Sequence[str], params_file: str | os.PathLike[str] | None
) -> list[dict[str, Any]]:
    """Combine a parameter file's sets with the grid of ``--param`` options (which win).

    How many sets that makes is counted first: past :data:`MAX_PARAM_SETS` nothing is built.
    """
    grid: dict[str, list[Any]] = {}
    for option in options:
        name, values = parse_param_option(option)
        if name in grid:
            raise UsageError(f"--param {name} is given twice; list all its values in one option")
        grid[name] = values
    base, file_grid = _read_params_file(params_file) if params_file else ([{}], {})
    factors = [len(base)] if len(base) != 1 else []
    factors += [*grid_shape(file_grid), *grid_shape(grid)]
    size = math.prod(factors)
    if size > MAX_PARAM_SETS:
        raise UsageError(
            f"the parameters span {size} sets ({' x '.join(map(str, factors))}); allowed: at "
            f"most {MAX_PARAM_SETS} simulations per ensemble: split the sweep into "
            "smaller ones"
        )
    sets = [
        {**fixed, **from_file, **combo}
        for fixed in base
        for from_file in iter_grid(file_grid)
        for combo in iter_grid(grid)
    ]
    if sets == [{}]:
        raise UsageError("no parameters given; use --param NAME=VALUES or --params-file FILE")
    return sets
