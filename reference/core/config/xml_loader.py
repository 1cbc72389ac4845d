"""Load upstream Damaris XML files (spec §8) into the same section the YAML form gives.

Parsing uses ``xml.parsers.expat`` directly, through a tiny tree builder, because ElementTree
drops line numbers and every error here must name its line. Elements and attributes the
reference acts on are translated to YAML key names (``scheduler-file`` -> ``scheduler_file``,
``<dedicated cores>`` -> ``dedicated.core``, ``group/variable`` -> ``g/v``); upstream ones it
does not act on are accepted and noted once at debug level; anything else is refused with the
element path and a "did you mean". Range checks and cross-references are left to the shared
builder, which reports them through :class:`_XmlLocator` in XML terms.

Memory is linear in the text: an element keeps its parent, not its whole path (which is
spelled only for a message), and nesting deeper than :data:`MAX_DEPTH` is refused while
parsing, before the tree holds more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from .build import build_config
from .errors import ConfigError, Locator, allowed, clip, did_you_mean, echo, unknown
from .model import Config

NAMESPACE = "http://damaris.gforge.inria.fr/damaris/model"
_SCHEMA_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"

log = logging.getLogger(__name__)

KeyPath = tuple[str | int, ...]

#: elements nested deeper than this are refused: upstream's own files nest 5 levels (groups
#: inside groups add one each), so 64 leaves room for any real grouping
MAX_DEPTH = 64

#: upstream annotation attributes accepted (and ignored) on any element
_ANNOTATIONS = (
    "comment",
    "unit",
    "visualizable",
    "store",
    "language",
    "scope",
    "execution",
    "external",
)


@dataclass(frozen=True)
class _Rule:
    """What one element may hold: attributes/children acted on, and upstream ones ignored."""

    attributes: tuple[str, ...] = ()
    ignored_attributes: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    ignored_children: tuple[str, ...] = ()
    single_children: bool = False


_RULES = {
    "simulation": _Rule(
        ("name",),
        children=("architecture", "data", "scripts"),
        ignored_children=("storage", "actions", "python", "visit", "paraview", "log"),
        single_children=True,
    ),
    "architecture": _Rule(
        ("ranks-per-node",),
        ("name",),
        ("domains", "dedicated", "buffer", "queue"),
        ("placement",),
        single_children=True,
    ),
    "domains": _Rule(("count",)),
    "dedicated": _Rule(("cores", "nodes")),
    "buffer": _Rule(("name", "size"), ("type", "blocks", "enabled")),
    "queue": _Rule(("name", "size")),
    "data": _Rule(
        children=("parameter", "layout", "variable", "group"), ignored_children=("mesh", "curve")
    ),
    "group": _Rule(
        ("name", "enabled"),
        children=("layout", "variable", "group"),
        ignored_children=("mesh", "curve"),
    ),
    "parameter": _Rule(("name", "type", "value")),
    "layout": _Rule(("name", "type", "dimensions", "global", "ghosts")),
    "variable": _Rule(
        ("name", "layout", "script", "time-varying", "mesh", "centering", "enabled"), ("type",)
    ),
    "scripts": _Rule(children=("pyscript",)),
    "pyscript": _Rule(
        (
            "name",
            "file",
            "frequency",
            "scheduler-file",
            "nthreads",
            "keep-workers",
            "timeout",
            "watchdog",
        )
    ),
}

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
#: upstream's "not set" marker for optional string attributes (mesh, global, ghosts)
_UNSET = "#"


@dataclass
class _Element:
    name: str
    attributes: dict[str, str]
    line: int
    #: how the element is shown in a path: its name, with ``[name]`` below the root
    label: str
    parent: _Element | None = None
    children: list[_Element] = field(default_factory=list)

    def child(self, name: str) -> _Element | None:
        return next((c for c in self.children if c.name == name), None)

    @property
    def path(self) -> str:
        """``simulation/data/group[g]/variable[v]``, spelled when a message needs it."""
        labels = []
        element: _Element | None = self
        while element is not None:
            labels.append(element.label)
            element = element.parent
        return "/".join(reversed(labels))


class _XmlLocator(Locator):
    """Element paths (``simulation/data/layout[cells]/@dimensions``) and their lines."""

    noun = "attribute"

    def __init__(self, file: str | Path | None) -> None:
        super().__init__(file)
        self.places: dict[KeyPath, tuple[str, int]] = {}

    def key_name(self, key: str) -> str:
        return key.replace("_", "-")

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        for end in range(len(path), -1, -1):
            if path[:end] in self.places:
                display, line = self.places[path[:end]]
                rest = "".join(f"/@{self.key_name(str(k))}" for k in path[end:])
                return display + rest, line
        return "simulation", None


def load_xml_text(
    text: str, source: Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Parse upstream Damaris XML (``source`` names the file for messages and relative paths).

    ``environ`` may override ``ranks_per_node`` (see :func:`~.environment.apply_environment`).
    """
    file = source if source is not None else "<xml text>"
    reader = _Reader(file)
    section = reader.read(_parse(text, file))
    return build_config(section, reader.where, source, environ)


