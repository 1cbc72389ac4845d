"""Read a ``pdi.plugins.damaris`` section written in the grammar of PDI's Damaris plugin.

The plugin (pdidev/pdi at 78806cfd) has keys of its own: list entries wrapped in a one-key
mapping (``- parameter: {...}``), ``architecture.sim_name``/``buffer_size``, ``datasets``,
``pyscript.keep_workers_`` and runtime keys (``write``, ``parameter_get``...). This module
translates such a section into the compact section :func:`~.build.build_config` validates, so
every check and message of the compact form applies, and a locator maps each compact key path
back to the key the user wrote. What acts only at run time is returned as a
:class:`PdiRuntime` for ``damaris_ref.pdi``. Where the reference departs from the plugin on
purpose is listed in docs/specification.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from ..data import dtype_of
from . import pdi_expressions
from .build import build_config
from .errors import ConfigError, Locator, echo, listing, unknown
from .model import Config
from .yaml_tree import KeyPath, YamlLocator, display, line_of, parse

#: the plugin's simulation name when ``architecture.sim_name`` is absent
DEFAULT_SIMULATION_NAME = "damaris_pdi_simu"
#: the queue every configuration the plugin generates declares
PLUGIN_QUEUE = {"name": "queue", "size": 300}
#: the plugin version whose grammar this module reads
PLUGIN_VERSION = "pdidev/pdi Damaris plugin at 78806cfd (pull request #693)"

_PDI_PATH = ("pdi", "plugins", "damaris")
_EVENT_KEYS = {
    "init_on_event": "init",
    "on_init": "init",
    "start_on_event": "start",
    "end_iteration_on_event": "end_iteration",
    "stop_on_event": "stop",
    "finalize_on_event": "finalize",
    "on_finalize": "finalize",
}
_IS_CLIENT_KEYS = ("start", "get_is_client", "is_client_get")
_RUNTIME_KEYS = (
    "communicator",
    *_EVENT_KEYS,
    "write",
    "parameter_get",
    "parameter_set",
    "after_write",
    *_IS_CLIENT_KEYS,
    "client_comm_get",
)
#: read by the plugin, but the reference has nothing they would drive
_WARNED_KEYS = {
    "storages": "the reference stores no files",
    "meshes": "the reference keeps no mesh descriptions",
    "paraview": "the reference has no ParaView coupling",
}
_SECTION_KEYS = ("architecture", "parameters", "datasets", "layouts", "pyscript")
_TOP_KEYS = (*_SECTION_KEYS, *_RUNTIME_KEYS, *_WARNED_KEYS, "log")
_ARCHITECTURE_KEYS = ("sim_name", "domains", "buffer_size", "placement", "dedicated")
#: a reference extension the plugin ignores silently (unknown architecture keys are skipped)
_ARCHITECTURE_EXTENSIONS = ("ranks_per_node",)
_DEDICATED_KEYS = ("core", "node")
_PARAMETER_KEYS = ("name", "type", "value", "depends_on")
_DATASET_KEPT = ("name", "layout", "script", "time_varying", "mesh", "centering")
_DATASET_IGNORED = (
    "type",
    "storage",
    "unit",
    "select_mem",
    "select_file",
    "select_subset",
    "ref",
    "comment",
)
_DATASET_FLAGS = ("visualizable", "enabled")
_DATASET_KEYS = (*_DATASET_KEPT, *_DATASET_IGNORED, *_DATASET_FLAGS)
_LAYOUT_KEPT = ("name", "type", "dimensions", "global", "ghosts")
_LAYOUT_KEYS = (*_LAYOUT_KEPT, "language", "visualizable", "comment", "depends_on")
#: the layout key a generated ``_dim<i>``/``_global<i>`` parameter comes from
_LAYOUT_KEY = {"dim": "dimensions", "global": "global"}
_PYSCRIPT_KEPT = ("name", "file", "scheduler_file", "frequency", "nthreads", "timeout")
_PYSCRIPT_IGNORED = ("execution", "language", "scope", "comment")
#: ``watchdog`` is a reference extension; the plugin prints a line for it and goes on
_PYSCRIPT_KEYS = (
    *_PYSCRIPT_KEPT,
    *_PYSCRIPT_IGNORED,
    "external",
    "keep_workers",
    "keep_workers_",
    "watchdog",
)
_WRITE_KEYS = ("dataset", "when", "position", "block")
#: the boolean spellings the plugin understands (PC_bool), beside YAML's own booleans
_PDI_BOOLEANS = {
    **dict.fromkeys(("True", "true", "TRUE", "Yes", "yes", "YES"), True),
    **dict.fromkeys(("False", "false", "FALSE", "No", "no", "NO"), False),
}
#: keys only the compact form has, and keys only the plugin has, for telling the forms apart
_COMPACT_ONLY = ("simulation_name", "variables")
_SHARED_KEYS = ("architecture", "parameters", "layouts", "pyscript")
_COMPACT_ARCHITECTURE = ("buffer", "queue")
_PLUGIN_ARCHITECTURE = ("sim_name", "buffer_size", "placement")


@dataclass(frozen=True)
class ParameterUpdate:
    """A Damaris parameter whose value is a PDI ``$``-expression, evaluated at run time."""

    parameter: str
    expression: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class WriteEntry:
    """One entry of the plugin's ``write:`` section: which exposed datum goes where."""

    data: str
    dataset: str
    when: str = "1"
    position: tuple[str, ...] = ("0",)
    block: str = "0"


