"""Configuration: one typed, immutable :class:`Config` loaded from YAML or upstream XML.

``load_config(path)`` is what programs call; ``load_config_text`` serves tests and the
conformance suite, which write configs in memory; ``dump_yaml``/``dump_xml``/``dump_pdi``
write one back (the last in the grammar of PDI's Damaris plugin).
Every problem is a :class:`ConfigError` whose message names the file, line, key path, the bad
value and what is allowed. See docs/config.md for the format.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .environment import RANKS_PER_NODE_VARIABLE, apply_environment
from .errors import ConfigError
from .model import Architecture, Config, Layout, Parameter, PyScript, Variable
from .pdi_writer import PdiFormError, dump_pdi, pdi_losses
from .schema import SCHEMA_PATH, load_schema
from .writers import dump_xml, dump_yaml
from .xml_loader import load_xml_text
from .yaml_loader import load_yaml_text

__all__ = [
    "RANKS_PER_NODE_VARIABLE",
    "SCHEMA_PATH",
    "Architecture",
    "Config",
    "ConfigError",
    "Layout",
    "Parameter",
    "PdiFormError",
    "PyScript",
    "Variable",
    "apply_environment",
    "dump_pdi",
    "dump_xml",
    "dump_yaml",
    "load_config",
    "load_config_text",
    "load_schema",
    "pdi_losses",
]

_LOADERS = {"yaml": load_yaml_text, "yml": load_yaml_text, "xml": load_xml_text}


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load a ``.yml``/``.yaml``/``.xml`` file (other names: sniffed from the first character).

    ``environ`` (default ``os.environ``) may override ``ranks_per_node``; pass ``{}`` to load
    exactly what the file says.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file: {exc}", file=path) from None
    suffix = path.suffix.lower().lstrip(".")
    fmt = suffix if suffix in _LOADERS else ("xml" if text.lstrip().startswith("<") else "yaml")
    return load_config_text(text, fmt, source_path=path, environ=environ)


def load_config_text(
    text: str,
    fmt: str,
    source_path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load config ``text`` in format ``fmt`` (``"yaml"``/``"yml"``/``"xml"``).

    ``source_path`` stands for the file the text came from: it names it in messages, anchors
    relative script paths and gives the default simulation name. ``environ`` as in
    :func:`load_config`.
    """
    loader = _LOADERS.get(fmt.lower())
    source = Path(source_path) if source_path is not None else None
    if loader is None:
        raise ConfigError(
            f"unknown config format {fmt!r}; allowed: {', '.join(_LOADERS)}", file=source
        )
    with _collector_paused():
        return loader(text, source, os.environ if environ is None else environ)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a config is loaded.

    Loading makes millions of containers for a 10 MB file and none of them form cycles; the
    collector's repeated passes over them took longer than the parse itself (3x on 10 MB).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
