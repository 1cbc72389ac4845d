"""Turn a damaris section (plain dicts, YAML key names) into the typed :class:`Config`.

Both loaders end here: the YAML loader hands over what it parsed, the XML loader what it
translated from elements and attributes. So the schema check, the conversions (flags, paths,
dimension lists, ghosts) and every cross-check (layouts, scripts, parameters in expressions,
duplicate names, every layout evaluated against the initial parameter values, the buffer
split) are decided once, and errors are located through the loader's
:class:`~damaris_ref.core.config.errors.Locator`. Every check is linear in the size of the section.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..data import dtype_of
from .buffer import known_clients_per_node, share_problem
from .errors import ConfigError, Locator, echo, unknown
from .evaluation import block_shape, parameter_problem
from .expressions import names_in, split_dimensions
from .model import Architecture, Config, Layout, Parameter, PyScript, Variable
from .overrides import RANKS_PER_NODE_VARIABLE, apply_environment
from .schema import check_section

_FLAGS = {"yes": True, "true": True, "no": False, "false": False}
_GHOST = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")
DEFAULT_SIMULATION_NAME = "simulation"

KeyPath = tuple[str | int, ...]


def build_config(
    section: Mapping[str, Any],
    where: Locator,
    source: Path | None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate ``section`` and build the :class:`Config` it describes.

    ``source`` is the config file (relative ``file``/``scheduler_file`` paths are joined to its
    folder and the simulation name defaults to its stem); None for text with no file.
    ``environ`` may override ``ranks_per_node`` (:func:`apply_environment`) before the buffer
    split is checked.
    """
    check_section(section, where)
    folder = source.absolute().parent if source is not None else None
    parameters = tuple(
        _parameter(n, s, p, where) for n, s, p in _named(section, "parameters", where)
    )
    declared = {p.name: p for p in parameters}
    layout_paths: dict[str, KeyPath] = {}
    layouts = []
    for name, spec, path in _named(section, "layouts", where):
        layouts.append(_layout(name, spec, path, where, declared))
        layout_paths[name] = path
    pyscripts = tuple(
        _pyscript(s, p, where, folder) for _, s, p in _named(section, "pyscript", where)
    )
    script_names = dict.fromkeys(x.name for x in pyscripts)  # ordered, for the messages
    variables = tuple(
        _variable(n, s, p, where, layout_paths, script_names)
        for n, s, p in _named(section, "variables", where)
    )
    default_name = source.stem if source is not None else DEFAULT_SIMULATION_NAME
    config = Config(
        simulation_name=section.get("simulation_name", default_name),
        architecture=_architecture(section.get("architecture", {})),
        parameters=parameters,
        layouts=tuple(layouts),
        variables=variables,
        pyscripts=pyscripts,
        source=source,
    )
    _evaluate_layouts(config, layout_paths, where)
    applied = apply_environment(config, environ or {})
    _check_buffer_split(applied.architecture, where, applied is not config)
    return applied


def _evaluate_layouts(config: Config, paths: Mapping[str, KeyPath], where: Locator) -> None:
    """Every layout, evaluated against the initial parameter values, must give a usable block."""
    values = {p.name: p.value for p in config.parameters}
    for layout in config.layouts:
        try:
            block_shape(layout, values, config.architecture.buffer_size)
        except ConfigError as exc:  # not located yet: its layout key says where
            raise where.error((*paths[layout.name], exc.key or "dimensions"), str(exc)) from None


def _check_buffer_split(arch: Architecture, where: Locator, from_environment: bool) -> None:
    """When the configuration says how many clients share a node, each must get a page."""
    clients = known_clients_per_node(arch)
    problem = None if clients is None else share_problem(arch.buffer_size, clients)
    if problem is not None:
        source = RANKS_PER_NODE_VARIABLE if from_environment else "architecture.ranks_per_node"
        raise where.error(
            ("architecture", "buffer", "size"),
            f"{problem}; a node's {arch.ranks_per_node} ranks ({source}) less its "
            f"{arch.dedicated_cores} dedicated core(s) make {clients} clients",
        )