def _parse(text: str, file: str | Path) -> _Element:
    """A tree of elements with line numbers; only the Damaris namespace (or none) is allowed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        namespace, _, name = tag.rpartition(" ")
        parent = stack[-1] if stack else None

        def refuse(message: str) -> ConfigError:
            below = parent.path + "/" if parent is not None else ""
            return ConfigError(message, file=file, path=clip(below + name), line=line)

        if namespace not in ("", NAMESPACE):
            raise refuse(
                f"element <{clip(name)}> is in namespace {echo(namespace)}; "
                f"allowed: {NAMESPACE!r} or none"
            )
        if len(stack) == MAX_DEPTH:
            raise refuse(
                f"element <{clip(name)}> is nested {MAX_DEPTH + 1} elements deep; "
                f"allowed: at most {MAX_DEPTH}"
            )
        attributes = {}
        for key, value in attrs.items():
            attr_namespace, _, attr = key.rpartition(" ")
            if attr_namespace != _SCHEMA_INSTANCE:  # xsi:schemaLocation and friends
                attributes[attr] = value
        label = f"{name}[{attributes['name']}]" if "name" in attributes and stack else name
        element = _Element(name, attributes, line, clip(label), parent)
        (parent.children if parent is not None else roots).append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _tag: stack.pop()
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise ConfigError(
            f"not well-formed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})",
            file=file,
            line=exc.lineno,
        ) from None
    return roots[0]


class _Reader:
    """Checks elements against :data:`_RULES` and translates them to a YAML-shaped section."""

    def __init__(self, file: str | Path) -> None:
        self.where = _XmlLocator(file)
        self.noted: set[str] = set()
        self.variable_groups: list[tuple[str, ...]] = []

    def read(self, root: _Element) -> dict[str, Any]:
        if root.name != "simulation":
            raise self._error(root, "", unknown("root element", f"<{root.name}>", ["<simulation>"]))
        self._check(root)
        section: dict[str, Any] = {}
        self._take(section, (), "simulation_name", root, "name", str)
        if (architecture := root.child("architecture")) is not None:
            section["architecture"] = self._architecture(architecture)
        if (data := root.child("data")) is not None:
            for key in ("parameters", "layouts", "variables"):
                section[key] = []
            self._data(data, section, groups=(), enabled=True)
            self._resolve_layouts(section)
        if (scripts := root.child("scripts")) is not None:
            section["pyscript"] = [
                self._pyscript(element, ("pyscript", i))
                for i, element in enumerate(scripts.children)
            ]
        return section

    # -- checks -------------------------------------------------------------------------------

    def _check(self, element: _Element) -> None:
        """Refuse unknown attributes/children, note ignored ones, recurse into used children."""
        rule = _RULES[element.name]
        for attr in element.attributes:
            if attr in rule.attributes:
                continue
            if attr in rule.ignored_attributes or attr in _ANNOTATIONS:
                self._note(f"attribute {attr!r} of <{element.name}>", element)
                continue
            known = rule.attributes + rule.ignored_attributes
            raise self._error(element, "", unknown("attribute", attr, known))
        seen: dict[str, _Element] = {}
        kept = []
        for child in element.children:
            if child.name in rule.ignored_children:
                self._note(f"element <{child.name}>", child)
                continue
            if child.name not in rule.children:
                known = rule.children + rule.ignored_children
                raise self._error(
                    child,
                    "",
                    f"unknown element <{clip(child.name)}> in <{element.name}>"
                    f"{did_you_mean(child.name, known)} {allowed(known)}",
                )
            if rule.single_children and child.name in seen:
                raise self._error(
                    child,
                    "",
                    f"<{child.name}> appears twice (first at line {seen[child.name].line})",
                )
            seen[child.name] = child
            kept.append(child)
            self._check(child)
        element.children = kept

    def _note(self, what: str, element: _Element) -> None:
        if what not in self.noted:
            self.noted.add(what)
            log.debug(
                "%s:%d: %s: ignoring %s (upstream Damaris feature the reference does not use)",
                self.where.file,
                element.line,
                element.path,
                what,
            )

    def _error(self, element: _Element, attr: str, message: str) -> ConfigError:
        path = f"{element.path}/@{clip(attr)}" if attr else element.path
        return ConfigError(message, file=self.where.file, path=path, line=element.line)

    # -- translation ----------------------------------------------------------------------------

    def _take(
        self,
        target: dict[str, Any],
        path: KeyPath,
        key: str,
        element: _Element,
        attr: str,
        convert: Callable[[str], Any],
    ) -> None:
        """Copy attribute ``attr`` into ``target[key]`` (converted) and remember where it was."""
        if attr not in element.attributes:
            return
        text = element.attributes[attr]
        if text.strip() == _UNSET:
            return
        target[key] = convert(text)
        self.where.places[(*path, key)] = (f"{element.path}/@{attr}", element.line)

    def _place(self, path: KeyPath, element: _Element) -> None:
        self.where.places[path] = (element.path, element.line)

    def _architecture(self, element: _Element) -> dict[str, Any]:
        path: KeyPath = ("architecture",)
        self._place(path, element)
        spec: dict[str, Any] = {}
        self._take(spec, path, "ranks_per_node", element, "ranks-per-node", _integer)
        if (domains := element.child("domains")) is not None:
            self._take(spec, path, "domains", domains, "count", _integer)
        for name, attrs in (
            ("dedicated", (("core", "cores"), ("node", "nodes"))),
            ("buffer", (("name", "name"), ("size", "size"))),
            ("queue", (("name", "name"), ("size", "size"))),
        ):
            if (child := element.child(name)) is not None:
                self._place((*path, name), child)
                spec[name] = {}
                for key, attr in attrs:
                    convert = str if key == "name" else _integer
                    self._take(spec[name], (*path, name), key, child, attr, convert)
        return spec

    def _data(
        self, element: _Element, section: dict[str, Any], groups: tuple[str, ...], enabled: bool
    ) -> None:
        """Collect parameters, layouts and variables, naming grouped ones ``g/name``."""
        for child in element.children:
            if child.name == "group":
                self._data(
                    child,
                    section,
                    (*groups, child.attributes.get("name", "")),
                    enabled and self._enabled(child),
                )
                continue
            if child.name == "variable" and not (enabled and self._enabled(child)):
                continue
            key = {"parameter": "parameters", "layout": "layouts", "variable": "variables"}[
                child.name
            ]
            path: KeyPath = (key, len(section[key]))
            self._place(path, child)
            spec: dict[str, Any] = {}
            for attr in _RULES[child.name].attributes:
                if attr != "enabled":
                    self._take(
                        spec, path, attr.replace("-", "_"), child, attr, _CONVERT.get(attr, str)
                    )
            if "name" in spec and groups:
                spec["name"] = "/".join((*groups, spec["name"]))
            if child.name == "variable":
                self.variable_groups.append(groups)
            section[key].append(spec)

    def _resolve_layouts(self, section: dict[str, Any]) -> None:
        """A grouped variable's layout is looked up in its innermost group first, then outwards."""
        names = {layout.get("name") for layout in section["layouts"]}
        for variable, groups in zip(section["variables"], self.variable_groups, strict=True):
            if "layout" not in variable:
                continue
            for depth in range(len(groups), 0, -1):
                candidate = "/".join((*groups[:depth], variable["layout"]))
                if candidate in names:
                    variable["layout"] = candidate
                    break

    def _enabled(self, element: _Element) -> bool:
        text = element.attributes.get("enabled", "true")
        value = _flag(text)
        if not isinstance(value, bool):
            raise self._error(
                element, "enabled", f"invalid value {echo(text)}; allowed: true/false or yes/no"
            )
        return value

    def _pyscript(self, element: _Element, path: KeyPath) -> dict[str, Any]:
        self._place(path, element)
        spec: dict[str, Any] = {}
        for attr in _RULES["pyscript"].attributes:
            self._take(spec, path, attr.replace("-", "_"), element, attr, _CONVERT.get(attr, str))
        return spec


def _integer(text: str) -> int | str:
    """An int when ``text`` spells one; otherwise the text, for the schema to reject by name."""
    return int(text) if _INTEGER.match(text) else text


def _number(text: str) -> int | float | str:
    if _INTEGER.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _flag(text: str) -> bool | str:
    return _BOOLEANS.get(text.strip().lower(), text)


def _nthreads(text: str) -> int | str:
    """Upstream's ``nthreads=""`` means one thread."""
    return 1 if not text.strip() else _integer(text)


_CONVERT: dict[str, Callable[[str], Any]] = {
    "value": _number,
    "frequency": _integer,
    "timeout": _number,
    "watchdog": _number,
    "nthreads": _nthreads,
    "time-varying": _flag,
    "keep-workers": _flag,
}
