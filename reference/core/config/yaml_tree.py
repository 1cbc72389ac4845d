"""Parse YAML config text into data plus PyYAML's node tree, safely and in linear time.

- libyaml's C parser where PyYAML has it (``yaml.CSafeLoader``), else the pure-Python one; only
  the safe constructors run, so no ``!!python`` tag ever builds an object.
- Duplicate mapping keys, which PyYAML would silently collapse, are refused.
- Aliases are bounded before anything walks the data: the nodes they repeat, counted over the
  node graph without expanding it, may number at most :data:`MAX_ALIAS_NODES` or the
  document's own node count, whichever is larger. A "billion laughs" file is refused at once.
- Plain strings, decimal integers, mappings and lists are built from the nodes in one iterative
  pass, 5x faster than PyYAML's constructor; any other tag goes to PyYAML's safe constructors.
- Lines are not indexed up front: :func:`line_of` finds the line of a key path in the node tree
  when an error needs it, so a valid file costs nothing for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from .errors import ConfigError, Locator, clip, echo

#: aliases may repeat at least this many nodes (more when the document itself has more nodes)
MAX_ALIAS_NODES = 10_000

KeyPath = tuple[str | int, ...]

_MERGE = "tag:yaml.org,2002:merge"
_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
#: an integer every YAML 1.1 reading agrees on (no octal, base prefix, "_" or sexagesimal)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_CollectionT = TypeVar("_CollectionT", bound=CollectionNode)


class _DuplicateKey(Exception):
    """Raised while constructing; :func:`parse` turns it into a located ConfigError."""

    def __init__(self, key: ScalarNode, first_line: int) -> None:
        self.key = key
        self.first_line = first_line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, refusing duplicate keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        _refuse_duplicates(node)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)  # the base is untyped
        return mapping


def _refuse_duplicates(node: MappingNode) -> None:
    first: dict[str, int] = {}
    for key, _value in node.value:
        if isinstance(key, ScalarNode) and key.tag != _MERGE:
            if key.value in first:
                raise _DuplicateKey(key, first[key.value])
            first[key.value] = key.start_mark.line + 1


def parse(text: str, file: str | Path) -> tuple[Any, Node | None]:
    """The document's data and root node (``None, None`` for an empty document)."""
    _refuse_unprintable(text, file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if "&" in text:  # no anchor, no alias
            _check_aliases(node, file)
        return _construct(loader, node, file), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from None
    except _DuplicateKey as duplicate:
        raise ConfigError(
            f"duplicate key {echo(duplicate.key.value)} (first at line {duplicate.first_line})",
            file=file,
            path=display(_path_to(node, duplicate.key)),
            line=duplicate.key.start_mark.line + 1,
        ) from None
    except RecursionError:  # only the pure-Python parser recurses; libyaml stops at 1000 levels
        raise ConfigError("not valid YAML: nested too deeply", file=file) from None
    finally:
        loader.dispose()


def _refuse_unprintable(text: str, file: str | Path) -> None:
    """PyYAML's own rule and wording (libyaml words it otherwise and counts bytes, not lines)."""
    match = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if match is not None:
        raise ConfigError(
            f"not valid YAML: unacceptable character #x{ord(match.group()):04x}: "
            "special characters are not allowed",
            file=file,
            line=text.count("\n", 0, match.start()) + 1,
        )


def _construct(loader: _Loader, root: Node, file: str | Path) -> Any:
    """The data of ``root``, equal to what PyYAML's safe constructor builds, without recursion.

    An alias becomes the very object its anchor built, so nothing is expanded.
    """
    built: dict[int, Any] = {}
    top: list[Any] = [None]
    stack: list[tuple[Node, Any, Any]] = [(root, top, 0)]
    while stack:
        node, parent, slot = stack.pop()
        try:
            _construct_one(loader, node, parent, slot, built, stack)
        except ValueError as exc:  # a value nothing can hold: a 5000-digit integer, month 13
            line = node.start_mark.line + 1
            raise ConfigError(f"not valid YAML: {clip(str(exc))}", file=file, line=line) from None
    return top[0]


def _construct_one(
    loader: _Loader,
    node: Node,
    parent: Any,
    slot: Any,
    built: dict[int, Any],
    stack: list[tuple[Node, Any, Any]],
) -> None:
    """Put ``node``'s data in ``parent[slot]``, pushing the children it still needs."""
    if id(node) in built:
        parent[slot] = built[id(node)]
    elif _is_plain(node, MappingNode, _MAP):
        _refuse_duplicates(node)
        mapping: dict[Any, Any] = {}
        built[id(node)] = parent[slot] = mapping
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node)
            mapping[key] = None  # keeps the document's order
            stack.append((value_node, mapping, key))
    elif _is_plain(node, SequenceNode, _SEQ):
        sequence = built[id(node)] = parent[slot] = [None] * len(node.value)
        stack.extend((item, sequence, i) for i, item in enumerate(node.value))
    elif isinstance(node, ScalarNode):
        parent[slot] = _scalar(loader, node)
    else:  # another tag, merge keys or complex keys: PyYAML's own safe constructors
        parent[slot] = loader.construct_object(node, deep=True)