@dataclass(frozen=True)
class PdiRuntime:
    """Everything of the plugin section that acts only at run time (PDI events and data)."""

    parameter_updates: tuple[ParameterUpdate, ...] = ()
    writes: tuple[WriteEntry, ...] = ()
    parameter_get: tuple[tuple[str, str], ...] = ()
    parameter_set: tuple[tuple[str, str], ...] = ()
    after_write: tuple[str, ...] = ("damaris_end_iteration",)
    is_client_data: str | None = None
    client_comm_data: str | None = None
    events: Mapping[str, str] = field(default_factory=dict)
    communicator: str = "MPI_COMM_WORLD"


@dataclass(frozen=True)
class PdiConfig:
    """A loaded PDI specification tree: the Damaris configuration and its runtime part."""

    config: Config
    runtime: PdiRuntime


def load_pdi_text(
    text: str, source: Path | None = None, environ: Mapping[str, str] | None = None
) -> PdiConfig:
    """Load a PDI specification: a whole file with a top-level ``pdi:`` key, or the tree
    under it (what PDI's Python ``init`` is given). The damaris section may use the plugin's
    grammar or the compact one; ``source`` and ``environ`` (default ``os.environ``) as for
    ``load_config_text``.
    """
    file = source if source is not None else "<pdi text>"
    data, root = parse(text, file)
    prefix: KeyPath = _PDI_PATH if isinstance(data, Mapping) and "pdi" in data else _PDI_PATH[1:]
    section: Any = data
    for end, key in enumerate(prefix, start=1):
        if not isinstance(section, Mapping) or key not in section:
            raise ConfigError(
                f"no {display(prefix[:end])} section; a PDI specification needs "
                "plugins: {damaris: ...} (under a top-level pdi: key in a file)",
                file=file,
                path=display(prefix[: end - 1]),
                line=line_of(root, prefix[: end - 1]),
            )
        section = section[key]
    tree = data["pdi"] if prefix == _PDI_PATH else data
    return load_section(
        section,
        root,
        prefix,
        source,
        os.environ if environ is None else environ,
        metadata=tree.get("metadata"),
    )


def load_section(
    section: Any,
    root: Node | None,
    prefix: KeyPath,
    source: Path | None,
    environ: Mapping[str, str] | None,
    *,
    metadata: Any = None,
    static: bool = False,
) -> PdiConfig:
    """Build a damaris ``section`` found at ``prefix`` in the document ``root``, in either form.

    ``metadata`` is PDI's own ``metadata:`` section of the same tree (None when absent): when
    given, every ``depends_on`` must name one of its keys. ``static`` (what the executables ask
    for) refuses parameters whose values are PDI expressions: only ``damaris_ref.pdi`` has the
    metadata to evaluate them.
    """
    where = PluginLocator(source if source is not None else "<pdi text>", prefix, root)
    if not uses_plugin_grammar(section, where):
        return PdiConfig(build_config(section, where, source, environ), PdiRuntime())
    declared = _declared_metadata(metadata, where, (*prefix[:-2], "metadata"))
    loaded = _Translation(section, where, declared).load(source, environ)
    if static and loaded.runtime.parameter_updates:
        update = loaded.runtime.parameter_updates[0]
        index = [p.name for p in loaded.config.parameters].index(update.parameter)
        raise where.error(
            ("parameters", index, "value"),
            f"parameter {update.parameter!r} takes its value from the PDI expression "
            f"{echo(update.expression)} over metadata {', '.join(update.depends_on)}; allowed "
            "here: numbers only. Run the simulation through damaris_ref.pdi, which evaluates "
            "the expression from the metadata it exposes",
        )
    return loaded