def _named(
    section: Mapping[str, Any], key: str, where: Locator
) -> Iterator[tuple[str, Mapping[str, Any], KeyPath]]:
    """``(name, spec, path)`` of each entry of a mapping-or-list section, refusing duplicates."""
    entries = section.get(key, [])
    items: list[tuple[str, Mapping[str, Any], KeyPath]]
    if isinstance(entries, Mapping) and key == "pyscript":  # one pyscript, not a list
        items = [(entries["name"], entries, (key,))]
    elif isinstance(entries, Mapping):
        items = [(name, spec, (key, name)) for name, spec in entries.items()]
    else:
        items = [(spec["name"], spec, (key, i)) for i, spec in enumerate(entries)]
    first: dict[str, KeyPath] = {}
    for name, spec, path in items:
        if spec.get("name", name) != name:
            raise where.error(
                (*path, "name"), f"name {echo(spec['name'])} differs from its key {echo(name)}"
            )
        if name in first:
            _, line = where.locate(first[name])
            raise where.error(path, f"duplicate name {echo(name)} (first declared at line {line})")
        first[name] = path
        yield name, spec, path


def _architecture(spec: Mapping[str, Any]) -> Architecture:
    dedicated = spec.get("dedicated", {})
    buffer = spec.get("buffer", {})
    queue = spec.get("queue", {})
    given = {
        "domains": spec.get("domains"),
        "dedicated_cores": dedicated.get("core"),
        "dedicated_nodes": dedicated.get("node"),
        "buffer_name": buffer.get("name"),
        "buffer_size": buffer.get("size"),
        "queue_name": queue.get("name"),
        "queue_size": queue.get("size"),
        "ranks_per_node": spec.get("ranks_per_node"),
    }
    return Architecture(**{k: v for k, v in given.items() if v is not None})


def _parameter(name: str, spec: Mapping[str, Any], path: KeyPath, where: Locator) -> Parameter:
    value = spec["value"]
    if dtype_of(spec["type"]).kind in "iu":
        if not isinstance(value, int):
            raise where.error(
                (*path, "value"),
                f"invalid value {echo(value)} for a parameter of type {spec['type']!r}; "
                "allowed: an integer",
            )
        problem = parameter_problem(spec["type"], value)
        if problem is not None:
            raise where.error((*path, "value"), problem)
    else:
        value = _finite(spec, "value", path, where, "a finite number", f"type {spec['type']!r}")
    return Parameter(name=name, type=spec["type"], value=value)


def _finite(
    spec: Mapping[str, Any],
    key: str,
    parent: KeyPath,
    where: Locator,
    allowed: str,
    kind: str = "a float",
) -> float:
    """``spec[key]`` (``spec`` is at ``parent``) as a float, refusing what no float holds (a
    400-digit integer) and NaN and infinity, which pass the schema (no comparison refuses NaN)
    but mean nothing where the reference uses a number."""
    path = (*parent, key)
    value = spec[key]
    try:
        number = float(value)
    except OverflowError:
        raise where.error(
            path, f"value {echo(value)} overflows {kind}; allowed: {allowed}"
        ) from None
    if not math.isfinite(number):
        raise where.error(path, f"invalid value {number}; allowed: {allowed}")
    return number


def _layout(
    name: str, spec: Mapping[str, Any], path: KeyPath, where: Locator, declared: Collection[str]
) -> Layout:
    dimensions = _dimensions(spec["dimensions"], (*path, "dimensions"), where, declared)
    global_dimensions = None
    if "global" in spec:
        global_dimensions = _dimensions(spec["global"], (*path, "global"), where, declared)
        _same_count(global_dimensions, spec["global"], dimensions, (*path, "global"), where)
    ghosts = None
    if "ghosts" in spec:
        ghosts = _ghosts(spec["ghosts"], (*path, "ghosts"), where)
        _same_count(ghosts, spec["ghosts"], dimensions, (*path, "ghosts"), where)
    return Layout(
        name=name,
        type=spec["type"],
        dimensions=dimensions,
        global_dimensions=global_dimensions,
        ghosts=ghosts,
    )


