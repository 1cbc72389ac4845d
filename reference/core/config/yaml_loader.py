"""Load the YAML form: a top-level ``damaris:`` section or ``pdi: {plugins: {damaris: ...}}``.

Under ``pdi:`` the section may also be written in the PDI Damaris plugin's own grammar
(:mod:`.pdi_grammar` tells the forms apart and translates it).

:mod:`.yaml_tree` parses the text (libyaml where present, duplicate keys and alias bombs
refused) and keeps PyYAML's node tree next to the data, so every error can name its line: a key
path is looked up in the tree only when an error is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .build import build_config
from .errors import Locator, echo, unknown
from .model import Config
from .pdi_grammar import load_section
from .yaml_tree import KeyPath, YamlLocator, parse

_TOP_LEVEL = ("damaris", "pdi")
_PDI_PATH = ("pdi", "plugins", "damaris")


def load_yaml_text(
    text: str,
    source: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    static: bool = True,
) -> Config:
    """Parse YAML config text (``source`` names the file for messages and relative paths).

    ``environ`` may override ``ranks_per_node`` (see :func:`~.environment.apply_environment`).
    ``static=False`` keeps a PDI file's ``depends_on`` expressions (their parameters hold
    placeholders) instead of refusing them as the executables must.
    """
    file = source if source is not None else "<yaml text>"
    data, root = parse(text, file)
    prefix = _section_prefix(data, YamlLocator(file, (), root))
    section = data
    for key in prefix:
        section = section[key]
    if prefix == _PDI_PATH:  # the compact form or the PDI plugin's own grammar
        metadata = data["pdi"].get("metadata")
        return load_section(
            section, root, prefix, source, environ, metadata=metadata, static=static
        ).config
    return build_config(section, YamlLocator(file, prefix, root), source, environ)


def _section_prefix(data: Any, where: Locator) -> KeyPath:
    """Where the damaris section sits: ``("damaris",)`` or ``("pdi", "plugins", "damaris")``."""
    if not isinstance(data, Mapping):
        raise where.error(
            (), f"invalid document {echo(data)}; allowed: a mapping with a 'damaris' or 'pdi' key"
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