def _declared_metadata(metadata: Any, where: PluginLocator, path: KeyPath) -> frozenset[str] | None:
    """The names PDI's ``metadata:`` section declares (None when it is absent or empty)."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise ConfigError(
            f"invalid value {echo(metadata)}; allowed: a mapping from metadata name to type",
            file=where.file,
            path=display(path),
            line=line_of(where.root, path),
        )
    return frozenset(str(name) for name in metadata)


def uses_plugin_grammar(section: Any, where: Locator) -> bool:
    """True when ``section`` is written in the plugin's grammar; a mix of forms is an error."""
    if not isinstance(section, Mapping):
        return False
    plugin, compact = _form_markers(section)
    if plugin and compact:
        raise where.error(
            compact[0][1],
            f"mixes the compact form ({listing(k for k, _ in compact)}) with the PDI plugin's "
            f"form ({listing(k for k, _ in plugin)}); allowed: one form per damaris section "
            "(see docs/config.md)",
        )
    return bool(plugin)


def _form_markers(
    section: Mapping[str, Any],
) -> tuple[list[tuple[str, KeyPath]], list[tuple[str, KeyPath]]]:
    """The keys and entries that only the plugin's form, or only the compact form, has."""
    Marks = list[tuple[str, KeyPath]]
    plugin: Marks = [(k, (k,)) for k in section if k in _TOP_KEYS and k not in _SHARED_KEYS]
    compact: Marks = [(k, (k,)) for k in _COMPACT_ONLY if k in section]
    arch = section.get("architecture")
    if isinstance(arch, Mapping):
        plugin += [(k, ("architecture", k)) for k in _PLUGIN_ARCHITECTURE if k in arch]
        compact += [(k, ("architecture", k)) for k in _COMPACT_ARCHITECTURE if k in arch]
    for key in ("parameters", "layouts"):
        entries = section.get(key)
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping) and "name" in entry:
                    compact.append((f"{key}[{i}].name", (key, i, "name")))
                elif _is_wrapper(entry):
                    plugin.append((f"{key}[{i}] wrapper", (key, i)))
    script = section.get("pyscript")
    if isinstance(script, Mapping) and "keep_workers_" in script:
        plugin.append(("keep_workers_", ("pyscript", "keep_workers_")))
    return plugin, compact


def _is_wrapper(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and bool(entry)
        and all(isinstance(v, Mapping) for v in entry.values())
    )