def _dimensions(
    value: Any, path: KeyPath, where: Locator, declared: Collection[str]
) -> tuple[str, ...]:
    """Dimension expressions from a comma string or a list, each checked against parameters."""
    try:
        exprs = (
            split_dimensions(value)
            if isinstance(value, str)
            else tuple(str(v).strip() for v in value)
        )
    except ConfigError as exc:  # the list's syntax, not located yet
        raise where.error(path, str(exc)) from None
    for expr in exprs:
        try:
            parameters = sorted(names_in(expr))
        except ConfigError as exc:  # the expression's syntax, not located yet
            raise where.error(path, str(exc)) from None
        for parameter in parameters:
            if parameter not in declared:
                raise where.error(
                    path, f"expression {echo(expr)}: {unknown('parameter', parameter, declared)}"
                )
    return exprs


def _ghosts(value: Any, path: KeyPath, where: Locator) -> tuple[tuple[int, int], ...]:
    parts = value.split(",") if isinstance(value, str) else value
    ghosts = []
    for part in parts:
        match = _GHOST.match(part)
        if match is None:
            raise where.error(
                path,
                f"invalid value {echo(value)}: {echo(part)} is not a ghost zone; "
                "allowed: 'lo:hi' with integers >= 0, one per dimension",
            )
        ghosts.append((int(match[1]), int(match[2])))
    return tuple(ghosts)


def _same_count(
    items: tuple[object, ...],
    value: Any,
    dimensions: tuple[str, ...],
    path: KeyPath,
    where: Locator,
) -> None:
    if len(items) != len(dimensions):
        raise where.error(
            path,
            f"invalid value {echo(value)}: {len(items)} entries for the {len(dimensions)} "
            f"dimension(s) {echo(','.join(dimensions))}; allowed: exactly one entry per dimension",
        )


def _variable(
    name: str,
    spec: Mapping[str, Any],
    path: KeyPath,
    where: Locator,
    layouts: Collection[str],
    scripts: Collection[str],
) -> Variable:
    if spec["layout"] not in layouts:
        raise where.error((*path, "layout"), unknown("layout", spec["layout"], layouts))
    script = spec.get("script") or None
    if script is not None and script not in scripts:
        raise where.error((*path, "script"), unknown("pyscript", script, scripts))
    return Variable(
        name=name,
        layout=spec["layout"],
        time_varying=_flag(spec.get("time_varying", True)),
        script=script,
        mesh=spec.get("mesh"),
        centering=spec.get("centering"),
    )


#: what a pyscript's times may be (the schema states the bounds; NaN and infinity pass it)
_FINITE_TIMES = {"timeout": "a finite number > 0", "watchdog": "a finite number >= 0 (0: never)"}


def _pyscript(
    spec: Mapping[str, Any], path: KeyPath, where: Locator, folder: Path | None
) -> PyScript:
    given: dict[str, Any] = {"name": spec["name"], "file": _path(spec["file"], folder)}
    if spec.get("scheduler_file"):
        given["scheduler_file"] = _path(spec["scheduler_file"], folder)
    for key in ("frequency", "nthreads"):
        if key in spec:
            given[key] = spec[key]
    if "keep_workers" in spec:
        given["keep_workers"] = _flag(spec["keep_workers"])
    for key, allowed in _FINITE_TIMES.items():
        if key in spec:
            given[key] = _finite(spec, key, path, where, allowed)
    return PyScript(**given)


def _flag(value: bool | str) -> bool:
    """A schema-checked yes/no value (``True``, ``"no"``, ``"true"``...) as a bool."""
    return value if isinstance(value, bool) else _FLAGS[value]


def _path(text: str, folder: Path | None) -> Path:
    path = Path(text)
    return path if folder is None or path.is_absolute() else folder / path