def _is_plain(node: Node, kind: type[_CollectionT], tag: str) -> TypeGuard[_CollectionT]:
    if not isinstance(node, kind) or node.tag != tag:
        return False
    return kind is SequenceNode or all(
        isinstance(key, ScalarNode) and key.tag != _MERGE for key, _ in node.value
    )


def _scalar(loader: _Loader, node: Node) -> Any:
    if node.tag == _STR:
        return node.value
    if node.tag == _INT and _DECIMAL.match(node.value):
        return int(node.value)
    return loader.construct_object(node, deep=True)


def _check_aliases(root: Node, file: str | Path) -> None:
    """Refuse recursive aliases, and aliases that repeat more nodes than the bound allows.

    One pass over the node graph, each collection node once: the size of what an alias repeats
    is the memoized size of the node it names, so nothing is expanded.
    """
    sizes: dict[int, int] = {}  # id(collection node) -> nodes in its expansion
    open_nodes: set[int] = {id(root)}
    stack: list[list[Any]] = [[root, _children(root), 1]]  # node, children left, size so far
    distinct = 1
    repeated = 0
    worst = (0, 0, 0)  # nodes one alias repeats, its line, the anchor's line
    while stack:
        frame = stack[-1]
        for child, line in frame[1]:
            if not isinstance(child, CollectionNode):
                frame[2] += 1
                distinct += 1
            elif id(child) in sizes:
                size = sizes[id(child)]
                frame[2] += size
                repeated += size
                worst = max(worst, (size, line, child.start_mark.line + 1))
            elif id(child) in open_nodes:
                raise ConfigError(
                    "recursive alias: the node anchored at line "
                    f"{child.start_mark.line + 1} contains an alias of itself",
                    file=file,
                    line=line,
                )
            else:
                distinct += 1
                open_nodes.add(id(child))
                stack.append([child, _children(child), 1])
                break
        else:
            stack.pop()
            open_nodes.discard(id(frame[0]))
            sizes[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] += frame[2]
    bound = max(MAX_ALIAS_NODES, distinct)
    if repeated > bound:
        size, line, anchor = worst
        raise ConfigError(
            f"aliases would repeat {clip(str(repeated))} nodes; allowed: at most {bound} (as "
            f"many as the document holds, and at least {MAX_ALIAS_NODES}); the alias here "
            f"repeats the {clip(str(size))} nodes anchored at line {anchor}: write the "
            "repeated parts out instead",
            file=file,
            line=line,
        )


def _children(node: Node) -> Iterator[tuple[Node, int]]:
    """A collection's children in document order, each with the line to report it at."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            line = key.start_mark.line + 1
            yield key, line
            yield value, line
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield item, node.start_mark.line + 1


def line_of(root: Node | None, path: KeyPath) -> int | None:
    """1-based line of ``path``: its key's line, or its nearest ancestor's when not found."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for key in path:
        if isinstance(node, MappingNode):
            # the last of equal keys wins, as in the data (merge keys come first)
            entry = next((e for e in reversed(node.value) if _spells(e[0], key)), None)
            if entry is None:
                return line
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _spells(key_node: Node, key: str | int) -> bool:
    return isinstance(key_node, ScalarNode) and key_node.value == str(key)


def _path_to(root: Node, target: Node) -> KeyPath:
    """The key path of the mapping key ``target`` (searched only when an error needs it)."""
    seen: set[int] = set()
    stack: list[tuple[Node, KeyPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if key is target:
                    return (*path, key.value)
                stack.append((value, (*path, key.value)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    return ()


def display(path: KeyPath) -> str:
    """``damaris.pyscript[0].name`` style; long keys are cut (see :func:`~.errors.clip`)."""
    return "".join(f"[{k}]" if isinstance(k, int) else f".{clip(str(k))}" for k in path).lstrip(".")


class YamlLocator(Locator):
    """Dotted key paths (``damaris.layouts.cells.type``) and their lines in a parsed file.

    ``prefix`` is where the checked part sits in the document: a path given to :meth:`locate`
    is relative to it.
    """

    def __init__(self, file: str | Path | None, prefix: KeyPath, root: Node | None):
        super().__init__(file)
        self.prefix = prefix
        self.root = root

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        full = self.prefix + tuple(path)
        return display(full), line_of(self.root, full)