class PluginLocator(YamlLocator):
    """Maps a compact key path back to the key written in the file, and finds its line.

    ``renames`` holds compact path prefixes and the file's path they came from; the longest
    matching prefix wins and the rest of the path is kept. With no renames it is the plain
    YAML locator.
    """

    def __init__(self, file: str | Path, prefix: KeyPath, root: Node | None) -> None:
        super().__init__(file, prefix, root)
        self.renames: dict[KeyPath, KeyPath] = {}

    def original(self, path: KeyPath) -> KeyPath:
        """The path in the file that the compact ``path`` was translated from."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.renames:
                return self.renames[path[:end]] + tuple(path[end:])
        return tuple(path)

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        return super().locate(self.original(path))

    def at(self, path: KeyPath, message: str) -> ConfigError:
        """A :class:`ConfigError` at ``path`` as written in the file (no renaming)."""
        full = self.prefix + path
        return ConfigError(
            message, file=self.file, path=display(full), line=line_of(self.root, full)
        )


class _Translation:
    """One plugin-form section, translated into a compact section plus its runtime part."""

    def __init__(
        self, section: Mapping[str, Any], where: PluginLocator, metadata: frozenset[str] | None
    ) -> None:
        self.section = section
        self.where = where
        self.metadata = metadata
        self.compact: dict[str, Any] = {}
        self.parameters: list[dict[str, Any]] = []
        self.layouts: list[dict[str, Any]] = []
        self.variables: list[dict[str, Any]] = []
        self.updates: list[ParameterUpdate] = []

    def load(self, source: Path | None, environ: Mapping[str, str] | None) -> PdiConfig:
        """The :class:`PdiConfig` of the section (each problem a located ConfigError)."""
        self._check_top_keys()
        self._architecture(self._mapping(("architecture",)))
        for key in self.section:  # document order, as the plugin fills <data>
            if key == "parameters":
                for entry, path in self._entries(key, "parameter"):
                    self._parameter(entry, path)
            elif key == "layouts":
                for entry, path in self._entries(key, "layout"):
                    self._layout(entry, path)
            elif key == "datasets":
                for entry, path in self._entries(key, "dataset"):
                    self._dataset(entry, path)
        self.compact.update(
            parameters=self.parameters, layouts=self.layouts, variables=self.variables
        )
        if self.section.get("pyscript") is not None:
            self.compact["pyscript"] = self._pyscript()
        config = build_config(self.compact, self.where, source, environ)
        return PdiConfig(config, self._runtime(config))

    # -- shape helpers ------------------------------------------------------------------------

    def _mapping(self, path: KeyPath) -> Mapping[str, Any]:
        value: Any = self.section
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.where.at(path, f"invalid value {echo(value)}; allowed: a mapping")
        return value

    def _keys(
        self, spec: Mapping[str, Any], path: KeyPath, keys: tuple[str, ...], kind: str
    ) -> None:
        for key in spec:
            if key not in keys:
                raise self.where.at((*path, key), unknown(f"{kind} key", key, keys))

    def _entries(self, key: str, wrapper: str) -> list[tuple[dict[str, Any], KeyPath]]:
        """The entries of a wrapped list (``- parameter: {...}``), each with its file path."""
        entries = self.section[key]
        if entries is None:
            return []
        if isinstance(entries, Mapping):  # the plugin also takes one entry without a list
            entries = [entries]
            paths: list[KeyPath] = [(key,)]
        elif isinstance(entries, list):
            paths = [(key, i) for i in range(len(entries))]
        else:
            raise self.where.at(
                (key,), f"invalid value {echo(entries)}; allowed: a list of '- {wrapper}:' entries"
            )
        found = []
        for entry, path in zip(entries, paths, strict=True):
            if not isinstance(entry, Mapping) or len(entry) != 1:
                count = f"{len(entry)} keys" if isinstance(entry, Mapping) else echo(entry)
                raise self.where.at(
                    path,
                    f"invalid list entry ({count}); allowed: one wrapper key holding one "
                    f"{wrapper}, as in '- {wrapper}: {{name: ...}}'",
                )
            ((name, spec),) = entry.items()
            if not isinstance(spec, Mapping):
                raise self.where.at(
                    (*path, name),
                    f"invalid value {echo(spec)}; allowed: a mapping of {wrapper} keys",
                )
            found.append((dict(spec), (*path, name)))
        return found

    def _flag(self, value: Any, path: KeyPath) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in _PDI_BOOLEANS:
            return _PDI_BOOLEANS[value]
        raise self.where.at(
            path,
            f"invalid value {echo(value)}; allowed: true/false or yes/no "
            "(also spelled True, TRUE, Yes, YES, False, FALSE, No, NO)",
        )

    # -- sections ------------------------------------------------------------------------------

    def _check_top_keys(self) -> None:
        """Keys the plugin does not read are skipped, as it skips them, but never silently."""
        for key in self.section:
            if key not in _TOP_KEYS:
                here = self.where.at((key,), "")
                _warn(
                    f"{here.file}:{here.line}: {here.path}: {unknown('key', key, _TOP_KEYS)}; "
                    "ignored, as the plugin ignores keys it does not read at this level"
                )
        warned = [k for k in _WARNED_KEYS if k in self.section]
        if warned:
            first = self.where.at((warned[0],), "")
            why = "; ".join(_WARNED_KEYS[k] for k in warned)
            _warn(
                f"{first.file}:{first.line}: {', '.join(map(repr, warned))} ignored ({why}); "
                "the data still reach the pyscripts"
            )

    def _architecture(self, arch: Mapping[str, Any]) -> None:
        path: KeyPath = ("architecture",)
        self._keys(arch, path, (*_ARCHITECTURE_KEYS, *_ARCHITECTURE_EXTENSIONS), "architecture")
        dedicated = self._mapping((*path, "dedicated"))
        self._keys(dedicated, (*path, "dedicated"), _DEDICATED_KEYS, "dedicated")
        name = arch.get("sim_name", DEFAULT_SIMULATION_NAME)
        compact: dict[str, Any] = {
            "buffer": {"name": f"{name}_buffer"},
            "queue": dict(PLUGIN_QUEUE),
        }
        self.where.renames[("simulation_name",)] = (*path, "sim_name")
        self.where.renames[("architecture", "buffer")] = (*path, "buffer_size")
        self.where.renames[("architecture", "buffer", "size")] = (*path, "buffer_size")
        if "buffer_size" in arch:
            compact["buffer"]["size"] = arch["buffer_size"]
        for key in ("domains", "ranks_per_node"):
            if key in arch:
                compact[key] = arch[key]
        if dedicated:
            compact["dedicated"] = dict(dedicated)
        self.compact["simulation_name"] = name
        self.compact["architecture"] = compact

    def _parameter(self, spec: dict[str, Any], path: KeyPath) -> None:
        self._keys(spec, path, _PARAMETER_KEYS, "parameter")
        self.where.renames[("parameters", len(self.parameters))] = path
        depends_on = spec.pop("depends_on", None)
        value = spec.get("value")
        if depends_on is not None:
            names = self._depends_on(depends_on, (*path, "depends_on"))
            if value is None:
                raise self.where.at(
                    path,
                    "depends_on needs a value: the PDI expression computed from that metadata, "
                    "as in value: '$dsize[0]*2'",
                )
            self._expression(value, (*path, "value"))
            self.updates.append(ParameterUpdate(str(spec.get("name")), str(value), names))
            spec["value"] = self._placeholder(spec.get("type"))
        elif isinstance(value, str):
            spec["value"] = self._number(value, (*path, "value"))
        self.parameters.append(spec)

    def _number(self, text: str, path: KeyPath) -> Any:
        """A parameter value given as text (PDI passes values verbatim): its number."""
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
        if "$" in text:
            raise self.where.at(
                path,
                f"value {echo(text)} is a PDI expression; allowed: a number, or an expression "
                "with depends_on naming the metadata it reads (evaluated by damaris_ref.pdi)",
            )
        return text  # not a number: the schema check words the error

    @staticmethod
    def _placeholder(type_name: Any) -> int | float:
        """The value a ``depends_on`` parameter has until its expression is evaluated."""
        try:
            return 1.0 if dtype_of(str(type_name)).kind == "f" else 1
        except ValueError:
            return 1  # an unknown type: the schema check words the error

    def _depends_on(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        """The metadata names of a ``depends_on``, each declared in ``pdi.metadata`` if given."""
        names = self._names(value, path)
        if self.metadata is not None:
            for i, name in enumerate(names):
                if name not in self.metadata:
                    where = (*path, i) if isinstance(value, list) else path
                    raise self.where.at(
                        where,
                        f"{unknown('metadata', name, sorted(self.metadata))}: depends_on "
                        "names metadata that pdi.metadata declares",
                    )
        return names

    def _expression(self, text: Any, path: KeyPath) -> None:
        """Refuse an expression outside the subset now; its value comes at run time."""
        try:
            pdi_expressions.parse(str(text))
        except ConfigError as error:
            raise self.where.at(path, str(error)) from None

    def _names(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise self.where.at(
                path, f"invalid value {echo(value)}; allowed: a metadata name or a list of names"
            )
        return tuple(names)

    def _layout(self, spec: dict[str, Any], path: KeyPath) -> None:
        self._keys(spec, path, _LAYOUT_KEYS, "layout")
        if "visualizable" in spec:
            self._flag(spec["visualizable"], (*path, "visualizable"))
        layout = {k: spec[k] for k in _LAYOUT_KEPT if k in spec}
        if isinstance(layout.get("ghosts"), list):
            layout["ghosts"] = [str(g) for g in layout["ghosts"]]
        if "depends_on" in spec:
            self._expand_depends_on(layout, spec["depends_on"], path)
        self.where.renames[("layouts", len(self.layouts))] = path
        self.layouts.append(layout)

    def _expand_depends_on(self, layout: dict[str, Any], depends_on: Any, path: KeyPath) -> None:
        """As the plugin does: each dimension (and global extent) becomes an int parameter
        ``<layout>_dim<i>`` (``_global<i>``) holding its expression, 1 until evaluated."""
        names = self._depends_on(depends_on, (*path, "depends_on"))
        name = layout.get("name")
        if not isinstance(name, str) or "dimensions" not in layout:
            raise self.where.at(
                (*path, "depends_on"),
                "depends_on needs the layout's name and dimensions (missing); allowed: a layout "
                "with name, type and dimensions",
            )
        dims = self._split(layout["dimensions"])
        extents = self._split(layout["global"]) if "global" in layout else None
        if extents is not None and len(extents) != len(dims):
            raise self.where.at(
                (*path, "global"),
                f"invalid value {echo(layout['global'])}: {len(extents)} entries for "
                f"{len(dims)} dimension(s); allowed: exactly one entry per dimension",
            )
        generated: dict[str, list[str]] = {"dim": [], "global": []}
        for i, dim in enumerate(dims):
            pairs = [("dim", dim)] + ([("global", extents[i])] if extents is not None else [])
            for kind, expression in pairs:
                key = _LAYOUT_KEY[kind]
                written = (*path, key, i) if isinstance(layout[key], list) else (*path, key)
                self._expression(expression, written)
                parameter = f"{name}_{kind}{i}"
                index = len(self.parameters)
                self.where.renames[("parameters", index)] = (*path, "depends_on")
                self.where.renames[("parameters", index, "value")] = (*path, key)
                self.parameters.append({"name": parameter, "type": "int", "value": 1})
                self.updates.append(ParameterUpdate(parameter, expression, names))
                generated[kind].append(parameter)
        layout["dimensions"] = generated["dim"]
        if extents is not None:
            layout["global"] = generated["global"]

    @staticmethod
    def _split(value: Any) -> list[str]:
        """Dimension entries as the plugin splits them: list items, or text split on ','."""
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items]

    def _dataset(self, spec: dict[str, Any], path: KeyPath) -> None:
        self._keys(spec, path, _DATASET_KEYS, "dataset")
        for key in ("time_varying", *_DATASET_FLAGS):
            if key in spec:
                spec[key] = self._flag(spec[key], (*path, key))
        if not spec.get("enabled", True):
            return
        variable = {k: spec[k] for k in _DATASET_KEPT if k in spec}
        if variable.get("script") is None:
            variable.pop("script", None)
        self.where.renames[("variables", len(self.variables))] = path
        self.variables.append(variable)

    def _pyscript(self) -> dict[str, Any]:
        path: KeyPath = ("pyscript",)
        spec = self.section["pyscript"]
        if not isinstance(spec, Mapping):
            given = f"a list of {len(spec)}" if isinstance(spec, list) else echo(spec)
            raise self.where.at(
                path,
                f"invalid value: {given}; allowed: one mapping "
                "(the plugin reads a single pyscript)",
            )
        self._keys(spec, path, _PYSCRIPT_KEYS, "pyscript")
        if "keep_workers" in spec and "keep_workers_" in spec:
            raise self.where.at(
                (*path, "keep_workers_"),
                "both keep_workers and keep_workers_ are given; allowed: one of them "
                "(they are the same setting)",
            )
        if "external" in spec:
            self._flag(spec["external"], (*path, "external"))
        script = {k: spec[k] for k in _PYSCRIPT_KEPT if k in spec and spec[k] is not None}
        for key in ("keep_workers", "keep_workers_"):
            if key in spec:
                script["keep_workers"] = self._flag(spec[key], (*path, key))
                self.where.renames[("pyscript", "keep_workers")] = (*path, key)
        if "watchdog" in spec:
            script["watchdog"] = spec["watchdog"]
        return script

    # -- runtime --------------------------------------------------------------------------------

    def _runtime(self, config: Config) -> PdiRuntime:
        events: dict[str, str] = {}
        event_paths: dict[str, str] = {}
        for key, event in _EVENT_KEYS.items():
            if key in self.section:
                if event in events:
                    raise self.where.at(
                        (key,),
                        f"{key} repeats {event_paths[event]}; allowed: one of them",
                    )
                events[event] = self._text(key)
                event_paths[event] = key
        after = self.section.get("after_write")
        after_write = list(self._names(after, ("after_write",))) if after is not None else []
        if "end_iteration" not in events and "damaris_end_iteration" not in after_write:
            after_write.append("damaris_end_iteration")
        is_client = [k for k in _IS_CLIENT_KEYS if k in self.section]
        if len(is_client) > 1:
            raise self.where.at(
                (is_client[1],), f"{is_client[1]} repeats {is_client[0]}; allowed: one of them"
            )
        parameters = {p.name for p in config.parameters}
        return PdiRuntime(
            parameter_updates=tuple(self.updates),
            writes=self._writes(config),
            parameter_get=self._parameter_links("parameter_get", parameters),
            parameter_set=self._parameter_links("parameter_set", parameters),
            after_write=tuple(after_write),
            is_client_data=self._text(is_client[0]) if is_client else None,
            client_comm_data=self._text("client_comm_get")
            if "client_comm_get" in self.section
            else None,
            events=events,
            communicator=self._text("communicator")
            if "communicator" in self.section
            else "MPI_COMM_WORLD",
        )

    def _text(self, key: str) -> str:
        value = self.section[key]
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise self.where.at((key,), f"invalid value {echo(value)}; allowed: a name")
        return str(value)

    def _writes(self, config: Config) -> tuple[WriteEntry, ...]:
        spec = self.section.get("write")
        if spec is None:
            return ()
        if not isinstance(spec, Mapping):
            raise self.where.at(
                ("write",),
                f"invalid value {echo(spec)}; allowed: a mapping from data name to "
                "{dataset, when, position, block}",
            )
        variables = [v.name for v in config.variables]
        writes = []
        for data, entry in spec.items():
            path: KeyPath = ("write", data)
            entry = self._mapping(path)
            self._keys(entry, path, _WRITE_KEYS, "write")
            dataset = str(entry.get("dataset") or data)
            if dataset not in variables:
                where = (*path, "dataset") if "dataset" in entry else path
                raise self.where.at(where, unknown("dataset to write", dataset, variables))
            position = entry.get("position", [0])
            listed = isinstance(position, list)
            position = position if listed else [position]
            if not 1 <= len(position) <= 3:
                raise self.where.at(
                    (*path, "position"),
                    f"invalid value {echo(entry['position'])}; allowed: 1 to 3 expressions",
                )
            for i, offset in enumerate(position):
                self._expression(offset, (*path, "position", i) if listed else (*path, "position"))
            for key in ("when", "block"):
                if key in entry:
                    self._expression(entry[key], (*path, key))
            writes.append(
                WriteEntry(
                    data=str(data),
                    dataset=dataset,
                    when=str(entry.get("when", "1")),
                    position=tuple(str(p) for p in position),
                    block=str(entry.get("block", "0")),
                )
            )
        return tuple(writes)

    def _parameter_links(self, key: str, parameters: set[str]) -> tuple[tuple[str, str], ...]:
        spec = self.section.get(key)
        if spec is None:
            return ()
        if isinstance(spec, Mapping):
            links = [(str(m), str(p)) for m, p in spec.items()]
            paths: list[KeyPath] = [(key, m) for m, _ in links]
        else:
            links = [(n, n) for n in self._names(spec, (key,))]
            paths = [(key, i) for i in range(len(links))]
        for (_, parameter), path in zip(links, paths, strict=True):
            if parameter not in parameters:
                raise self.where.at(path, unknown("parameter", parameter, sorted(parameters)))
        return tuple(links)


def _warn(message: str) -> None:
    """One warning line on stderr, from the first MPI rank only (or a process outside MPI)."""
    rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK") or "0"
    if rank == "0":
        print(f"[damaris-ref] warning: {message}", file=sys.stderr, flush=True)


__all__ = [
    "DEFAULT_SIMULATION_NAME",
    "PLUGIN_VERSION",
    "ParameterUpdate",
    "PdiConfig",
    "PdiRuntime",
    "WriteEntry",
    "load_pdi_text",
    "uses_plugin_grammar",
]
