"""Load the YAML form: a top-level ``damaris:`` section or ``pdi: {plugins: {damaris: ...}}``.

PyYAML's node tree is kept next to the data so every error can name its line: each key path
maps to the line of its key (or list item). Duplicate keys, which ``safe_load`` would silently
collapse, are refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .build import build_config
from .errors import ConfigError, Locator, unknown
from .model import Config

_TOP_LEVEL = ("damaris", "pdi")
_PDI_PATH = ("pdi", "plugins", "damaris")

KeyPath = tuple[str | int, ...]


class _YamlLocator(Locator):
    """Dotted key paths (``damaris.layouts.cells.type``) and their lines in the file."""

    def __init__(self, file: str | Path | None, prefix: KeyPath, lines: dict[KeyPath, int]):
        super().__init__(file)
        self.prefix = prefix
        self.lines = lines

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        full = self.prefix + tuple(path)
        display = _display(full)
        for end in range(len(full), -1, -1):
            if full[:end] in self.lines:
                return display, self.lines[full[:end]]
        return display, None


def _display(path: KeyPath) -> str:
    """``damaris.pyscript[0].name`` style."""
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")


def load_yaml_text(text: str, source: Path | None = None) -> Config:
    """Parse YAML config text (``source`` names the file for messages and relative paths)."""
    file = source if source is not None else "<yaml text>"
    data, lines = _parse(text, file)
    prefix = _section_prefix(data, _YamlLocator(file, (), lines))
    section = data
    for key in prefix:
        section = section[key]
    return build_config(section, _YamlLocator(file, prefix, lines), source)


def _parse(text: str, file: str | Path) -> tuple[Any, dict[KeyPath, int]]:
    try:
        loader = yaml.SafeLoader(text)  # its reader already rejects unprintable characters
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        position = getattr(exc, "position", None)  # reader errors carry a character offset
        line = None
        if mark is not None:
            line = mark.line + 1
        elif position is not None:
            line = text.count("\n", 0, position) + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index(node, (), lines, file)
    return data, lines


def _index(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], file: str | Path) -> None:
    """Record the line of every key path under ``node``; refuse duplicate mapping keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            if key_path in lines:
                raise ConfigError(
                    f"duplicate key {key_node.value!r} (first at line {lines[key_path]})",
                    file=file,
                    path=_display(key_path),
                    line=key_node.start_mark.line + 1,
                )
            lines[key_path] = key_node.start_mark.line + 1
            _index(value_node, key_path, lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, file)


def _section_prefix(data: Any, where: Locator) -> KeyPath:
    """Where the damaris section sits: ``("damaris",)`` or ``("pdi", "plugins", "damaris")``."""
    if not isinstance(data, Mapping):
        raise where.error(
            (), f"invalid document {data!r}; allowed: a mapping with a 'damaris' or 'pdi' key"
        )
    if "damaris" in data and "pdi" in data:
        raise where.error(
            ("pdi",), "both 'damaris' and 'pdi' are present; allowed: exactly one of them"
        )
    if "damaris" in data:
        extra = [k for k in data if k != "damaris"]
        if extra:
            raise where.error((extra[0],), unknown("top-level key", extra[0], _TOP_LEVEL))
        return ("damaris",)
    if "pdi" not in data:
        first = next(iter(data), "")
        raise where.error(
            (first,), "no damaris section: " + unknown("top-level key", first, _TOP_LEVEL)
        )
    section: Any = data
    for end, key in enumerate(_PDI_PATH, start=1):
        if not isinstance(section, Mapping) or key not in section:
            raise where.error(
                _PDI_PATH[: end - 1],
                f"no {'.'.join(_PDI_PATH[:end])} section; a PDI-style file needs "
                "pdi: {plugins: {damaris: ...}}",
            )
        section = section[key]
    return _PDI_PATH
